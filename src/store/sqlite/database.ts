import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

/** What to do about each file when it cannot be opened: the rate-limit file is a cache, the database is not. */
const REMEDY: Record<string, string> = {
  'rate-limits.db': 'it only holds rate-limit buckets: delete it (with its -wal and -shm files) and start again',
  'face-refiner.db': 'restore it from a backup, or move it (with its -wal and -shm files) aside to start with an empty database',
};

/** A SQLite file that is not a database, or a damaged one, named with what to do, instead of a raw stack. */
export class UnusableDatabaseError extends Error {}

/**
 * A database file in WAL mode, shared safely by the processes of one machine. It holds webhook secrets and the
 * result-URL secret, so the directory is owner-only (0700) and the file owner-only (0600); SQLite gives its
 * -wal and -shm files the database file's permissions.
 */
export function openDatabaseFile(file: string, synchronous: 'FULL' | 'OFF'): Db {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  if (!fs.existsSync(file)) fs.closeSync(fs.openSync(file, 'a', 0o600));
  fs.chmodSync(file, 0o600);
  try {
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma('busy_timeout = 5000');
    return db;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      const remedy = REMEDY[path.basename(file)] ?? 'restore it from a backup';
      throw new UnusableDatabaseError(`${file} is not a usable SQLite database (${String(code)}: ${(error as Error).message}); ${remedy}`);
    }
    throw error;
  }
}

export function openSqlite(file: string): Db {
  // FULL: a finished artwork survives power loss, not only a process crash.
  const db = openDatabaseFile(file, 'FULL');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

export function migrate(db: Db): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const applied = new Set(
    db.prepare('SELECT version FROM schema_migrations').all().map((row) => (row as { version: number }).version),
  );
  const done: number[] = [];
  for (const migration of SQLITE_MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    // IMMEDIATE: two processes starting together must not both apply the same migration.
    db.transaction(() => {
      const again = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(migration.version);
      if (again) return;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        new Date().toISOString(),
      );
      done.push(migration.version);
    }).immediate();
  }
  return done;
}
