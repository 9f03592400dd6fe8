import { randomUUID } from 'node:crypto';
import type { Client } from './database.js';

/**
 * Called inside the transaction that makes an artwork final, so a final status and its pending webhook
 * delivery are written together or not at all.
 */
export async function enqueueWebhookDelivery(client: Client, artworkId: string, now: Date): Promise<void> {
  await client.query(
    `INSERT INTO webhook_deliveries (id, artwork_id, org_id, url, status, attempts, next_attempt_at, created_at)
     SELECT $1, id, org_id, parameters->>'webhook', 'pending', 0, $2, $3
     FROM artworks WHERE id = $4 AND parameters->>'webhook' IS NOT NULL`,
    [`msg_${randomUUID().replaceAll('-', '')}`, now.getTime(), now, artworkId],
  );
}
