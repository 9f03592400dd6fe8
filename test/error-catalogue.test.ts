import assert from 'node:assert/strict';
import fs from 'node:fs';
import { STATUS_CODES } from 'node:http';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ERROR_CATALOGUE, errors, type AppError, type ErrorEntry } from '../src/errors.js';
import { ROOT } from './helpers/paths.js';

const START = '<!-- error-codes:start (generated from ERROR_CATALOGUE in src/errors.ts; test/error-catalogue.test.ts checks it) -->';
const END = '<!-- error-codes:end -->';

/** The README's error table, as the catalogue says it must read. */
function renderTable(): string {
  const rows = Object.entries(ERROR_CATALOGUE).map(([code, entry]: [string, ErrorEntry]) => {
    const status = entry.status === undefined ? '' : String(entry.status);
    return `| \`${code}\` | ${status} | ${entry.artwork ? 'yes' : ''} | ${entry.meaning} |`;
  });
  return ['| code | HTTP status | on a failed artwork | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

describe('the error catalogue', () => {
  test("the README's error table is the catalogue's", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    assert.ok(start >= 0 && end > start, `README.md needs the markers ${START} and ${END}`);
    const inReadme = readme.slice(start + START.length, end).trim();
    assert.equal(inReadme, renderTable(), `replace the README's table with:\n\n${renderTable()}\n`);
  });

  test("each API error constructor answers with its code's status from the catalogue", () => {
    // every constructor, whatever its arguments mean: only the code and status are looked at
    const made = Object.values(errors).map((make) => (make as (...args: unknown[]) => AppError)('x', 'x'));
    for (const error of made) {
      const entry: ErrorEntry = ERROR_CATALOGUE[error.code];
      assert.equal(error.statusCode, entry.status, `${error.code}: status ${error.statusCode}, catalogue ${entry.status}`);
    }
  });

  test('every code in the catalogue is given somewhere in src/ (no row for a code nothing produces)', () => {
    const source = sourceFiles(path.join(ROOT, 'src'))
      .map((file) => fs.readFileSync(file, 'utf8'))
      .join('\n');
    const unused = Object.keys(ERROR_CATALOGUE).filter((code) => !source.includes(`'${code}'`));
    assert.deepEqual(unused, []);
  });

  test('the catalogue writes no limit of its own: its numbers come from the constants the code enforces (src/limits.ts)', () => {
    const source = fs.readFileSync(path.join(ROOT, 'src/errors.ts'), 'utf8');
    const start = source.indexOf('export const ERROR_CATALOGUE = {');
    const end = source.indexOf('} as const satisfies', start);
    assert.ok(start >= 0 && end > start, 'ERROR_CATALOGUE not found in src/errors.ts');
    const written = source
      .slice(start, end)
      .split('\n')
      .map((line) => (line.includes('meaning:') ? line.slice(line.indexOf('meaning:')) : '').replaceAll(/\$\{[^}]*\}/g, ''))
      // an HTTP status a row cites (400 on uploads) is not a limit
      .flatMap((meaning) => [...meaning.matchAll(/\b\d+\b/g)].map((match) => match[0]).filter((n) => STATUS_CODES[n] === undefined));
    assert.deepEqual(written, []);
  });
});
