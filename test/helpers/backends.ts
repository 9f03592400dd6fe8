import { randomUUID } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { FsBlobStore } from '../../src/blobs/fs.js';
import { S3BlobStore } from '../../src/blobs/s3.js';
import { SqlJobQueue, type JobQueue } from '../../src/jobs/queue.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { openPostgres, openSqlite, type Db } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { openRateLimitFile } from '../../src/store/rate-limits.js';
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
  const file = sqliteTestFile();
  return underTest(() => sqliteStoreAt(file));
}

/** A new database file, unmigrated. */
export function sqliteTestFile(): string {
  return path.join(tempDataDir('store'), 'store.db');
}

export interface StoreOn {
  /** The database, to migrate. */
  db: Db;
  store: Store;
  queue: JobQueue;
}

/** The store and queue on the SQLite file (and its rate-limit file beside it), as the service opens them; unmigrated. */
export function sqliteStoreAt(file: string): StoreOn {
  const db = openSqlite(file);
  const rates = openRateLimitFile(path.join(path.dirname(file), 'rate-limits.db'));
  return { db, store: new SqlStore(db, rates), queue: new SqlJobQueue(db) };
}

/** The store and queue on the PostgreSQL database at `url`, as the service opens them; unmigrated. */
export function postgresStoreAt(url: string): StoreOn {
  const db = openPostgres(url);
  return { db, store: new SqlStore(db), queue: new SqlJobQueue(db) };
}

/** The store and queue over a migrated database; `open` gives new connections to the same data each call. */
async function underTest(open: () => StoreOn): Promise<StoreUnderTest> {
  const { db, store, queue } = open();
  await migrate(db);
  const others: Array<{ close(): Promise<void> }> = [];
  return {
    store,
    queue,
    other: async () => {
      const second = open();
      others.push(second.store);
      return { store: second.store, queue: second.queue };
    },
    close: async () => {
      for (const o of others) await o.close();
      await store.close();
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
  return underTest(() => postgresStoreAt(url));
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
