import { sql } from 'kysely';
import type { Db, Dialect } from './database.js';
import { POSTGRES_LEGACY_MIGRATIONS } from './migrations/postgres-legacy.js';
import { SHARED_MIGRATIONS } from './migrations/shared.js';
import { SQLITE_LEGACY_MIGRATIONS } from './migrations/sqlite-legacy.js';
import { inWriteTransaction } from './transaction.js';

/** Any fixed number: the lock that makes PostgreSQL processes starting together take turns at migrating. */
const MIGRATION_LOCK = 7413001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every migration of a dialect, in order: its frozen legacy list, then the shared ones (from 100). */
export function migrationsFor(dialect: Dialect): Migration[] {
  const legacy = dialect === 'sqlite' ? SQLITE_LEGACY_MIGRATIONS : POSTGRES_LEGACY_MIGRATIONS;
  return [...legacy, ...SHARED_MIGRATIONS.map((m) => ({ version: m.version, name: m.name, sql: m.sql[dialect] }))];
}

/**
 * The one migration runner: applies the pending migrations in one write transaction (SQLite: BEGIN IMMEDIATE;
 * PostgreSQL: under an advisory lock), recorded in schema_migrations as before, so existing databases carry
 * on from the versions they have. Returns the versions applied.
 */
export async function migrate(db: Db, migrations = migrationsFor(db.dialect)): Promise<number[]> {
  return inWriteTransaction(db, async (tx) => {
    if (tx.dialect === 'postgres') await sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`.execute(tx.db);
    const appliedAt = tx.dialect === 'postgres' ? 'timestamptz' : 'TEXT';
    await sql`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at ${sql.raw(appliedAt)} NOT NULL)`.execute(tx.db);
    const applied = new Set((await tx.db.selectFrom('schema_migrations').select('version').execute()).map((row) => row.version));
    const done: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      // one statement at a time: SQLite's driver prepares a single statement (the legacy lists hold no ';' in literals)
      for (const statement of migration.sql.split(';').map((s) => s.trim()).filter(Boolean)) {
        await sql.raw(statement).execute(tx.db);
      }
      await tx.db
        .insertInto('schema_migrations')
        .values({ version: migration.version, name: migration.name, applied_at: new Date().toISOString() })
        .execute();
      done.push(migration.version);
    }
    return done;
  });
}
