import fs from 'node:fs/promises';

/** How long after a failed write for lack of space readiness keeps reporting it, unless space is seen again. */
const REMEMBER_FULL_MS = 60_000;

export interface StorageReport {
  ok: boolean;
  /** Bytes free where DATA_DIR lives, when this process stores anything there. */
  freeBytes: number | null;
  detail: string;
}

/**
 * Whether this process can still write: the free space under DATA_DIR (SQLite files, blobs) against a
 * minimum, and any recent write that failed for lack of space (which also covers PostgreSQL's disk_full).
 */
export class StorageHealth {
  private fullSince: number | null = null;

  constructor(
    /** The directory to watch; undefined when nothing lives on local disk (PostgreSQL and S3). */
    private readonly dataDir: string | undefined,
    private readonly minFreeBytes: number,
  ) {}

  /** A write just failed with SQLITE_FULL, ENOSPC, EDQUOT, EFBIG or PostgreSQL's 53100. */
  reportFull(now = Date.now()): void {
    this.fullSince = now;
  }

  async check(now = Date.now()): Promise<StorageReport> {
    let freeBytes: number | null = null;
    if (this.dataDir !== undefined) {
      const stats = await fs.statfs(this.dataDir).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return null; // nothing stored yet
        throw error;
      });
      freeBytes = stats ? stats.bavail * stats.bsize : null;
      if (freeBytes !== null && freeBytes < this.minFreeBytes) {
        return { ok: false, freeBytes, detail: `DATA_DIR has ${freeBytes} bytes free, below MIN_FREE_DISK_BYTES (${this.minFreeBytes})` };
      }
    }
    if (this.fullSince !== null && now - this.fullSince < REMEMBER_FULL_MS) {
      return { ok: false, freeBytes, detail: `a write failed for lack of storage space ${Math.round((now - this.fullSince) / 1000)} s ago` };
    }
    this.fullSince = null;
    return { ok: true, freeBytes, detail: 'ok' };
  }
}
