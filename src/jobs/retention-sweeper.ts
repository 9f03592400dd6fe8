import type { Logger } from 'pino';
import { artworkBlobPrefix, uploadBlobPrefix } from '../artworks/artwork.js';
import type { BlobStore } from '../blobs/blobs.js';
import type { Store } from '../store/store.js';

/**
 * Deletes artworks whose retention has ended, images first: a crash between the two leaves a row that the
 * next sweep deletes again, never an image without its row.
 */
/** Idempotency keys are kept at least this long (Stripe keeps them 24 hours). */
const IDEMPOTENCY_KEY_MS = 24 * 3_600_000;
/** A blob write takes milliseconds (seconds for 30 MiB on a slow disk): a temporary file an hour old is orphaned. */
const ORPHAN_AGE_MS = 3_600_000;

export async function sweepExpiredArtworks(store: Store, blobs: BlobStore, now: Date): Promise<number> {
  await store.deleteIdempotencyKeysBefore(now.getTime() - IDEMPOTENCY_KEY_MS);
  await blobs.sweepOrphans?.(new Date(now.getTime() - ORPHAN_AGE_MS));
  for (const id of await store.listExpiredUploads(now, 1000)) {
    await blobs.deletePrefix(uploadBlobPrefix(id));
    await store.deleteUpload(id);
  }
  let deleted = 0;
  for (;;) {
    const ids = await store.listExpiredArtworks(now, 100);
    if (ids.length === 0) return deleted;
    for (const id of ids) {
      await blobs.deletePrefix(artworkBlobPrefix(id));
      await store.deleteArtwork(id);
      deleted++;
    }
  }
}

export function startRetentionSweeper(
  store: Store,
  blobs: BlobStore,
  intervalMs: number,
  logger: Logger,
): () => Promise<void> {
  let running: Promise<void> | undefined;
  const sweep = (): void => {
    if (running) return;
    running = sweepExpiredArtworks(store, blobs, new Date())
      .then((count) => {
        if (count > 0) logger.info({ count }, 'expired artworks deleted');
      })
      .catch((error: unknown) => logger.error({ err: error }, 'retention sweep failed'))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(sweep, intervalMs);
  timer.unref();
  sweep();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
