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
  {
    version: 101,
    name: 'rate-buckets-per-organization',
    // One bucket per organization replaces one per key. rate_buckets stays for the previous release's processes
    // during a rolling upgrade (it is unused from here on); SQLite's buckets are in rate-limits.db (rate-limits.ts).
    sql: {
      sqlite: '',
      postgres: 'CREATE TABLE org_rate_buckets (org_id uuid PRIMARY KEY, tokens double precision NOT NULL, updated_at bigint NOT NULL)',
    },
  },
];
