import { sql } from 'kysely';
import type { Db } from './database.js';

/**
 * Runs `work` in one write transaction. SQLite: BEGIN IMMEDIATE takes the write lock up front, so two processes
 * never deadlock upgrading a read lock (Kysely's own transactions always send a plain BEGIN on SQLite, see
 * kysely-org/kysely#1152); the single connection is held for the whole unit, so nothing else in this process
 * runs inside it. PostgreSQL: an ordinary transaction; rows are locked where the statements say so.
 */
export async function inWriteTransaction<T>(db: Db, work: (tx: Db) => Promise<T>): Promise<T> {
  if (db.dialect === 'postgres') {
    return db.db.transaction().execute((tx) => work({ db: tx, dialect: 'postgres' }));
  }
  return db.db.connection().execute(async (connection) => {
    await sql`BEGIN IMMEDIATE`.execute(connection);
    try {
      const result = await work({ db: connection, dialect: 'sqlite' });
      await sql`COMMIT`.execute(connection);
      return result;
    } catch (error) {
      await sql`ROLLBACK`.execute(connection).catch(() => undefined);
      throw error;
    }
  });
}
