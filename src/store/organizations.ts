import type { Db } from './database.js';

/**
 * Serializes the organization's writes within a transaction, so a count and the write that depends on it
 * (unfinished artworks, credits, upload bytes) agree. PostgreSQL: a row lock. SQLite: nothing to do, BEGIN
 * IMMEDIATE already holds the database's write lock.
 */
export async function lockOrganization(tx: Db, orgId: string): Promise<void> {
  if (tx.dialect === 'postgres') {
    await tx.db.selectFrom('organizations').select('id').where('id', '=', orgId).forUpdate().execute();
  }
}
