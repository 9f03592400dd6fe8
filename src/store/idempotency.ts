import type { IdempotencyBegin } from './store.js';
import type { Db } from './database.js';

/**
 * Stripe-style Idempotency-Key records, per organization. Call `beginIdempotent` inside a write transaction:
 * the insert, the read of an existing record and the take-over of a dead one must be one step.
 */
export async function beginIdempotent(
  tx: Db,
  orgId: string,
  key: string,
  requestHash: string,
  now: number,
  holdMs: number,
): Promise<IdempotencyBegin> {
  const inserted = await tx.db
    .insertInto('idempotency_keys')
    .values({ org_id: orgId, key, request_hash: requestHash, state: 'in-flight', created_at: now, held_until: now + holdMs })
    .onConflict((oc) => oc.columns(['org_id', 'key']).doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return { state: 'new' };
  const row = await tx.db
    .selectFrom('idempotency_keys')
    .select(['request_hash', 'state', 'status_code', 'body', 'artwork_id', 'held_until'])
    .where('org_id', '=', orgId)
    .where('key', '=', key)
    .$if(tx.dialect === 'postgres', (query) => query.forUpdate())
    .executeTakeFirst();
  // PostgreSQL: a concurrent first request has not committed its record yet
  if (!row) return { state: 'in-flight' };
  if (row.request_hash !== requestHash) return { state: 'mismatch' };
  if (row.state === 'done') return { state: 'done', statusCode: row.status_code ?? 200, body: row.body ?? '' };
  if (Number(row.held_until) > now) return { state: 'in-flight' };
  if (row.artwork_id !== null) return { state: 'recovered', artworkId: row.artwork_id };
  await holdIdempotent(tx, orgId, key, now + holdMs);
  return { state: 'new' };
}

async function holdIdempotent({ db }: Db, orgId: string, key: string, heldUntil: number): Promise<void> {
  await db.updateTable('idempotency_keys').set({ held_until: heldUntil }).where('org_id', '=', orgId).where('key', '=', key).execute();
}

/** Points the key's record at the artwork its request stored (in the transaction that stores it). */
export async function attachArtwork({ db }: Db, orgId: string, key: string, artworkId: string): Promise<void> {
  await db.updateTable('idempotency_keys').set({ artwork_id: artworkId }).where('org_id', '=', orgId).where('key', '=', key).execute();
}

export async function finishIdempotent({ db }: Db, orgId: string, key: string, statusCode: number, body: string): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({ state: 'done', status_code: statusCode, body })
    .where('org_id', '=', orgId)
    .where('key', '=', key)
    .execute();
}

export async function abandonIdempotent({ db }: Db, orgId: string, key: string): Promise<void> {
  await db.deleteFrom('idempotency_keys').where('org_id', '=', orgId).where('key', '=', key).execute();
}

export async function deleteIdempotencyKeysBefore({ db }: Db, time: number): Promise<void> {
  await db.deleteFrom('idempotency_keys').where('created_at', '<', time).execute();
}
