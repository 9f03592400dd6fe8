import path from 'node:path';
import type { SignedUrls} from './artworks/signed-urls.js';
import { type ResultLinks } from './artworks/signed-urls.js';
import type { BlobStore } from './blobs/blobs.js';
import { FsBlobStore } from './blobs/fs.js';
import { S3BlobStore } from './blobs/s3.js';
import { S3ResultLinks } from './blobs/s3-result-links.js';
import type { Config } from './config.js';
import type { JobNotices } from './jobs/job-listener.js';
import { SqlJobQueue, type JobQueue } from './jobs/queue.js';
import { openPostgres, openSqlite } from './store/database.js';
import { listenForJobs } from './store/job-notices.js';
import { migrate } from './store/migrate.js';
import { openRateLimitFile } from './store/rate-limits.js';
import { SqlStore } from './store/sql-store.js';
import type { Store } from './store/store.js';

export interface StoreBackend {
  store: Store;
  queue: JobQueue;
  /** Announcements of new jobs from any process (PostgreSQL); on SQLite the creating process wakes its own runner. */
  notices?: JobNotices;
  describe: string;
}

/** PostgreSQL when DATABASE_URL is set (migrations applied first), otherwise SQLite under DATA_DIR. */
export async function openStore(config: Config): Promise<StoreBackend> {
  if (config.databaseUrl) {
    const db = openPostgres(config.databaseUrl);
    await migrate(db);
    const url = config.databaseUrl;
    const notices: JobNotices = { listen: (handlers) => listenForJobs(url, handlers) };
    return { store: new SqlStore(db), queue: new SqlJobQueue(db), notices, describe: 'postgres' };
  }
  const db = openSqlite(path.join(config.dataDir, 'face-refiner.db'));
  await migrate(db);
  const rates = openRateLimitFile(path.join(config.dataDir, 'rate-limits.db'));
  return { store: new SqlStore(db, rates), queue: new SqlJobQueue(db), describe: 'sqlite' };
}

export interface BlobBackend {
  blobs: BlobStore;
  /** The URLs put in `results`: presigned object-storage URLs with S3, signed API URLs otherwise. */
  links(signer: SignedUrls): ResultLinks;
  close(): void;
  describe: string;
}

export function openBlobs(config: Config): BlobBackend {
  if (config.s3) {
    const s3 = new S3BlobStore(config.s3);
    return { blobs: s3, links: () => new S3ResultLinks(s3), close: () => s3.close(), describe: 's3' };
  }
  return {
    blobs: new FsBlobStore(path.join(config.dataDir, 'blobs')),
    links: (signer) => signer,
    close: () => undefined,
    describe: 'files',
  };
}
