import { randomUUID } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { FsBlobStore } from '../../src/blobs/fs.js';
import { S3BlobStore } from '../../src/blobs/s3.js';
import type { JobQueue } from '../../src/jobs/queue.js';
import { migratePostgres, openPostgres } from '../../src/store/postgres/database.js';
import { PostgresQueue } from '../../src/store/postgres/queue.js';
import { PostgresStore } from '../../src/store/postgres/store.js';
import { openSqlite } from '../../src/store/sqlite/database.js';
import { SqliteQueue } from '../../src/store/sqlite/queue.js';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { postgresDb, sqliteDb } from '../../src/store/database.js';
import type { Store } from '../../src/store/store.js';
import { tempDataDir } from './service.js';

export interface StoreUnderTest {
  store: Store;
  queue: JobQueue;
  /** A second connection to the same data, as another process would have. */
  other(): Promise<{ store: Store; queue: JobQueue }>;
  close(): Promise<void>;
}

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
export const TEST_S3_ENDPOINT = process.env.TEST_S3_ENDPOINT;

export async function sqliteUnderTest(): Promise<StoreUnderTest> {
  const file = path.join(tempDataDir('store'), 'store.db');
  const db = openSqlite(file);
  const others: Array<{ close(): Promise<void> }> = [];
  return {
    store: new SqlStore(sqliteDb(db), new SqliteStore(db)),
    queue: new SqliteQueue(db),
    other: async () => {
      const second = openSqlite(file);
      const store = new SqlStore(sqliteDb(second), new SqliteStore(second));
      others.push(store);
      return { store, queue: new SqliteQueue(second) };
    },
    close: async () => {
      for (const o of others) await o.close();
      db.close();
    },
  };
}

/** A fresh schema in the test database, so tests never see each other's rows; its URL carries the search path. */
export async function freshPostgresSchema(): Promise<string> {
  // read at call time: the benchmarks set a default after this module is loaded
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error('TEST_DATABASE_URL is not set');
  const schema = `t_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.href;
}

export async function postgresUnderTest(): Promise<StoreUnderTest> {
  const url = await freshPostgresSchema();
  const pool = openPostgres(url);
  await migratePostgres(pool);
  const others: Array<{ close(): Promise<void> }> = [];
  return {
    store: new SqlStore(postgresDb(pool), new PostgresStore(pool)),
    queue: new PostgresQueue(pool),
    other: async () => {
      const second = openPostgres(url);
      const store = new SqlStore(postgresDb(second), new PostgresStore(second));
      others.push(store);
      return { store, queue: new PostgresQueue(second) };
    },
    close: async () => {
      for (const o of others) await o.close();
      await pool.end();
    },
  };
}

export function fsBlobsUnderTest(): FsBlobStore {
  return new FsBlobStore(path.join(tempDataDir('blobs'), 'blobs'));
}

export const S3_TEST_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export function s3BlobsUnderTest(bucket: string): S3BlobStore {
  if (!TEST_S3_ENDPOINT) throw new Error('TEST_S3_ENDPOINT is not set');
  return new S3BlobStore({
    endpoint: TEST_S3_ENDPOINT,
    bucket,
    region: 'us-east-1',
    ...S3_TEST_CREDENTIALS,
    forcePathStyle: true,
  });
}
