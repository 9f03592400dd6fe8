import { randomUUID } from 'node:crypto';
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
