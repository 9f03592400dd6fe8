import { randomUUID } from 'node:crypto';
import type { WebhookAttempt, WebhookDelivery } from './store.js';
import { iso, isUuid } from './columns.js';
import type { Db } from './database.js';

/** The webhook outbox: deliveries written in the transaction that makes an artwork final, and their attempts. */

export async function enqueueDelivery(
  { db }: Db,
  delivery: { artworkId: string; orgId: string; url: string },
  now: Date,
): Promise<void> {
  await db
    .insertInto('webhook_deliveries')
    .values({
      id: `msg_${randomUUID().replaceAll('-', '')}`,
      artwork_id: delivery.artworkId,
      org_id: delivery.orgId,
      url: delivery.url,
      status: 'pending',
      attempts: 0,
      next_attempt_at: now.getTime(),
      created_at: now.toISOString(),
    })
    .execute();
}

/**
 * Leases the due deliveries: at most `limit`, and per organization at most `slots.perOrg` minus its
 * deliveries in flight (`slots.busy`), oldest first. Pushing next_attempt_at forward is the lease: a
 * dispatcher that dies mid-send frees it when it passes. Call inside a write transaction; the lease is
 * conditional on the row still being due, so two PostgreSQL dispatchers never share a delivery.
 */
export async function claimDueDeliveries(
  tx: Db,
  now: number,
  leaseMs: number,
  limit: number,
  slots: { perOrg: number; busy: Record<string, number> },
): Promise<WebhookDelivery[]> {
  // Per organization, only its oldest perOrg can be claimable, whatever is busy: that bounds what is read.
  const candidates = await tx.db
    .selectFrom((eb) =>
      eb
        .selectFrom('webhook_deliveries')
        .select(['id', 'org_id', 'next_attempt_at'])
        .select((inner) =>
          inner.fn
            .agg<number>('row_number')
            .over((over) => over.partitionBy('org_id').orderBy('next_attempt_at'))
            .as('rank'),
        )
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .as('ranked'),
    )
    .select(['id', 'org_id', 'rank'])
    .where('rank', '<=', slots.perOrg)
    .orderBy('next_attempt_at')
    .execute();
  const ids = candidates
    .filter((row) => Number(row.rank) <= slots.perOrg - (slots.busy[row.org_id] ?? 0))
    .slice(0, limit)
    .map((row) => row.id);
  const claimed: WebhookDelivery[] = [];
  for (const id of ids) {
    const row = await tx.db
      .updateTable('webhook_deliveries')
      .set({ next_attempt_at: now + leaseMs })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .returning(['id', 'artwork_id', 'org_id', 'url', 'attempts', 'status'])
      .executeTakeFirst();
    if (row) {
      claimed.push({
        id: row.id,
        artworkId: row.artwork_id,
        orgId: row.org_id,
        url: row.url,
        attempts: row.attempts,
        status: row.status,
        nextAttemptAt: now + leaseMs,
      });
    }
  }
  return claimed;
}

/** Records one attempt and the delivery's next state; call inside a transaction. */
export async function recordDeliveryAttempt(
  { db }: Db,
  attempt: WebhookAttempt,
  next: { status: WebhookDelivery['status']; nextAttemptAt: number },
): Promise<void> {
  await db
    .insertInto('webhook_attempts')
    .values({
      delivery_id: attempt.deliveryId,
      attempted_at: attempt.attemptedAt,
      status_code: attempt.statusCode,
      error: attempt.error,
      duration_ms: attempt.durationMs,
    })
    .execute();
  await db
    .updateTable('webhook_deliveries')
    .set((eb) => ({ status: next.status, next_attempt_at: next.nextAttemptAt, attempts: eb('attempts', '+', 1) }))
    .where('id', '=', attempt.deliveryId)
    .execute();
}

export async function listDeliveryAttempts({ db }: Db, artworkId: string): Promise<WebhookAttempt[]> {
  if (!isUuid(artworkId)) return [];
  const rows = await db
    .selectFrom('webhook_attempts as a')
    .innerJoin('webhook_deliveries as d', 'd.id', 'a.delivery_id')
    .select(['a.delivery_id', 'a.attempted_at', 'a.status_code', 'a.error', 'a.duration_ms'])
    .where('d.artwork_id', '=', artworkId)
    .orderBy('a.id')
    .execute();
  return rows.map((row) => ({
    deliveryId: row.delivery_id,
    attemptedAt: iso(row.attempted_at),
    statusCode: row.status_code,
    error: row.error,
    durationMs: row.duration_ms,
  }));
}
