import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { LAST_USE_RESOLUTION_MS, type ApiKey, type NewApiKey, type Organization, type Scope } from './store.js';
import { iso, isoOrNull, isUuid } from './columns.js';
import type { ApiKeysTable, Db, OrganizationsTable } from './database.js';
import { prepared } from './prepared.js';
import type { Selectable } from 'kysely';

/** Organizations with their API keys, credits and per-organization limits. */

function organizationFromRow(row: Selectable<OrganizationsTable>): Organization {
  return {
    id: row.id,
    name: row.name,
    webhookSecret: row.webhook_secret,
    previousWebhookSecret: row.previous_webhook_secret,
    previousWebhookSecretUntil: isoOrNull(row.previous_webhook_secret_until),
    credits: row.credits === null ? null : Number(row.credits),
    rateLimitPerMinute: row.rate_limit_per_minute,
    maxUnfinished: row.max_unfinished,
    createdAt: iso(row.created_at),
  };
}

const KEY_COLUMNS = ['id', 'org_id', 'name', 'scope', 'created_at', 'revoked_at', 'last_used_at'] as const;

function apiKeyFromRow(row: Pick<Selectable<ApiKeysTable>, (typeof KEY_COLUMNS)[number]>): ApiKey {
  return {
    id: row.id,
    orgId: row.org_id,
    name: row.name,
    scope: row.scope as Scope,
    createdAt: iso(row.created_at),
    revokedAt: isoOrNull(row.revoked_at),
    lastUsedAt: isoOrNull(row.last_used_at),
  };
}

/**
 * Serializes the organization's writes within a transaction, so a count and the write that depends on it
 * (unfinished artworks, credits, upload bytes) agree. PostgreSQL: a row lock. SQLite: nothing to do, BEGIN
 * IMMEDIATE already holds the database's write lock.
 */
export async function lockOrganization(tx: Db, orgId: string): Promise<void> {
  if (tx.dialect === 'postgres') {
    await tx.db.selectFrom('organizations').select('id').where('id', '=', orgId).forUpdate().execute();
  }
}

export async function createOrganization({ db }: Db, name: string, webhookSecret: string, now: Date): Promise<Organization> {
  const row = await db
    .insertInto('organizations')
    .values({ id: randomUUID(), name, webhook_secret: webhookSecret, created_at: now.toISOString() })
    .returningAll()
    .executeTakeFirstOrThrow();
  return organizationFromRow(row);
}

export async function getOrganization({ db }: Db, id: string): Promise<Organization | null> {
  if (!isUuid(id)) return null;
  const row = await db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? organizationFromRow(row) : null;
}

export async function countOrganizations({ db }: Db): Promise<number> {
  const row = await db.selectFrom('organizations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function rotateWebhookSecret({ db }: Db, orgId: string, secret: string, previousValidUntil: Date): Promise<void> {
  if (!isUuid(orgId)) return;
  await db
    .updateTable('organizations')
    .set((eb) => ({
      previous_webhook_secret: eb.ref('webhook_secret'),
      previous_webhook_secret_until: previousValidUntil.toISOString(),
      webhook_secret: secret,
    }))
    .where('id', '=', orgId)
    .execute();
}

/**
 * Whole credits left: null = unlimited (no row also reads as null: the caller checked the organization). Call
 * inside a write transaction: on PostgreSQL it locks the organization row (see lockOrganization) in the same
 * round trip.
 */
export async function creditsOf(tx: Db, orgId: string): Promise<number | null> {
  const row = await tx.db
    .selectFrom('organizations')
    .select('credits')
    .where('id', '=', orgId)
    .$if(tx.dialect === 'postgres', (query) => query.forUpdate())
    .executeTakeFirst();
  return row?.credits === undefined || row.credits === null ? null : Number(row.credits);
}

export async function spendCredit({ db }: Db, orgId: string): Promise<void> {
  await db
    .updateTable('organizations')
    .set((eb) => ({ credits: eb('credits', '-', 1) }))
    .where('id', '=', orgId)
    .where('credits', '>', 0)
    .execute();
}

/** Adds credits (never below zero), or makes them unlimited (`null`). */
export async function setCredits({ db }: Db, orgId: string, change: { add: number } | { unlimited: true }): Promise<void> {
  if (!isUuid(orgId)) return;
  const credits =
    'unlimited' in change
      ? null
      : sql<number>`CASE WHEN coalesce(credits, 0) + ${change.add} < 0 THEN 0 ELSE coalesce(credits, 0) + ${change.add} END`;
  await db.updateTable('organizations').set({ credits }).where('id', '=', orgId).execute();
}

export async function setLimits(
  { db }: Db,
  orgId: string,
  limits: { rateLimitPerMinute: number | null; maxUnfinished: number | null },
): Promise<void> {
  if (!isUuid(orgId)) return;
  await db
    .updateTable('organizations')
    .set({ rate_limit_per_minute: limits.rateLimitPerMinute, max_unfinished: limits.maxUnfinished })
    .where('id', '=', orgId)
    .execute();
}

export async function createApiKey({ db }: Db, key: NewApiKey, now: Date): Promise<ApiKey> {
  const row = await db
    .insertInto('api_keys')
    .values({
      id: randomUUID(),
      org_id: key.orgId,
      name: key.name,
      scope: key.scope,
      secret_hash: key.secretHash,
      created_at: now.toISOString(),
    })
    .returning(KEY_COLUMNS)
    .executeTakeFirstOrThrow();
  return apiKeyFromRow(row);
}

export async function findApiKeyBySecretHash({ db }: Db, secretHash: string): Promise<ApiKey | null> {
  const row = await db.selectFrom('api_keys').select(KEY_COLUMNS).where('secret_hash', '=', secretHash).executeTakeFirst();
  return row ? apiKeyFromRow(row) : null;
}

const keyWithOrganization = prepared(({ db }, { secretHash }: { secretHash: string }) =>
  db
    .selectFrom('api_keys as key')
    .innerJoin('organizations as org', 'org.id', 'key.org_id')
    .selectAll('org')
    .select(['key.id as key_id', 'key.name as key_name', 'key.scope', 'key.created_at as key_created_at', 'key.revoked_at', 'key.last_used_at'])
    .where('key.secret_hash', '=', secretHash),
);

/** The key and its organization in one statement: every authenticated request needs both. */
export async function findApiKeyWithOrganization(on: Db, secretHash: string): Promise<{ key: ApiKey; org: Organization } | null> {
  const [row] = (await keyWithOrganization(on, { secretHash })).rows;
  if (!row) return null;
  const key = apiKeyFromRow({
    id: row.key_id,
    org_id: row.id,
    name: row.key_name,
    scope: row.scope,
    created_at: row.key_created_at,
    revoked_at: row.revoked_at,
    last_used_at: row.last_used_at,
  });
  return { key, org: organizationFromRow(row) };
}

export async function listApiKeys({ db, dialect }: Db, orgId: string): Promise<ApiKey[]> {
  if (!isUuid(orgId)) return [];
  const rows = await db
    .selectFrom('api_keys')
    .select(KEY_COLUMNS)
    .where('org_id', '=', orgId)
    .orderBy('created_at')
    // ties (keys created in the same millisecond) in insertion order where the dialect keeps one
    .orderBy(dialect === 'sqlite' ? sql`rowid` : sql`id`)
    .execute();
  return rows.map(apiKeyFromRow);
}

/** Revokes the organization's key (idempotent: the first revocation time stays); null when it has no such key. */
export async function revokeApiKey({ db }: Db, orgId: string, keyId: string, now: Date): Promise<ApiKey | null> {
  if (!isUuid(orgId) || !isUuid(keyId)) return null;
  const row = await db
    .updateTable('api_keys')
    .set({ revoked_at: sql<string>`coalesce(revoked_at, ${now.toISOString()})` })
    .where('id', '=', keyId)
    .where('org_id', '=', orgId)
    .returning(KEY_COLUMNS)
    .executeTakeFirst();
  return row ? apiKeyFromRow(row) : null;
}

/** Records that the key was used, at most once a minute (a write per request would cost every read a write). */
export async function touchApiKey({ db }: Db, keyId: string, now: Date): Promise<void> {
  if (!isUuid(keyId)) return;
  const minuteAgo = new Date(now.getTime() - LAST_USE_RESOLUTION_MS).toISOString();
  await db
    .updateTable('api_keys')
    .set({ last_used_at: now.toISOString() })
    .where('id', '=', keyId)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', minuteAgo)]))
    .execute();
}
