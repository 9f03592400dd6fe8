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
import type { Db } from './database.js';
import {
  apiKeyFromRow,
  artworkFromRow,
  organizationFromRow,
  type ApiKeyRow,
  type ArtworkRow,
  type OrganizationRow,
} from './rows.js';
import { enqueueWebhookDelivery } from './webhook-enqueue.js';

const CANCELABLE = statusesLeadingTo('canceled');

export class SqliteStore implements Store {
  /** `rateDb` holds the rate-limit buckets (see rate-limit-db.ts); the main database when not given. */
  constructor(
    private readonly db: Db,
    private readonly rateDb: Db = db,
  ) {}

  async createOrganization(name: string, webhookSecret: string): Promise<Organization> {
    const org: Organization = {
      id: randomUUID(),
      name,
      webhookSecret,
      previousWebhookSecret: null,
      previousWebhookSecretUntil: null,
      credits: null,
      rateLimitPerMinute: null,
      maxUnfinished: null,
      createdAt: new Date().toISOString(),
    };
    this.db
      .prepare('INSERT INTO organizations (id, name, webhook_secret, created_at) VALUES (?, ?, ?, ?)')
      .run(org.id, org.name, org.webhookSecret, org.createdAt);
    return org;
  }

  async getOrganization(id: string): Promise<Organization | null> {
    const row = this.db.prepare('SELECT * FROM organizations WHERE id = ?').get(id) as OrganizationRow | undefined;
    return row ? organizationFromRow(row) : null;
  }

  async countOrganizations(): Promise<number> {
    return (this.db.prepare('SELECT count(*) AS n FROM organizations').get() as { n: number }).n;
  }

  async rotateWebhookSecret(orgId: string, secret: string, previousValidUntil: Date): Promise<void> {
    this.db
      .prepare(
        `UPDATE organizations SET previous_webhook_secret = webhook_secret, previous_webhook_secret_until = ?,
           webhook_secret = ? WHERE id = ?`,
      )
      .run(previousValidUntil.toISOString(), secret, orgId);
  }

  async createApiKey(key: NewApiKey): Promise<ApiKey> {
    const created: ApiKey = {
      id: randomUUID(),
      orgId: key.orgId,
      name: key.name,
      scope: key.scope,
      createdAt: new Date().toISOString(),
      revokedAt: null,
      lastUsedAt: null,
    };
    this.db
      .prepare('INSERT INTO api_keys (id, org_id, name, scope, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(created.id, created.orgId, created.name, created.scope, key.secretHash, created.createdAt);
    return created;
  }

  async findApiKeyBySecretHash(secretHash: string): Promise<ApiKey | null> {
    const row = this.db.prepare('SELECT * FROM api_keys WHERE secret_hash = ?').get(secretHash) as
      | ApiKeyRow
      | undefined;
    return row ? apiKeyFromRow(row) : null;
  }

  async listApiKeys(orgId: string): Promise<ApiKey[]> {
    const rows = this.db.prepare('SELECT * FROM api_keys WHERE org_id = ? ORDER BY created_at, rowid').all(orgId) as ApiKeyRow[];
    return rows.map(apiKeyFromRow);
  }

  async revokeApiKey(orgId: string, keyId: string, now: Date): Promise<ApiKey | null> {
    this.db
      .prepare('UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? AND org_id = ?')
      .run(now.toISOString(), keyId, orgId);
    const row = this.db.prepare('SELECT * FROM api_keys WHERE id = ? AND org_id = ?').get(keyId, orgId) as ApiKeyRow | undefined;
    return row ? apiKeyFromRow(row) : null;
  }

  async touchApiKey(keyId: string, now: Date): Promise<void> {
    const minuteAgo = new Date(now.getTime() - 60_000).toISOString();
    this.db
      .prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)')
      .run(now.toISOString(), keyId, minuteAgo);
  }

  async insertArtwork(artwork: Artwork, maxUnfinished?: number, idempotencyKey?: string): Promise<InsertResult> {
    return this.db.transaction((): InsertResult => {
      if (maxUnfinished !== undefined) {
        const { n } = this.db
          .prepare(`SELECT count(*) AS n FROM artworks WHERE org_id = ? AND status IN ('starting', 'processing')`)
          .get(artwork.orgId) as { n: number };
        if (n >= maxUnfinished) return 'too-many-unfinished';
      }
      const spent = this.db
        .prepare('UPDATE organizations SET credits = credits - 1 WHERE id = ? AND credits IS NOT NULL AND credits > 0')
        .run(artwork.orgId).changes;
      if (spent === 0) {
        const org = this.db.prepare('SELECT credits FROM organizations WHERE id = ?').get(artwork.orgId) as
          | { credits: number | null }
          | undefined;
        if (org?.credits !== null) return 'no-credits';
      }
      this.db
        .prepare(
          `INSERT INTO artworks (id, org_id, status, parameters, created_at, updated_at, duration, results, expires_at)
           VALUES (@id, @orgId, @status, @parameters, @createdAt, @updatedAt, 0, '[]', @expiresAt)`,
        )
        .run({ ...artwork, parameters: JSON.stringify(artwork.parameters) });
      this.db
        .prepare('INSERT INTO jobs (artwork_id, run_after) VALUES (?, ?)')
        .run(artwork.id, Date.parse(artwork.createdAt));
      if (idempotencyKey !== undefined) {
        this.db
          .prepare('UPDATE idempotency_keys SET artwork_id = ? WHERE org_id = ? AND key = ?')
          .run(artwork.id, artwork.orgId, idempotencyKey);
      }
      return 'inserted';
    }).immediate();
  }

  async setCredits(orgId: string, change: { add: number } | { unlimited: true }): Promise<void> {
    if ('unlimited' in change) {
      this.db.prepare('UPDATE organizations SET credits = NULL WHERE id = ?').run(orgId);
    } else {
      this.db.prepare('UPDATE organizations SET credits = max(0, coalesce(credits, 0) + ?) WHERE id = ?').run(change.add, orgId);
    }
  }

  async setLimits(orgId: string, limits: { rateLimitPerMinute: number | null; maxUnfinished: number | null }): Promise<void> {
    this.db
      .prepare('UPDATE organizations SET rate_limit_per_minute = ?, max_unfinished = ? WHERE id = ?')
      .run(limits.rateLimitPerMinute, limits.maxUnfinished, orgId);
  }

  async takeRateToken(keyId: string, perMinute: number, now: number): Promise<RateDecision> {
    return this.rateDb.transaction(() => {
      const row = this.rateDb.prepare('SELECT tokens, updated_at FROM rate_buckets WHERE key_id = ?').get(keyId) as
        | { tokens: number; updated_at: number }
        | undefined;
      const { decision, tokens } = takeToken(row && { tokens: row.tokens, updatedAt: row.updated_at }, perMinute, now);
      this.rateDb
        .prepare(
          `INSERT INTO rate_buckets (key_id, tokens, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (key_id) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`,
        )
        .run(keyId, tokens, now);
      return decision;
    }).immediate();
  }

  async beginIdempotent(orgId: string, key: string, requestHash: string, now: number, holdMs: number): Promise<IdempotencyBegin> {
    return this.db.transaction((): IdempotencyBegin => {
      const inserted = this.db
        .prepare(
          `INSERT INTO idempotency_keys (org_id, key, request_hash, state, created_at, held_until)
           VALUES (?, ?, ?, 'in-flight', ?, ?) ON CONFLICT (org_id, key) DO NOTHING`,
        )
        .run(orgId, key, requestHash, now, now + holdMs).changes;
      if (inserted === 1) return { state: 'new' };
      const row = this.db
        .prepare('SELECT request_hash, state, status_code, body, artwork_id, held_until FROM idempotency_keys WHERE org_id = ? AND key = ?')
        .get(orgId, key) as {
        request_hash: string;
        state: string;
        status_code: number | null;
        body: string | null;
        artwork_id: string | null;
        held_until: number;
      };
      if (row.request_hash !== requestHash) return { state: 'mismatch' };
      if (row.state === 'done') return { state: 'done', statusCode: row.status_code ?? 200, body: row.body ?? '' };
      if (row.held_until > now) return { state: 'in-flight' };
      if (row.artwork_id !== null) return { state: 'recovered', artworkId: row.artwork_id };
      this.db.prepare('UPDATE idempotency_keys SET held_until = ? WHERE org_id = ? AND key = ?').run(now + holdMs, orgId, key);
      return { state: 'new' };
    }).immediate();
  }

  async finishIdempotent(orgId: string, key: string, statusCode: number, body: string): Promise<void> {
    this.db
      .prepare(`UPDATE idempotency_keys SET state = 'done', status_code = ?, body = ? WHERE org_id = ? AND key = ?`)
      .run(statusCode, body, orgId, key);
  }

  async abandonIdempotent(orgId: string, key: string): Promise<void> {
    this.db.prepare('DELETE FROM idempotency_keys WHERE org_id = ? AND key = ?').run(orgId, key);
  }

  async deleteIdempotencyKeysBefore(time: number): Promise<void> {
    this.db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?').run(time);
  }

  async getArtwork(orgId: string, id: string): Promise<Artwork | null> {
    const row = this.db.prepare('SELECT * FROM artworks WHERE id = ? AND org_id = ?').get(id, orgId) as
      | ArtworkRow
      | undefined;
    return row ? artworkFromRow(row) : null;
  }

  async getArtworkById(id: string): Promise<Artwork | null> {
    const row = this.db.prepare('SELECT * FROM artworks WHERE id = ?').get(id) as ArtworkRow | undefined;
    return row ? artworkFromRow(row) : null;
  }

  async listArtworks(orgId: string, offset: number, limit: number): Promise<Artwork[]> {
    const rows = this.db
      .prepare('SELECT * FROM artworks WHERE org_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?')
      .all(orgId, limit, offset) as ArtworkRow[];
    return rows.map(artworkFromRow);
  }

  async cancelArtwork(orgId: string, id: string, now: Date): Promise<CancelResult> {
    return this.db.transaction((): CancelResult => {
      const nowIso = now.toISOString();
      const placeholders = CANCELABLE.map(() => '?').join(', ');
      // duration counts only time spent processing, as for the other final statuses
      const changed = this.db
        .prepare(
          `UPDATE artworks SET status = 'canceled', updated_at = ?, completed_at = ?,
             duration = CASE WHEN started_at IS NULL THEN 0
                             ELSE max(0, (julianday(?) - julianday(started_at)) * 86400.0) END
           WHERE id = ? AND org_id = ? AND status IN (${placeholders})`,
        )
        .run(nowIso, nowIso, nowIso, id, orgId, ...CANCELABLE).changes;
      if (changed === 0) {
        const exists = this.db.prepare('SELECT 1 FROM artworks WHERE id = ? AND org_id = ?').get(id, orgId);
        return exists ? 'already-final' : 'not-found';
      }
      this.db.prepare('DELETE FROM jobs WHERE artwork_id = ?').run(id);
      enqueueWebhookDelivery(this.db, id, now);
      return 'canceled';
    }).immediate();
  }

  async listExpiredArtworks(now: Date, limit: number): Promise<string[]> {
    const rows = this.db
      .prepare('SELECT id FROM artworks WHERE expires_at <= ? ORDER BY expires_at LIMIT ?')
      .all(now.toISOString(), limit) as Array<{ id: string }>;
    return rows.map((row) => row.id);
  }

  async deleteArtwork(id: string): Promise<void> {
    this.db.prepare('DELETE FROM artworks WHERE id = ?').run(id);
  }

  async claimDueDeliveries(
    now: number,
    leaseMs: number,
    limit: number,
    slots: { perOrg: number; busy: Record<string, number> },
  ): Promise<WebhookDelivery[]> {
    return this.db.transaction(() => {
      // Each organization gets its free slots only (perOrg minus its deliveries in flight), oldest first.
      const rows = this.db
        .prepare(
          `SELECT id, artwork_id, org_id, url, attempts, status, next_attempt_at FROM (
             SELECT d.*, row_number() OVER (PARTITION BY org_id ORDER BY next_attempt_at) AS rank
             FROM webhook_deliveries d WHERE status = 'pending' AND next_attempt_at <= ?)
           WHERE rank <= ? - coalesce((SELECT value FROM json_each(?) WHERE key = org_id), 0)
           ORDER BY next_attempt_at LIMIT ?`,
        )
        .all(now, slots.perOrg, JSON.stringify(slots.busy), limit) as Array<{
        id: string;
        artwork_id: string;
        org_id: string;
        url: string;
        attempts: number;
        status: WebhookDelivery['status'];
        next_attempt_at: number;
      }>;
      // Pushing next_attempt_at forward is the lease: a dispatcher that dies mid-send frees it when it passes.
      const lease = this.db.prepare('UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?');
      for (const row of rows) lease.run(now + leaseMs, row.id);
      return rows.map((row) => ({
        id: row.id,
        artworkId: row.artwork_id,
        orgId: row.org_id,
        url: row.url,
        attempts: row.attempts,
        status: row.status,
        nextAttemptAt: now + leaseMs,
      }));
    }).immediate();
  }

  async recordDeliveryAttempt(
    attempt: WebhookAttempt,
    next: { status: WebhookDelivery['status']; nextAttemptAt: number },
  ): Promise<void> {
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, error, duration_ms)
           VALUES (?, ?, ?, ?, ?)`,
        )
        .run(attempt.deliveryId, attempt.attemptedAt, attempt.statusCode, attempt.error, attempt.durationMs);
      this.db
        .prepare(
          'UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?, attempts = attempts + 1 WHERE id = ?',
        )
        .run(next.status, next.nextAttemptAt, attempt.deliveryId);
    })();
  }

  async listDeliveryAttempts(artworkId: string): Promise<WebhookAttempt[]> {
    const rows = this.db
      .prepare(
        `SELECT a.delivery_id, a.attempted_at, a.status_code, a.error, a.duration_ms
         FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
         WHERE d.artwork_id = ? ORDER BY a.id`,
      )
      .all(artworkId) as Array<{
      delivery_id: string;
      attempted_at: string;
      status_code: number | null;
      error: string | null;
      duration_ms: number;
    }>;
    return rows.map((row) => ({
      deliveryId: row.delivery_id,
      attemptedAt: row.attempted_at,
      statusCode: row.status_code,
      error: row.error,
      durationMs: row.duration_ms,
    }));
  }

  async insertUpload(upload: Upload, quotaBytes: number): Promise<UploadInsertResult> {
    return this.db.transaction((): UploadInsertResult => {
      const { used } = this.db
        .prepare('SELECT coalesce(sum(bytes), 0) AS used FROM uploads WHERE org_id = ?')
        .get(upload.orgId) as { used: number };
      if (used + upload.bytes > quotaBytes) return 'over-quota';
      this.db
        .prepare('INSERT INTO uploads (id, org_id, content_type, bytes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(upload.id, upload.orgId, upload.contentType, upload.bytes, upload.createdAt, upload.expiresAt);
      return 'inserted';
    }).immediate();
  }

  async getUpload(id: string): Promise<Upload | null> {
    const row = this.db.prepare('SELECT * FROM uploads WHERE id = ?').get(id) as
      | { id: string; org_id: string; content_type: string; bytes: number; created_at: string; expires_at: string }
      | undefined;
    return row
      ? {
          id: row.id,
          orgId: row.org_id,
          contentType: row.content_type,
          bytes: row.bytes,
          createdAt: row.created_at,
          expiresAt: row.expires_at,
        }
      : null;
  }

  async listExpiredUploads(now: Date, limit: number): Promise<string[]> {
    const rows = this.db.prepare('SELECT id FROM uploads WHERE expires_at <= ? LIMIT ?').all(now.toISOString(), limit) as Array<{ id: string }>;
    return rows.map((row) => row.id);
  }

  async deleteUpload(id: string): Promise<void> {
    this.db.prepare('DELETE FROM uploads WHERE id = ?').run(id);
  }

  async getOrInitSetting(name: string, value: string): Promise<string> {
    this.db.prepare('INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)').run(name, value);
    return (this.db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as { value: string }).value;
  }

  async close(): Promise<void> {
    if (this.rateDb !== this.db && this.rateDb.open) this.rateDb.close();
    if (this.db.open) this.db.close();
  }
}
