import type { RateDecision } from './store.js';
import { openSqliteFile, sqliteDb, type Db } from './database.js';
import { takeToken } from './rate-bucket.js';
import { inWriteTransaction } from './transaction.js';

/**
 * Token buckets per API key. SQLite keeps them in their own unsynced file (see openRateLimitFile), PostgreSQL
 * in a table of the main database; either way the load, the arithmetic and the save are one transaction, so
 * processes sharing the buckets never spend the same token twice.
 */
export async function takeRateToken(rates: Db, keyId: string, perMinute: number, now: number): Promise<RateDecision> {
  return inWriteTransaction(rates, async (tx) => {
    await tx.db
      .insertInto('rate_buckets')
      .values({ key_id: keyId, tokens: perMinute, updated_at: now })
      .onConflict((oc) => oc.column('key_id').doNothing())
      .execute();
    const row = await tx.db
      .selectFrom('rate_buckets')
      .select(['tokens', 'updated_at'])
      .where('key_id', '=', keyId)
      .$if(tx.dialect === 'postgres', (query) => query.forUpdate())
      .executeTakeFirstOrThrow();
    const { decision, tokens } = takeToken({ tokens: row.tokens, updatedAt: Number(row.updated_at) }, perMinute, now);
    await tx.db.updateTable('rate_buckets').set({ tokens, updated_at: now }).where('key_id', '=', keyId).execute();
    return decision;
  });
}

/**
 * SQLite's buckets live in their own file without fsync (synchronous=OFF): every authenticated request writes
 * its key's bucket, and losing the last few refills in a power cut is harmless, while an fsync per request
 * would cap the whole API at the disk's flush rate. Processes on one machine still share the buckets. It is a
 * cache, not data: the table is created here, outside the numbered migrations.
 */
export function openRateLimitFile(file: string): Db {
  const database = openSqliteFile(file, 'OFF');
  database.exec('CREATE TABLE IF NOT EXISTS rate_buckets (key_id TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_at INTEGER NOT NULL)');
  return sqliteDb(database);
}
