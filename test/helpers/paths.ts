import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from dist/test/helpers at run time. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'index.js');

export const fixture = (name: string): string => path.join(FIXTURES, name);
