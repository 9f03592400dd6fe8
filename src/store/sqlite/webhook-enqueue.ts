import { randomUUID } from 'node:crypto';
import type { Db } from './database.js';

/**
 * Called inside the transaction that makes an artwork final, so a final status and its pending webhook
 * delivery are written together or not at all.
 */
export function enqueueWebhookDelivery(db: Db, artworkId: string, now: Date): void {
  db.prepare(
    `INSERT INTO webhook_deliveries (id, artwork_id, org_id, url, status, attempts, next_attempt_at, created_at)
     SELECT @id, id, org_id, json_extract(parameters, '$.webhook'), 'pending', 0, @now, @nowIso
     FROM artworks WHERE id = @artworkId AND json_extract(parameters, '$.webhook') IS NOT NULL`,
  ).run({ id: `msg_${randomUUID().replaceAll('-', '')}`, artworkId, now: now.getTime(), nowIso: now.toISOString() });
}
