import { randomUUID } from 'node:crypto';
import type { Artwork } from '../../artworks/artwork.js';
import { statusesLeadingTo } from '../../artworks/status.js';
import { takeToken } from '../rate-bucket.js';
import type {
  ApiKey,
  CancelResult,
  IdempotencyBegin,
  InsertResult,
  NewApiKey,
  Organization,
  RateDecision,
  Store,
  Upload,
  UploadInsertResult,
  WebhookAttempt,
  WebhookDelivery,
} from '../store.js';
import { transaction, type Pool } from './database.js';
import {
  apiKeyFromRow,
  artworkFromRow,
  organizationFromRow,
  type ApiKeyRow,
  type ArtworkRow,
  type OrganizationRow,
} from './rows.js';
import { enqueueWebhookDelivery } from './webhook-enqueue.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids arrive from URLs; a malformed one matches nothing (rather than making PostgreSQL raise). */
const isUuid = (value: string): boolean => UUID.test(value);

const CANCELABLE = statusesLeadingTo('canceled');

export class PostgresStore implements Store {
  constructor(private readonly pool: Pool) {}

  async createOrganization(name: string, webhookSecret: string): Promise<Organization> {
    const { rows } = await this.pool.query<OrganizationRow>(
      `INSERT INTO organizations (id, name, webhook_secret, created_at) VALUES ($1, $2, $3, now()) RETURNING *`,
      [randomUUID(), name, webhookSecret],
    );
    return organizationFromRow(rows[0] as OrganizationRow);
  }

  async getOrganization(id: string): Promise<Organization | null> {
    if (!isUuid(id)) return null;
    const { rows } = await this.pool.query<OrganizationRow>('SELECT * FROM organizations WHERE id = $1', [id]);
    return rows[0] ? organizationFromRow(rows[0]) : null;
  }

  async countOrganizations(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM organizations');
    return rows[0]?.n ?? 0;
  }

  async rotateWebhookSecret(orgId: string, secret: string, previousValidUntil: Date): Promise<void> {
    await this.pool.query(
      `UPDATE organizations SET previous_webhook_secret = webhook_secret, previous_webhook_secret_until = $1,
         webhook_secret = $2 WHERE id = $3`,
      [previousValidUntil, secret, orgId],
    );
  }

  async createApiKey(key: NewApiKey): Promise<ApiKey> {
    const { rows } = await this.pool.query<ApiKeyRow>(
      `INSERT INTO api_keys (id, org_id, name, scope, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, now())
       RETURNING id, org_id, name, scope, created_at, revoked_at, last_used_at`,
      [randomUUID(), key.orgId, key.name, key.scope, key.secretHash],
    );
    return apiKeyFromRow(rows[0] as ApiKeyRow);
  }

  async findApiKeyBySecretHash(secretHash: string): Promise<ApiKey | null> {
    const { rows } = await this.pool.query<ApiKeyRow>(
      'SELECT id, org_id, name, scope, created_at, revoked_at, last_used_at FROM api_keys WHERE secret_hash = $1',
      [secretHash],
    );
    return rows[0] ? apiKeyFromRow(rows[0]) : null;
  }

  async listApiKeys(orgId: string): Promise<ApiKey[]> {
    if (!isUuid(orgId)) return [];
    const { rows } = await this.pool.query<ApiKeyRow>(
      'SELECT id, org_id, name, scope, created_at, revoked_at, last_used_at FROM api_keys WHERE org_id = $1 ORDER BY created_at, id',
      [orgId],
    );
    return rows.map(apiKeyFromRow);
  }

  async revokeApiKey(orgId: string, keyId: string, now: Date): Promise<ApiKey | null> {
    if (!isUuid(orgId) || !isUuid(keyId)) return null;
    const { rows } = await this.pool.query<ApiKeyRow>(
      `UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 AND org_id = $3
       RETURNING id, org_id, name, scope, created_at, revoked_at, last_used_at`,
      [now, keyId, orgId],
    );
    return rows[0] ? apiKeyFromRow(rows[0]) : null;
  }

  async touchApiKey(keyId: string, now: Date): Promise<void> {
    await this.pool.query(
      `UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1::timestamptz - interval '1 minute')`,
      [now, keyId],
    );
  }

  async insertArtwork(artwork: Artwork, maxUnfinished?: number, idempotencyKey?: string): Promise<InsertResult> {
    return transaction(this.pool, async (client): Promise<InsertResult> => {
      // The organization row lock serializes one organization's creations, so the count and the credit agree.
      const { rows } = await client.query<{ credits: number | null }>(
        'SELECT credits FROM organizations WHERE id = $1 FOR UPDATE',
        [artwork.orgId],
      );
      const credits = rows[0]?.credits ?? null;
      if (maxUnfinished !== undefined) {
        const unfinished = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM artworks WHERE org_id = $1 AND status IN ('starting', 'processing')`,
          [artwork.orgId],
        );
        if ((unfinished.rows[0]?.n ?? 0) >= maxUnfinished) return 'too-many-unfinished';
      }
      if (credits !== null) {
        if (credits <= 0) return 'no-credits';
        await client.query('UPDATE organizations SET credits = credits - 1 WHERE id = $1', [artwork.orgId]);
      }
      await client.query(
        `INSERT INTO artworks (id, org_id, status, parameters, created_at, updated_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          artwork.id,
          artwork.orgId,
          artwork.status,
          JSON.stringify(artwork.parameters),
          artwork.createdAt,
          artwork.updatedAt,
          artwork.expiresAt,
        ],
      );
      await client.query('INSERT INTO jobs (artwork_id, run_after) VALUES ($1, $2)', [
        artwork.id,
        Date.parse(artwork.createdAt),
      ]);
      if (idempotencyKey !== undefined) {
        await client.query('UPDATE idempotency_keys SET artwork_id = $1 WHERE org_id = $2 AND key = $3', [
          artwork.id,
          artwork.orgId,
          idempotencyKey,
        ]);
      }
      return 'inserted';
    });
  }

  async setCredits(orgId: string, change: { add: number } | { unlimited: true }): Promise<void> {
    if ('unlimited' in change) await this.pool.query('UPDATE organizations SET credits = NULL WHERE id = $1', [orgId]);
    else {
      await this.pool.query('UPDATE organizations SET credits = greatest(0, coalesce(credits, 0) + $1) WHERE id = $2', [
        change.add,
        orgId,
      ]);
    }
  }

  async setLimits(orgId: string, limits: { rateLimitPerMinute: number | null; maxUnfinished: number | null }): Promise<void> {
    await this.pool.query('UPDATE organizations SET rate_limit_per_minute = $1, max_unfinished = $2 WHERE id = $3', [
      limits.rateLimitPerMinute,
      limits.maxUnfinished,
      orgId,
    ]);
  }

  async takeRateToken(keyId: string, perMinute: number, now: number): Promise<RateDecision> {
    return transaction(this.pool, async (client) => {
      await client.query(
        'INSERT INTO rate_buckets (key_id, tokens, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING',
        [keyId, perMinute, now],
      );
      const { rows } = await client.query<{ tokens: number; updated_at: number }>(
        'SELECT tokens, updated_at FROM rate_buckets WHERE key_id = $1 FOR UPDATE',
        [keyId],
      );
      const row = rows[0];
      const { decision, tokens } = takeToken(row && { tokens: row.tokens, updatedAt: row.updated_at }, perMinute, now);
      await client.query('UPDATE rate_buckets SET tokens = $1, updated_at = $2 WHERE key_id = $3', [tokens, now, keyId]);
      return decision;
    });
  }

  async beginIdempotent(orgId: string, key: string, requestHash: string, now: number, holdMs: number): Promise<IdempotencyBegin> {
    return transaction(this.pool, async (client): Promise<IdempotencyBegin> => {
      const inserted = await client.query(
        `INSERT INTO idempotency_keys (org_id, key, request_hash, state, created_at, held_until)
         VALUES ($1, $2, $3, 'in-flight', $4, $5) ON CONFLICT (org_id, key) DO NOTHING`,
        [orgId, key, requestHash, now, now + holdMs],
      );
      if (inserted.rowCount === 1) return { state: 'new' };
      const { rows } = await client.query<{
        request_hash: string;
        state: string;
        status_code: number | null;
        body: string | null;
        artwork_id: string | null;
        held_until: string;
      }>(
        `SELECT request_hash, state, status_code, body, artwork_id, held_until FROM idempotency_keys
         WHERE org_id = $1 AND key = $2 FOR UPDATE`,
        [orgId, key],
      );
      const row = rows[0];
      if (!row) return { state: 'in-flight' };
      if (row.request_hash !== requestHash) return { state: 'mismatch' };
      if (row.state === 'done') return { state: 'done', statusCode: row.status_code ?? 200, body: row.body ?? '' };
      if (Number(row.held_until) > now) return { state: 'in-flight' };
      if (row.artwork_id !== null) return { state: 'recovered', artworkId: row.artwork_id };
      await client.query('UPDATE idempotency_keys SET held_until = $1 WHERE org_id = $2 AND key = $3', [now + holdMs, orgId, key]);
      return { state: 'new' };
    });
  }

  async finishIdempotent(orgId: string, key: string, statusCode: number, body: string): Promise<void> {
    await this.pool.query(
      `UPDATE idempotency_keys SET state = 'done', status_code = $1, body = $2 WHERE org_id = $3 AND key = $4`,
      [statusCode, body, orgId, key],
    );
  }

  async abandonIdempotent(orgId: string, key: string): Promise<void> {
    await this.pool.query('DELETE FROM idempotency_keys WHERE org_id = $1 AND key = $2', [orgId, key]);
  }

  async deleteIdempotencyKeysBefore(time: number): Promise<void> {
    await this.pool.query('DELETE FROM idempotency_keys WHERE created_at < $1', [time]);
  }

  async getArtwork(orgId: string, id: string): Promise<Artwork | null> {
    if (!isUuid(id) || !isUuid(orgId)) return null;
    const { rows } = await this.pool.query<ArtworkRow>('SELECT * FROM artworks WHERE id = $1 AND org_id = $2', [id, orgId]);
    return rows[0] ? artworkFromRow(rows[0]) : null;
  }

  async getArtworkById(id: string): Promise<Artwork | null> {
    if (!isUuid(id)) return null;
    const { rows } = await this.pool.query<ArtworkRow>('SELECT * FROM artworks WHERE id = $1', [id]);
    return rows[0] ? artworkFromRow(rows[0]) : null;
  }

  async listArtworks(orgId: string, offset: number, limit: number): Promise<Artwork[]> {
    if (!isUuid(orgId)) return [];
    const { rows } = await this.pool.query<ArtworkRow>(
      'SELECT * FROM artworks WHERE org_id = $1 ORDER BY created_at DESC, seq DESC LIMIT $2 OFFSET $3',
      [orgId, limit, offset],
    );
    return rows.map(artworkFromRow);
  }

  async cancelArtwork(orgId: string, id: string, now: Date): Promise<CancelResult> {
    if (!isUuid(id) || !isUuid(orgId)) return 'not-found';
    return transaction(this.pool, async (client): Promise<CancelResult> => {
      const changed = await client.query(
        `UPDATE artworks SET status = 'canceled', updated_at = $1, completed_at = $1,
           duration = CASE WHEN started_at IS NULL THEN 0 ELSE greatest(0, extract(epoch FROM ($1 - started_at))) END
         WHERE id = $2 AND org_id = $3 AND status = ANY($4)`,
        [now, id, orgId, CANCELABLE],
      );
      if (changed.rowCount === 0) {
        const exists = await client.query('SELECT 1 FROM artworks WHERE id = $1 AND org_id = $2', [id, orgId]);
        return exists.rowCount ? 'already-final' : 'not-found';
      }
      await client.query('DELETE FROM jobs WHERE artwork_id = $1', [id]);
      await enqueueWebhookDelivery(client, id, now);
      return 'canceled';
    });
  }

  async listExpiredArtworks(now: Date, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      'SELECT id FROM artworks WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2',
      [now, limit],
    );
    return rows.map((row) => row.id);
  }

  async deleteArtwork(id: string): Promise<void> {
    await this.pool.query('DELETE FROM artworks WHERE id = $1', [id]);
  }

  async claimDueDeliveries(
    now: number,
    leaseMs: number,
    limit: number,
    slots: { perOrg: number; busy: Record<string, number> },
  ): Promise<WebhookDelivery[]> {
    // Pushing next_attempt_at forward is the lease: a dispatcher that dies mid-send frees it when it passes.
    // Each organization gets its free slots only (perOrg minus its deliveries in flight), oldest first. The
    // outer condition is checked again after a concurrent claim commits, so two dispatchers never share one.
    const { rows } = await this.pool.query<{
      id: string;
      artwork_id: string;
      org_id: string;
      url: string;
      attempts: number;
      status: WebhookDelivery['status'];
      next_attempt_at: string;
    }>(
      `UPDATE webhook_deliveries SET next_attempt_at = $1
       WHERE id IN (
         SELECT id FROM (
           SELECT id, org_id, next_attempt_at,
                  row_number() OVER (PARTITION BY org_id ORDER BY next_attempt_at) AS rank
           FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $2) ranked
         WHERE rank <= $3 - coalesce(($4::jsonb ->> org_id::text)::int, 0)
         ORDER BY next_attempt_at LIMIT $5)
       AND status = 'pending' AND next_attempt_at <= $2
       RETURNING id, artwork_id, org_id, url, attempts, status, next_attempt_at`,
      [now + leaseMs, now, slots.perOrg, JSON.stringify(slots.busy), limit],
    );
    return rows.map((row) => ({
      id: row.id,
      artworkId: row.artwork_id,
      orgId: row.org_id,
      url: row.url,
      attempts: row.attempts,
      status: row.status,
      nextAttemptAt: Number(row.next_attempt_at),
    }));
  }

  async recordDeliveryAttempt(
    attempt: WebhookAttempt,
    next: { status: WebhookDelivery['status']; nextAttemptAt: number },
  ): Promise<void> {
    await transaction(this.pool, async (client) => {
      await client.query(
        `INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, error, duration_ms)
         VALUES ($1, $2, $3, $4, $5)`,
        [attempt.deliveryId, attempt.attemptedAt, attempt.statusCode, attempt.error, attempt.durationMs],
      );
      await client.query(
        'UPDATE webhook_deliveries SET status = $1, next_attempt_at = $2, attempts = attempts + 1 WHERE id = $3',
        [next.status, next.nextAttemptAt, attempt.deliveryId],
      );
    });
  }

  async listDeliveryAttempts(artworkId: string): Promise<WebhookAttempt[]> {
    if (!isUuid(artworkId)) return [];
    const { rows } = await this.pool.query<{
      delivery_id: string;
      attempted_at: Date;
      status_code: number | null;
      error: string | null;
      duration_ms: number;
    }>(
      `SELECT a.delivery_id, a.attempted_at, a.status_code, a.error, a.duration_ms
       FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
       WHERE d.artwork_id = $1 ORDER BY a.id`,
      [artworkId],
    );
    return rows.map((row) => ({
      deliveryId: row.delivery_id,
      attemptedAt: row.attempted_at.toISOString(),
      statusCode: row.status_code,
      error: row.error,
      durationMs: row.duration_ms,
    }));
  }

  async insertUpload(upload: Upload, quotaBytes: number): Promise<UploadInsertResult> {
    return transaction(this.pool, async (client): Promise<UploadInsertResult> => {
      // The organization row lock serializes one organization's uploads, so two cannot both fit the last bytes.
      await client.query('SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE', [upload.orgId]);
      const { rows } = await client.query<{ used: number }>(
        'SELECT coalesce(sum(bytes), 0)::float8 AS used FROM uploads WHERE org_id = $1',
        [upload.orgId],
      );
      if ((rows[0]?.used ?? 0) + upload.bytes > quotaBytes) return 'over-quota';
      await client.query(
        'INSERT INTO uploads (id, org_id, content_type, bytes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
        [upload.id, upload.orgId, upload.contentType, upload.bytes, upload.createdAt, upload.expiresAt],
      );
      return 'inserted';
    });
  }

  async getUpload(id: string): Promise<Upload | null> {
    if (!isUuid(id)) return null;
    const { rows } = await this.pool.query<{
      id: string;
      org_id: string;
      content_type: string;
      bytes: string;
      created_at: Date;
      expires_at: Date;
    }>(
      'SELECT * FROM uploads WHERE id = $1',
      [id],
    );
    const row = rows[0];
    return row
      ? {
          id: row.id,
          orgId: row.org_id,
          contentType: row.content_type,
          bytes: Number(row.bytes),
          createdAt: row.created_at.toISOString(),
          expiresAt: row.expires_at.toISOString(),
        }
      : null;
  }

  async listExpiredUploads(now: Date, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>('SELECT id FROM uploads WHERE expires_at <= $1 LIMIT $2', [now, limit]);
    return rows.map((row) => row.id);
  }

  async deleteUpload(id: string): Promise<void> {
    await this.pool.query('DELETE FROM uploads WHERE id = $1', [id]);
  }

  async getOrInitSetting(name: string, value: string): Promise<string> {
    await this.pool.query('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, value]);
    const { rows } = await this.pool.query<{ value: string }>('SELECT value FROM settings WHERE name = $1', [name]);
    return (rows[0] as { value: string }).value;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
