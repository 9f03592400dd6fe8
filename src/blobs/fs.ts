import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Blob, BlobStore, BlobStream } from './blobs.js';

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*\/?$/;
/** What put() writes before its rename: `<file>.<uuid>.tmp` and `<file>.<uuid>.tmp.type`. */
const TEMPORARY = /\.[0-9a-f-]{36}\.tmp(\.type)?$/;

/** Blobs as files under one directory (owner-only: results are private), with the content type in a sidecar file. */
export class FsBlobStore implements BlobStore {
  constructor(private readonly root: string) {}

  private file(key: string): string {
    if (!KEY.test(key) || key.includes('..')) {
      throw new Error(`Expected a relative blob key of letters, digits, ".", "_", "-" and "/" but received "${key}"`);
    }
    return path.join(this.root, key);
  }

  async put(key: string, body: Buffer, contentType: string): Promise<void> {
    const file = this.file(key);
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    // Write then rename, so a reader never sees half a file and a crash leaves the old one or the new one.
    const tmp = `${file}.${randomUUID()}.tmp`;
    try {
      await fs.writeFile(`${tmp}.type`, contentType, { mode: 0o600 });
      await fs.rename(`${tmp}.type`, `${file}.type`);
      await fs.writeFile(tmp, body, { mode: 0o600 });
      await fs.rename(tmp, file);
    } catch (error) {
      // a full disk must not leave half-written files behind; a crash here is what sweepOrphans is for
      await Promise.all([fs.rm(tmp, { force: true }), fs.rm(`${tmp}.type`, { force: true })]);
      throw error;
    }
  }

  async get(key: string): Promise<Blob | null> {
    const file = this.file(key);
    try {
      const [body, contentType] = await Promise.all([fs.readFile(file), fs.readFile(`${file}.type`, 'utf8')]);
      return { body, contentType };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async open(key: string): Promise<BlobStream | null> {
    const file = this.file(key);
    let handle;
    try {
      // the open file stays the blob that was opened even if a put renames another over it meanwhile
      handle = await fs.open(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    try {
      const [{ size }, contentType] = await Promise.all([handle.stat(), fs.readFile(`${file}.type`, 'utf8')]);
      return { body: handle.createReadStream(), contentType, bytes: size };
    } catch (error) {
      await handle.close();
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!prefix.endsWith('/')) throw new Error(`Expected a prefix ending in "/" but received "${prefix}"`);
    await fs.rm(this.file(prefix), { recursive: true, force: true });
  }

  /** Deletes temporary files older than `before` that a killed process left behind; returns how many. */
  async sweepOrphans(before: Date): Promise<number> {
    let entries;
    try {
      entries = await fs.readdir(this.root, { recursive: true, withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    let swept = 0;
    for (const entry of entries) {
      if (!entry.isFile() || !TEMPORARY.test(entry.name)) continue;
      const file = path.join(entry.parentPath, entry.name);
      const stats = await fs.stat(file).catch(() => null);
      if (stats && stats.mtime < before) {
        await fs.rm(file, { force: true });
        swept++;
      }
    }
    return swept;
  }
}
