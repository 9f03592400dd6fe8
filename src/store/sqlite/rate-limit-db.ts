import { openDatabaseFile, type Db } from './database.js';

/**
 * Rate-limit buckets live in their own SQLite file without fsync (synchronous=OFF): every authenticated request
 * writes its key's bucket, and losing the last few refills in a power cut is harmless, while an fsync per
 * request would cap the whole API at the disk's flush rate. Processes on one machine still share the buckets.
 * It is a cache, not data: the table is created here, outside the numbered migrations.
 */
export function openRateLimitDb(file: string): Db {
  const db = openDatabaseFile(file, 'OFF');
  db.exec('CREATE TABLE IF NOT EXISTS rate_buckets (key_id TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_at INTEGER NOT NULL)');
  return db;
}
