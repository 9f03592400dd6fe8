import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Db } from './database.js';

/**
 * Rate-limit buckets live in their own SQLite file without fsync (synchronous=OFF): every authenticated request
 * writes its key's bucket, and losing the last few refills in a power cut is harmless, while an fsync per
 * request would cap the whole API at the disk's flush rate. Processes on one machine still share the buckets.
 * It is a cache, not data: the table is created here, outside the numbered migrations.
 */
export function openRateLimitDb(file: string): Db {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('busy_timeout = 5000');
  db.exec('CREATE TABLE IF NOT EXISTS rate_buckets (key_id TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_at INTEGER NOT NULL)');
  return db;
}
