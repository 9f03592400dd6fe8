import type { Artwork } from './artwork.js';
import { statusesLeadingTo } from './status.js';
import type { CancelResult, InsertResult, JobOutcome } from '../store/store.js';
import * as artworks from '../store/artworks.js';
import type { Db } from '../store/database.js';
import * as idempotency from '../store/idempotency.js';
import * as jobs from '../store/jobs.js';
import * as organizations from '../store/organizations.js';
import * as outbox from '../store/outbox.js';
import { inWriteTransaction } from '../store/transaction.js';

/**
 * The artwork's rules above the SQL, written once for both databases: what creating one spends and what may
 * refuse it, which status may follow which (status.ts), and that a final status enqueues its webhook.
 */

/** Statuses that hold a worker slot or wait for one: what `maxUnfinished` counts. */
const UNFINISHED = ['starting', 'processing'] as const;

/**
 * Inserts the artwork and its job in one transaction, spending one credit, unless the organization has no
 * credits left or already has `maxUnfinished` artworks starting or processing. With `idempotencyKey`, the
 * key's record points at the artwork in the same transaction, so a crash after it cannot strand the key.
 */
export async function createArtwork(db: Db, artwork: Artwork, maxUnfinished?: number, idempotencyKey?: string): Promise<InsertResult> {
  return inWriteTransaction(db, async (tx): Promise<InsertResult> => {
    // first: it also locks the organization, so its count of unfinished artworks and its credit agree
    const credits = await organizations.creditsOf(tx, artwork.orgId);
    if (maxUnfinished !== undefined && (await artworks.countUnfinished(tx, artwork.orgId, UNFINISHED)) >= maxUnfinished) {
      return 'too-many-unfinished';
    }
    if (credits !== null) {
      if (credits <= 0) return 'no-credits';
      await organizations.spendCredit(tx, artwork.orgId);
    }
    await artworks.insertArtwork(tx, artwork);
    await jobs.enqueueJob(tx, artwork.id, Date.parse(artwork.createdAt));
    if (idempotencyKey !== undefined) await idempotency.attachArtwork(tx, artwork.orgId, idempotencyKey, artwork.id);
    return 'inserted';
  });
}

/** Cancels a starting or processing artwork: its job goes (so a running worker loses its lease), its webhook is enqueued. */
export async function cancelArtwork(db: Db, orgId: string, id: string, now: Date): Promise<CancelResult> {
  return inWriteTransaction(db, async (tx): Promise<CancelResult> => {
    const canceled = await artworks.writeCanceled(tx, orgId, id, statusesLeadingTo('canceled'), now);
    if (typeof canceled === 'string') return canceled;
    await jobs.removeJobOf(tx, id);
    await enqueueWebhook(tx, id, canceled, now);
    return 'canceled';
  });
}

/**
 * Writes a job's outcome onto its artwork, if the status machine allows it from where the artwork is; the
 * webhook delivery is enqueued in the same transaction. False when the artwork was already final (canceled).
 */
export async function finishArtwork(tx: Db, id: string, outcome: JobOutcome, now: Date): Promise<boolean> {
  const changed = await artworks.writeOutcome(tx, id, outcome, statusesLeadingTo(outcome.status), now);
  if (!changed) return false;
  await enqueueWebhook(tx, id, changed, now);
  return true;
}

export async function startArtwork(tx: Db, id: string, now: Date): Promise<void> {
  await artworks.markProcessing(tx, id, statusesLeadingTo('processing'), now);
}

async function enqueueWebhook(tx: Db, artworkId: string, artwork: { orgId: string; webhook: string | undefined }, now: Date): Promise<void> {
  if (artwork.webhook !== undefined) await outbox.enqueueDelivery(tx, { artworkId, orgId: artwork.orgId, url: artwork.webhook }, now);
}
