import fsp from 'node:fs/promises';
import path from 'node:path';
import type { RestorerCatalogue, RestorerEntry } from '../refine/engines/restorers/catalogue.js';
import { digestFile, hashFileOf, verifiedRecordOf } from '../refine/engines/restorers/model-files.js';
import { downloadResumable, DownloadError, fetchText, type DownloadOptions } from './download.js';

export type PullOutcome =
  | { state: 'installed'; file: string; bytes: number; verifiedBy: 'sha256' | 'crc32' | 'none' }
  | { state: 'already-installed'; file: string; verifiedBy: 'sha256' | 'crc32' | 'none' };

/** The downloaded bytes are not the published ones: the part file is deleted. */
export class HashMismatchError extends Error {}

interface Expected {
  by: 'sha256' | 'crc32';
  value: string;
}

/** `x.onnx` -> `x.hash` beside it: where FaceFusion publishes each model's CRC32. */
const siblingHashUrl = (url: string): string | undefined => (/\.onnx(\?|$)/.test(url) ? url.replace(/\.onnx(\?|$)/, '.hash$1') : undefined);

async function expectedHash(
  entry: RestorerEntry,
  url: string | undefined,
  options: DownloadOptions,
  log: ((line: string) => void) | undefined,
): Promise<Expected | undefined> {
  if (entry.sha256) return { by: 'sha256', value: entry.sha256 };
  const candidates = [...(url ? [siblingHashUrl(url)] : []), ...(entry.crc32Urls ?? [])].filter((u): u is string => u !== undefined);
  if (candidates.length === 0) return undefined;
  const failures: string[] = [];
  let unpublished = true;
  for (const candidate of candidates) {
    try {
      const text = (await fetchText(candidate, 64, options)).trim().toLowerCase();
      if (!/^[0-9a-f]{8}$/.test(text)) throw new DownloadError(`Expected 8 hex digits (a CRC32) from ${candidate} but received "${text.slice(0, 20)}"`);
      return { by: 'crc32', value: text };
    } catch (error) {
      if (!(error instanceof DownloadError && error.status === 404)) unpublished = false;
      failures.push(error instanceof Error ? error.message : String(error));
    }
  }
  // An operator's own entry may have no hash anywhere (the "used as it is, listed as unverified"); a
  // built-in model always has one, and a host that fails to answer is not the same as one that has none.
  if (entry.origin === 'MODELS_FILE' && unpublished) {
    log?.(`${entry.name}: no hash published beside ${url ?? 'its url'} (404) and no sha256 in MODELS_FILE: it is installed unverified`);
    return undefined;
  }
  throw new DownloadError(`Could not fetch ${entry.name}'s published hash: ${failures.join('; ')}`);
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(temporary, text);
  await fsp.rename(temporary, file);
}

/**
 * `models pull`: downloads a catalogue model into MODELS_DIR. The bytes go to `<file>.part` (resumed if a
 * previous pull stopped), are checked against the published hash (FaceFusion's CRC32 `.hash`, or the entry's
 * sha256), and only then renamed into place, so the service never sees a half-written or wrong model. A mismatch
 * deletes the part and throws with both hashes.
 */
export async function pullModel(
  catalogue: RestorerCatalogue,
  entry: RestorerEntry,
  options: DownloadOptions & { url?: string; log?: (line: string) => void },
): Promise<PullOutcome> {
  const target = catalogue.pathOf(entry);
  const part = `${target}.part`;
  const urls = options.url ? [options.url] : entry.urls;
  if (urls.length === 0) throw new DownloadError(`${entry.name} has no url in MODELS_FILE; give one with --url`);
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const download: DownloadOptions = { ...options, maxBytes: entry.maxBytes };
  const expected = await expectedHash(entry, options.url ?? urls[0], download, options.log);

  const present = await fsp.stat(target).catch(() => undefined);
  if (present && !expected) return { state: 'already-installed', file: target, verifiedBy: 'none' };
  if (present && expected) {
    const digests = await digestFile(target);
    if (digests[expected.by] === expected.value) {
      if (expected.by === 'crc32') await writeAtomically(hashFileOf(target), expected.value);
      return { state: 'already-installed', file: target, verifiedBy: expected.by };
    }
  }

  const failures: string[] = [];
  let fetched = false;
  for (const url of urls) {
    try {
      options.log?.(`${entry.name}: fetching ${url}`);
      await downloadResumable(url, part, download);
      fetched = true;
      break;
    } catch (error) {
      failures.push(`${url}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (!fetched) throw new DownloadError(`Could not download ${entry.name} (the partial file ${part} is kept, to resume): ${failures.join('; ')}`);

  const digests = await digestFile(part);
  if (expected && digests[expected.by] !== expected.value) {
    await fsp.rm(part, { force: true });
    throw new HashMismatchError(
      `${entry.name}: the downloaded file's ${expected.by} is ${digests[expected.by]} but the published ${expected.by} is ${expected.value}; the partial file was deleted`,
    );
  }
  // the hash first: a crash between the two renames leaves a model reported missing, never one that looks verified
  if (expected?.by === 'crc32') await writeAtomically(hashFileOf(target), expected.value);
  await fsp.rename(part, target);
  if (expected) {
    // the service need not hash it again (rename keeps size and time)
    const stat = await fsp.stat(target);
    await writeAtomically(verifiedRecordOf(target), JSON.stringify({ size: stat.size, mtimeMs: stat.mtimeMs, by: expected.by, value: expected.value }));
  }
  return { state: 'installed', file: target, bytes: digests.bytes, verifiedBy: expected?.by ?? 'none' };
}
