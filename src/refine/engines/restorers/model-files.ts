import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import type { RestorerCatalogue, RestorerEntry } from './catalogue.js';

export interface FileDigests {
  bytes: number;
  /** zlib's CRC32 as FaceFusion writes it in its `.hash` files: 8 lowercase hex digits. */
  crc32: string;
  sha256: string;
}

/** Both digests in one streaming pass (the files are hundreds of megabytes). */
export async function digestFile(file: string): Promise<FileDigests> {
  const sha = createHash('sha256');
  let crc = 0;
  let bytes = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    const data = chunk as Buffer;
    sha.update(data);
    crc = zlib.crc32(data, crc);
    bytes += data.length;
  }
  return { bytes, crc32: (crc >>> 0).toString(16).padStart(8, '0'), sha256: sha.digest('hex') };
}

/** FaceFusion's convention: `gfpgan_1.4.onnx` is checked against `gfpgan_1.4.hash` in the same directory. */
export function hashFileOf(modelFile: string): string {
  const parsed = path.parse(modelFile);
  return path.join(parsed.dir, `${parsed.name}.hash`);
}

export type ModelFileStatus =
  | { state: 'verified'; file: string; by: 'sha256' | 'crc32' }
  /** A MODELS_FILE entry without a hash: used as it is, and listed as unverified. */
  | { state: 'unverified'; file: string }
  | { state: 'missing'; file: string }
  /** A built-in model whose published hash is not beside it: nothing to check it against. */
  | { state: 'no-hash'; file: string; hashFile: string }
  | { state: 'mismatch'; file: string; by: 'sha256' | 'crc32'; expected: string; actual: string };

async function expectedHash(entry: RestorerEntry, file: string): Promise<{ by: 'sha256' | 'crc32'; value: string } | undefined> {
  if (entry.sha256) return { by: 'sha256', value: entry.sha256 };
  const text = await fsp.readFile(hashFileOf(file), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : { by: 'crc32', value: text.trim().toLowerCase() };
}

/** Beside a verified file: lets other processes and threads skip hashing it again while it stays the same. */
export const verifiedRecordOf = (modelFile: string): string => `${modelFile}.verified.json`;

interface VerifiedRecord {
  size: number;
  mtimeMs: number;
  by: 'sha256' | 'crc32';
  value: string;
}

async function readVerifiedRecord(file: string): Promise<VerifiedRecord | undefined> {
  try {
    return JSON.parse(await fsp.readFile(verifiedRecordOf(file), 'utf8')) as VerifiedRecord;
  } catch {
    return undefined;
  }
}

interface Remembered {
  size: number;
  mtimeMs: number;
  expected: string | undefined;
  status: ModelFileStatus;
}

/**
 * Where each catalogue model's file stands. Hashing a 340 MB file takes seconds, so a result is remembered for
 * as long as the file's size and modification time and the expected hash stay the same: in memory (readiness is
 * asked before every job) and in `<file>.verified.json` beside it, so every refine thread and process does not
 * hash it again. `models verify` (force) always hashes.
 */
export class ModelFiles {
  private readonly remembered = new Map<string, Remembered>();

  constructor(readonly catalogue: RestorerCatalogue) {}

  async status(entry: RestorerEntry, options: { force?: boolean } = {}): Promise<ModelFileStatus> {
    const file = this.catalogue.pathOf(entry);
    const stat = await fsp.stat(file).catch(() => undefined);
    if (!stat?.isFile()) return { state: 'missing', file };
    const expected = await expectedHash(entry, file);
    const known = this.remembered.get(file);
    if (!options.force && known && known.size === stat.size && known.mtimeMs === stat.mtimeMs && known.expected === expected?.value) {
      return known.status;
    }
    let status: ModelFileStatus;
    const record = options.force || !expected ? undefined : await readVerifiedRecord(file);
    if (expected && record && record.size === stat.size && record.mtimeMs === stat.mtimeMs && record.by === expected.by && record.value === expected.value) {
      status = { state: 'verified', file, by: expected.by };
    } else if (!expected) {
      status = entry.origin === 'built-in' ? { state: 'no-hash', file, hashFile: hashFileOf(file) } : { state: 'unverified', file };
    } else {
      const actual = (await digestFile(file))[expected.by];
      status =
        actual === expected.value
          ? { state: 'verified', file, by: expected.by }
          : { state: 'mismatch', file, by: expected.by, expected: expected.value, actual };
      const verified: VerifiedRecord = { size: stat.size, mtimeMs: stat.mtimeMs, by: expected.by, value: expected.value };
      if (status.state === 'verified') await fsp.writeFile(verifiedRecordOf(file), JSON.stringify(verified)).catch(() => undefined);
      else await fsp.rm(verifiedRecordOf(file), { force: true });
    }
    this.remembered.set(file, { size: stat.size, mtimeMs: stat.mtimeMs, expected: expected?.value, status });
    return status;
  }
}

/** What to tell the operator about a file that cannot be used, with the command that fixes it. */
export function unusableReason(entry: RestorerEntry, status: ModelFileStatus): string | undefined {
  const pull = `face-refiner models pull ${entry.name}`;
  switch (status.state) {
    case 'verified':
    case 'unverified':
      return undefined;
    case 'missing':
      return `model file ${status.file} is missing; run \`${pull}\``;
    case 'no-hash':
      return `model file ${status.file} has no published hash beside it (${status.hashFile}) to verify it against; run \`${pull}\``;
    case 'mismatch':
      return `model file ${status.file} fails verification (${status.by} ${status.actual}, expected ${status.expected}); delete it and run \`${pull}\``;
  }
}
