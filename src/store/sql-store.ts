import type { Artwork } from '../artworks/artwork.js';
import { cancelArtwork, createArtwork } from '../artworks/lifecycle.js';
import * as artworks from './artworks.js';
import type { Db } from './database.js';
import * as idempotency from './idempotency.js';
import * as organizations from './organizations.js';
import * as outbox from './outbox.js';
import { takeRateToken } from './rate-limits.js';
import * as settings from './settings.js';
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
} from './store.js';
import { inWriteTransaction } from './transaction.js';
import * as uploads from './uploads.js';

/**
 * The `Store` the rest of the service uses, over the repositories (one module per responsibility, SQL written
 * once through Kysely) and the rules above them (artworks/lifecycle.ts). It only routes and opens transactions.
 */
export class SqlStore implements Store {
  /** `rates` holds the rate-limit buckets: SQLite's separate file, or the main database. */
  constructor(
    private readonly db: Db,
    private readonly rates: Db = db,
  ) {}

  createOrganization(name: string, webhookSecret: string): Promise<Organization> {
    return organizations.createOrganization(this.db, name, webhookSecret, new Date());
  }
  getOrganization(id: string): Promise<Organization | null> {
    return organizations.getOrganization(this.db, id);
  }
  countOrganizations(): Promise<number> {
    return organizations.countOrganizations(this.db);
  }
  rotateWebhookSecret(orgId: string, secret: string, previousValidUntil: Date): Promise<void> {
    return organizations.rotateWebhookSecret(this.db, orgId, secret, previousValidUntil);
  }

  createApiKey(key: NewApiKey): Promise<ApiKey> {
    return organizations.createApiKey(this.db, key, new Date());
  }
  findApiKeyBySecretHash(secretHash: string): Promise<ApiKey | null> {
    return organizations.findApiKeyBySecretHash(this.db, secretHash);
  }
  findApiKeyWithOrganization(secretHash: string): Promise<{ key: ApiKey; org: Organization } | null> {
    return organizations.findApiKeyWithOrganization(this.db, secretHash);
  }
  listApiKeys(orgId: string): Promise<ApiKey[]> {
    return organizations.listApiKeys(this.db, orgId);
  }
  revokeApiKey(orgId: string, keyId: string, now: Date): Promise<ApiKey | null> {
    return organizations.revokeApiKey(this.db, orgId, keyId, now);
  }
  touchApiKey(keyId: string, now: Date): Promise<void> {
    return organizations.touchApiKey(this.db, keyId, now);
  }

  insertArtwork(artwork: Artwork, maxUnfinished?: number, idempotencyKey?: string): Promise<InsertResult> {
    return createArtwork(this.db, artwork, maxUnfinished, idempotencyKey);
  }
  setCredits(orgId: string, change: { add: number } | { unlimited: true }): Promise<void> {
    return organizations.setCredits(this.db, orgId, change);
  }
  setLimits(orgId: string, limits: { rateLimitPerMinute: number | null; maxUnfinished: number | null }): Promise<void> {
    return organizations.setLimits(this.db, orgId, limits);
  }

  takeRateToken(orgId: string, perMinute: number, now: number): Promise<RateDecision> {
    return takeRateToken(this.rates, orgId, perMinute, now);
  }

  beginIdempotent(orgId: string, key: string, requestHash: string, now: number, holdMs: number): Promise<IdempotencyBegin> {
    return inWriteTransaction(this.db, (tx) => idempotency.beginIdempotent(tx, orgId, key, requestHash, now, holdMs));
  }
  finishIdempotent(orgId: string, key: string, statusCode: number, body: string): Promise<void> {
    return idempotency.finishIdempotent(this.db, orgId, key, statusCode, body);
  }
  abandonIdempotent(orgId: string, key: string): Promise<void> {
    return idempotency.abandonIdempotent(this.db, orgId, key);
  }
  deleteIdempotencyKeysBefore(time: number): Promise<void> {
    return idempotency.deleteIdempotencyKeysBefore(this.db, time);
  }

  getArtwork(orgId: string, id: string): Promise<Artwork | null> {
    return artworks.getArtwork(this.db, id, orgId);
  }
  getArtworkById(id: string): Promise<Artwork | null> {
    return artworks.getArtwork(this.db, id);
  }
  listArtworks(orgId: string, offset: number, limit: number): Promise<Artwork[]> {
    return artworks.listArtworks(this.db, orgId, offset, limit);
  }
  cancelArtwork(orgId: string, id: string, now: Date): Promise<CancelResult> {
    return cancelArtwork(this.db, orgId, id, now);
  }
  listExpiredArtworks(now: Date, limit: number): Promise<string[]> {
    return artworks.listExpiredArtworks(this.db, now, limit);
  }
  deleteArtwork(id: string): Promise<void> {
    return artworks.deleteArtwork(this.db, id);
  }

  claimDueDeliveries(
    now: number,
    leaseMs: number,
    limit: number,
    slots: { perOrg: number; busy: Record<string, number> },
  ): Promise<WebhookDelivery[]> {
    return inWriteTransaction(this.db, (tx) => outbox.claimDueDeliveries(tx, now, leaseMs, limit, slots));
  }
  recordDeliveryAttempt(attempt: WebhookAttempt, next: { status: WebhookDelivery['status']; nextAttemptAt: number }): Promise<void> {
    return inWriteTransaction(this.db, (tx) => outbox.recordDeliveryAttempt(tx, attempt, next));
  }
  listDeliveryAttempts(artworkId: string): Promise<WebhookAttempt[]> {
    return outbox.listDeliveryAttempts(this.db, artworkId);
  }

  insertUpload(upload: Upload, quotaBytes: number): Promise<UploadInsertResult> {
    return inWriteTransaction(this.db, (tx) => uploads.insertUpload(tx, upload, quotaBytes));
  }
  uploadBytes(orgId: string): Promise<number> {
    return uploads.uploadBytes(this.db, orgId);
  }
  getUpload(id: string): Promise<Upload | null> {
    return uploads.getUpload(this.db, id);
  }
  listExpiredUploads(now: Date, limit: number): Promise<string[]> {
    return uploads.listExpiredUploads(this.db, now, limit);
  }
  deleteUpload(id: string): Promise<void> {
    return uploads.deleteUpload(this.db, id);
  }

  getOrInitSetting(name: string, value: string): Promise<string> {
    return settings.getOrInitSetting(this.db, name, value);
  }

  async close(): Promise<void> {
    if (this.rates !== this.db) await this.rates.db.destroy();
    await this.db.db.destroy();
  }
}
