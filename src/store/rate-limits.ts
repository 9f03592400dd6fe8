import type { RateDecision } from './store.js';
import { openSqliteFile, sqliteDb, type Db } from './database.js';
import { takeToken } from './rate-bucket.js';
import { prepared } from './prepared.js';
import { inWriteTransaction } from './transaction.js';

/**
 * Token buckets per organization (all its keys draw from one, so more keys never mean more requests). SQLite
 * keeps them in their own unsynced file (see openRateLimitFile), PostgreSQL in a table of the main database;
 * either way the load, the arithmetic and the save are one transaction, so processes sharing the buckets never
 * spend the same token twice.
 */
export async function takeRateToken(rates: Db, orgId: string, perMinute: number, now: number): Promise<RateDecision> {
  return inWriteTransaction(rates, async (tx) => {
    // an organization's first request makes its bucket (full); every later one only loads and saves it
    const row = (await loadBucket(tx, orgId)) ?? (await createBucket(tx, orgId, perMinute, now));
    const { decision, tokens } = takeToken({ tokens: row.tokens, updatedAt: Number(row.updated_at) }, perMinute, now);
    await saveBucket(tx, { orgId, tokens, now });
    return decision;
  });
}

const selectBucket = prepared(({ db, dialect }, { orgId }: { orgId: string }) =>
  db
    .selectFrom('org_rate_buckets')
    .select(['tokens', 'updated_at'])
    .where('org_id', '=', orgId)
    .$if(dialect === 'postgres', (query) => query.forUpdate()),
);

const saveBucket = prepared(({ db }, { orgId, tokens, now }: { orgId: string; tokens: number; now: number }) =>
  db.updateTable('org_rate_buckets').set({ tokens, updated_at: now }).where('org_id', '=', orgId),
);

/** The bucket, locked until the transaction ends (PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the file). */
async function loadBucket(tx: Db, orgId: string): Promise<{ tokens: number; updated_at: number } | undefined> {
  return (await selectBucket(tx, { orgId })).rows[0];
}

/** Makes a full bucket unless a concurrent first request just made it, then loads (and locks) whichever won. */
async function createBucket(tx: Db, orgId: string, perMinute: number, now: number): Promise<{ tokens: number; updated_at: number }> {
  await tx.db
    .insertInto('org_rate_buckets')
    .values({ org_id: orgId, tokens: perMinute, updated_at: now })
    .onConflict((oc) => oc.column('org_id').doNothing())
    .execute();
  const row = await loadBucket(tx, orgId);
  if (!row) throw new Error(`the rate-limit bucket of organization ${orgId} was not created`);
  return row;
}

/**
 * SQLite's buckets live in their own file without fsync (synchronous=OFF): every authenticated request writes
 * its organization's bucket, and losing the last few refills in a power cut is harmless, while an fsync per request
 * would cap the whole API at the disk's flush rate. Processes on one machine still share the buckets. It is a
 * cache, not data: the table is created here, outside the numbered migrations.
 */
export function openRateLimitFile(file: string): Db {
  const database = openSqliteFile(file, 'OFF');
  // a file of an earlier release may still hold rate_buckets (per key): left alone, as a process of that release
  // on this machine may still use it
  database.exec('CREATE TABLE IF NOT EXISTS org_rate_buckets (org_id TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_at INTEGER NOT NULL)');
  return sqliteDb(database);
}
