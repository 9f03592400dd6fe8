import type { Dialect } from '../database.js';

/**
 * Migrations from version 100 on: one entry, one number, for both dialects. Append-only; never edit one that
 * has shipped. `sql` is per dialect where the statement differs, or where only one dialect needs the change
 * (empty: nothing to do there, the version is still recorded so both databases share one version line).
 */
export interface SharedMigration {
  version: number;
  name: string;
  sql: Record<Dialect, string>;
}

export const SHARED_MIGRATIONS: readonly SharedMigration[] = [
  {
    version: 100,
    name: 'drop-unused-sqlite-rate-buckets',
    // SQLite's buckets live in rate-limits.db; the table legacy migration 3 made in the main file was never used.
    sql: { sqlite: 'DROP TABLE IF EXISTS rate_buckets', postgres: '' },
  },
];
