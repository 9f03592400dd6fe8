import fs from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type ColumnType, type Generated } from 'kysely';
import pg from 'pg';

// bigint columns (millisecond timestamps, ids, byte counts) fit in a double: parse them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export type Dialect = 'sqlite' | 'postgres';

/** A time column: ISO text in SQLite, timestamptz (read as a Date) in PostgreSQL; always written as ISO text. */
type Time = ColumnType<string | Date, string, string>;
type NullableTime = ColumnType<string | Date | null, string | null, string | null>;
/** A JSON column: text in SQLite, jsonb (read already parsed) in PostgreSQL; always written as JSON text. */
type Json = ColumnType<unknown, string, string>;
type NullableJson = ColumnType<unknown, string | null, string | null>;

export interface OrganizationsTable {
  id: string;
  name: string;
  webhook_secret: string;
  previous_webhook_secret: string | null;
  previous_webhook_secret_until: NullableTime;
  credits: number | null;
  rate_limit_per_minute: number | null;
  max_unfinished: number | null;
  created_at: Time;
}

export interface ApiKeysTable {
  id: string;
  org_id: string;
  name: string;
  scope: string;
  secret_hash: string;
  created_at: Time;
  revoked_at: NullableTime;
  last_used_at: NullableTime;
}

export interface ArtworksTable {
  id: string;
  org_id: string;
  status: string;
  parameters: Json;
  created_at: Time;
  updated_at: Time;
  started_at: NullableTime;
  completed_at: NullableTime;
  duration: number;
  results: Json;
  faces: NullableJson;
  engine: string | null;
  error: NullableJson;
  expires_at: Time;
}

export interface JobsTable {
  id: Generated<number>;
  artwork_id: string;
  run_after: number;
  lease_until: number | null;
  lease_token: string | null;
  attempts: Generated<number>;
}

export interface WebhookDeliveriesTable {
  id: string;
  artwork_id: string;
  org_id: string;
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: number;
  created_at: Time;
}

export interface WebhookAttemptsTable {
  id: Generated<number>;
  delivery_id: string;
  attempted_at: Time;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

export interface IdempotencyKeysTable {
  org_id: string;
  key: string;
  request_hash: string;
  state: 'in-flight' | 'done';
  status_code: number | null;
  body: string | null;
  artwork_id: string | null;
  created_at: number;
  held_until: number;
}

export interface OrgRateBucketsTable {
  org_id: string;
  tokens: number;
  updated_at: number;
}

export interface UploadsTable {
  id: string;
  org_id: string;
  content_type: string;
  bytes: number;
  created_at: Time;
  expires_at: Time;
}

export interface SettingsTable {
  name: string;
  value: string;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: string;
}

export interface Tables {
  organizations: OrganizationsTable;
  api_keys: ApiKeysTable;
  artworks: ArtworksTable;
  jobs: JobsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  idempotency_keys: IdempotencyKeysTable;
  org_rate_buckets: OrgRateBucketsTable;
  uploads: UploadsTable;
  settings: SettingsTable;
  schema_migrations: SchemaMigrationsTable;
}

/**
 * What every repository function takes first: the query builder (the database, or a transaction on it) and
 * the dialect, for the few statements that differ between SQLite and PostgreSQL.
 */
export interface Db {
  db: Kysely<Tables>;
  dialect: Dialect;
}

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
export function openSqliteFile(file: string, synchronous: 'FULL' | 'OFF'): Sqlite.Database {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  if (!fs.existsSync(file)) fs.closeSync(fs.openSync(file, 'a', 0o600));
  fs.chmodSync(file, 0o600);
  try {
    const db = new Sqlite(file);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
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

/** The main SQLite database; FULL: a finished artwork survives power loss, not only a process crash. */
export function openSqlite(file: string): Db {
  return sqliteDb(openSqliteFile(file, 'FULL'));
}

export function sqliteDb(database: Sqlite.Database): Db {
  return { db: new Kysely<Tables>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) }), dialect: 'sqlite' };
}

/**
 * Kysely's SQLite driver prepares every statement anew, and parsing the SQL cost about a third of the API's
 * throughput (bench:api, GET and POST, against the adapters that kept their statements). Kysely writes values
 * as parameters, so the set of SQL texts is small; the cap only guards against an unbounded `IN (...)` list.
 * Reusing a statement is safe: Kysely's connection mutex runs one query at a time, and nothing here streams.
 */
const STATEMENT_CACHE_LIMIT = 500;

function withStatementCache(database: Sqlite.Database): Pick<Sqlite.Database, 'close' | 'prepare'> {
  const statements = new Map<string, Sqlite.Statement>();
  return {
    close: () => database.close(),
    prepare: (source: string) => {
      let statement = statements.get(source);
      if (!statement) {
        if (statements.size >= STATEMENT_CACHE_LIMIT) statements.clear();
        statement = database.prepare(source);
        statements.set(source, statement);
      }
      return statement;
    },
  } as Pick<Sqlite.Database, 'close' | 'prepare'>;
}

export function openPostgres(connectionString: string, max = 10): Db {
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: 10_000 });
  // An idle client losing its connection (database restart) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  return { db: new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres' };
}
