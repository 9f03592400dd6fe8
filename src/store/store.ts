import type { Artwork, ArtworkError, FaceReport, StoredResult } from '../artworks/artwork.js';
import type { ErrorCode } from '../errors.js';

/** A hierarchy: generator < manager < admin within one organization; operator above them, service-wide. */
export const SCOPES = ['generator', 'manager', 'admin', 'operator'] as const;
export type Scope = (typeof SCOPES)[number];
/** What an organization's admin may give its own keys: never operator. */
export const ORGANIZATION_SCOPES = ['generator', 'manager', 'admin'] as const;

export interface Organization {
  id: string;
  name: string;
  webhookSecret: string;
  /** The secret before the last rotation; deliveries are signed with it too until `previousWebhookSecretUntil`. */
  previousWebhookSecret: string | null;
  previousWebhookSecretUntil: string | null;
  /** Artworks it may still create; null = unlimited. */
  credits: number | null;
  /** Its own limits; null = the server's defaults. */
  rateLimitPerMinute: number | null;
  maxUnfinished: number | null;
  createdAt: string;
}

export interface Upload {
  id: string;
  orgId: string;
  contentType: string;
  /** Size of the stored image, counted against the organization's upload quota. */
  bytes: number;
  createdAt: string;
  expiresAt: string;
}

export type UploadInsertResult = 'inserted' | 'over-quota';

export type InsertResult = 'inserted' | 'no-credits' | 'too-many-unfinished';

export interface RateDecision {
  allowed: boolean;
  /** Whole requests left in the bucket after this one. */
  remaining: number;
  /** Seconds until a request is allowed again (0 when allowed). */
  retryAfter: number;
  /** Seconds until the bucket is full again. */
  reset: number;
}

export type IdempotencyBegin =
  | { state: 'new' }
  | { state: 'in-flight' }
  /** The first request stored this artwork and then never finished (its process died): replay the artwork. */
  | { state: 'recovered'; artworkId: string }
  | { state: 'mismatch' }
  | { state: 'done'; statusCode: number; body: string };

export interface ApiKey {
  id: string;
  orgId: string;
  name: string;
  scope: Scope;
  createdAt: string;
  revokedAt: string | null;
  /** When the key last authenticated, to the minute (see touchApiKey). */
  lastUsedAt: string | null;
}

/**
 * How finely a key's last use is recorded: at most one write a minute per key, so that reads stay reads.
 * touchApiKey writes only when the stored time is older; a caller holding a fresher one may skip the call.
 */
export const LAST_USE_RESOLUTION_MS = 60_000;

/** Whether a key last used at `lastUsedAt` (as read) is due a new record of its use at `now`. */
export function lastUseDue(lastUsedAt: string | null, now: Date): boolean {
  return lastUsedAt === null || Date.parse(lastUsedAt) < now.getTime() - LAST_USE_RESOLUTION_MS;
}

export interface NewApiKey {
  orgId: string;
  name: string;
  scope: Scope;
  secretHash: string;
}

export interface WebhookDelivery {
  id: string;
  artworkId: string;
  orgId: string;
  url: string;
  attempts: number;
  status: 'pending' | 'delivered' | 'failed';
  nextAttemptAt: number;
}

export interface WebhookAttempt {
  deliveryId: string;
  attemptedAt: string;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** What the job outcome writes onto the artwork. */
export type JobOutcome =
  | { status: 'succeeded'; results: StoredResult[]; faces: FaceReport[]; engine?: string; duration: number }
  | { status: 'failed'; error: ArtworkError & { code: ErrorCode }; duration: number };

export type CancelResult = 'canceled' | 'already-final' | 'not-found';

/**
 * Durable state of the service: organizations, keys, artworks, webhook deliveries and settings.
 * Async throughout so that a network database can implement it as well as SQLite.
 */
export interface Store {
  createOrganization(name: string, webhookSecret: string): Promise<Organization>;
  getOrganization(id: string): Promise<Organization | null>;
  countOrganizations(): Promise<number>;
  /** Makes `secret` current; the current one keeps signing alongside it until `previousValidUntil`. */
  rotateWebhookSecret(orgId: string, secret: string, previousValidUntil: Date): Promise<void>;

  createApiKey(key: NewApiKey): Promise<ApiKey>;
  findApiKeyBySecretHash(secretHash: string): Promise<ApiKey | null>;
  /** The key with its organization (one read for what every authenticated request needs); null when unknown. */
  findApiKeyWithOrganization(secretHash: string): Promise<{ key: ApiKey; org: Organization } | null>;
  listApiKeys(orgId: string): Promise<ApiKey[]>;
  /** Revokes the organization's key (idempotent); null when the organization has no such key. */
  revokeApiKey(orgId: string, keyId: string, now: Date): Promise<ApiKey | null>;
  /** Records that the key was used, at most once a minute (LAST_USE_RESOLUTION_MS; a write per request would cost every read a write). */
  touchApiKey(keyId: string, now: Date): Promise<void>;

  /**
   * Inserts the artwork and its job in one transaction, spending one credit, unless the organization has no
   * credits left or already has `maxUnfinished` artworks starting or processing. With `idempotencyKey`, the
   * key's record points at the artwork in the same transaction, so a crash after it cannot strand the key.
   */
  insertArtwork(artwork: Artwork, maxUnfinished?: number, idempotencyKey?: string): Promise<InsertResult>;
  /** Adds credits (`amount`), or makes them unlimited (`null`). */
  setCredits(orgId: string, change: { add: number } | { unlimited: true }): Promise<void>;
  setLimits(orgId: string, limits: { rateLimitPerMinute: number | null; maxUnfinished: number | null }): Promise<void>;

  /** Token bucket per organization, shared by its keys: `perMinute` requests a minute, bursts up to `perMinute`. */
  takeRateToken(orgId: string, perMinute: number, now: number): Promise<RateDecision>;

  /**
   * Stripe-style idempotency: records the key with the request's hash, held until `now + holdMs`, or tells what
   * the first request did. A hold that ran out (its process died) is recovered: the stored artwork is replayed,
   * or, when none was stored, the key is taken over by this request.
   */
  beginIdempotent(orgId: string, key: string, requestHash: string, now: number, holdMs: number): Promise<IdempotencyBegin>;
  finishIdempotent(orgId: string, key: string, statusCode: number, body: string): Promise<void>;
  abandonIdempotent(orgId: string, key: string): Promise<void>;
  deleteIdempotencyKeysBefore(time: number): Promise<void>;
  getArtwork(orgId: string, id: string): Promise<Artwork | null>;
  getArtworkById(id: string): Promise<Artwork | null>;
  listArtworks(orgId: string, offset: number, limit: number): Promise<Artwork[]>;
  cancelArtwork(orgId: string, id: string, now: Date): Promise<CancelResult>;
  /** Ids of artworks whose retention ended before `now`. */
  listExpiredArtworks(now: Date, limit: number): Promise<string[]>;
  deleteArtwork(id: string): Promise<void>;

  /**
   * Webhook deliveries due at `now`, leased for `leaseMs` so that one dispatcher sends each: at most `limit`,
   * and per organization at most `slots.perOrg` minus what `slots.busy` says it already has in flight.
   */
  claimDueDeliveries(
    now: number,
    leaseMs: number,
    limit: number,
    slots: { perOrg: number; busy: Record<string, number> },
  ): Promise<WebhookDelivery[]>;
  recordDeliveryAttempt(attempt: WebhookAttempt, next: { status: WebhookDelivery['status']; nextAttemptAt: number }): Promise<void>;
  listDeliveryAttempts(artworkId: string): Promise<WebhookAttempt[]>;

  /** An uploaded image's record (its bytes live in the blob store under `uploads/<id>/`). */
  /** Stores the record unless the organization's live uploads plus this one would exceed `quotaBytes`. */
  insertUpload(upload: Upload, quotaBytes: number): Promise<UploadInsertResult>;
  /** Bytes of the organization's live uploads (what insertUpload counts against the quota). */
  uploadBytes(orgId: string): Promise<number>;
  getUpload(id: string): Promise<Upload | null>;
  /** Ids of uploads whose retention ended before `now`; deleting removes the record. */
  listExpiredUploads(now: Date, limit: number): Promise<string[]>;
  deleteUpload(id: string): Promise<void>;

  /** Returns the stored value, storing `value` first if there was none (so concurrent processes agree). */
  getOrInitSetting(name: string, value: string): Promise<string>;

  close(): Promise<void>;
}
