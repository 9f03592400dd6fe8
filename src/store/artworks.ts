import { sql, type Selectable } from 'kysely';
import type { Artwork, ArtworkStatus } from '../artworks/artwork.js';
import type { JobOutcome } from './store.js';
import { iso, isoOrNull, isUuid, json, jsonOrNull } from './columns.js';
import type { ArtworksTable, Db } from './database.js';
import { prepared } from './prepared.js';

/** Artworks: insert, read, list, status changes and retention. Which change is allowed is the caller's rule. */

function artworkFromRow(row: Selectable<ArtworksTable>): Artwork {
  return {
    id: row.id,
    orgId: row.org_id,
    status: row.status as ArtworkStatus,
    parameters: json<Artwork['parameters']>(row.parameters),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    startedAt: isoOrNull(row.started_at),
    completedAt: isoOrNull(row.completed_at),
    duration: row.duration,
    results: json<Artwork['results']>(row.results),
    faces: jsonOrNull<NonNullable<Artwork['faces']>>(row.faces),
    engine: row.engine,
    error: jsonOrNull<NonNullable<Artwork['error']>>(row.error),
    expiresAt: iso(row.expires_at),
  };
}

export async function insertArtwork({ db }: Db, artwork: Artwork): Promise<void> {
  await db
    .insertInto('artworks')
    .values({
      id: artwork.id,
      org_id: artwork.orgId,
      status: artwork.status,
      parameters: JSON.stringify(artwork.parameters),
      created_at: artwork.createdAt,
      updated_at: artwork.updatedAt,
      duration: 0,
      results: '[]',
      expires_at: artwork.expiresAt,
    })
    .execute();
}

export async function countUnfinished({ db }: Db, orgId: string, unfinished: readonly ArtworkStatus[]): Promise<number> {
  const row = await db
    .selectFrom('artworks')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('org_id', '=', orgId)
    .where('status', 'in', unfinished)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

const artworkById = prepared(({ db }, { id }: { id: string }) => db.selectFrom('artworks').selectAll().where('id', '=', id));
const artworkOfOrganization = prepared(({ db }, { id, orgId }: { id: string; orgId: string }) =>
  db.selectFrom('artworks').selectAll().where('id', '=', id).where('org_id', '=', orgId),
);

/** The artwork, only within its organization when `orgId` is given. */
export async function getArtwork(on: Db, id: string, orgId?: string): Promise<Artwork | null> {
  if (!isUuid(id) || (orgId !== undefined && !isUuid(orgId))) return null;
  const { rows } = await (orgId === undefined ? artworkById(on, { id }) : artworkOfOrganization(on, { id, orgId }));
  return rows[0] ? artworkFromRow(rows[0]) : null;
}

/** Newest first; artworks created in the same millisecond in reverse insertion order. */
export async function listArtworks({ db, dialect }: Db, orgId: string, offset: number, limit: number): Promise<Artwork[]> {
  if (!isUuid(orgId)) return [];
  const rows = await db
    .selectFrom('artworks')
    .selectAll()
    .where('org_id', '=', orgId)
    .orderBy('created_at', 'desc')
    // the insertion order: SQLite's rowid, PostgreSQL's seq column
    .orderBy(dialect === 'sqlite' ? sql`rowid` : sql`seq`, 'desc')
    .limit(limit)
    .offset(offset)
    .execute();
  return rows.map(artworkFromRow);
}

/** Marks the artwork processing (first start only sets started_at), if its status is one of `from`. */
export async function markProcessing({ db }: Db, id: string, from: readonly ArtworkStatus[], now: Date): Promise<void> {
  const at = now.toISOString();
  await db
    .updateTable('artworks')
    .set({ status: 'processing', updated_at: at, started_at: sql<string>`coalesce(started_at, ${at})` })
    .where('id', '=', id)
    .where('status', 'in', from)
    .execute();
}

/**
 * Writes a final outcome, if the artwork's status is one of `from`. Returns what the outbox needs (its
 * organization and webhook) when it changed, null when it did not.
 */
export async function writeOutcome(
  { db }: Db,
  id: string,
  outcome: JobOutcome,
  from: readonly ArtworkStatus[],
  now: Date,
): Promise<{ orgId: string; webhook: string | undefined } | null> {
  const at = now.toISOString();
  const row = await db
    .updateTable('artworks')
    .set({
      status: outcome.status,
      updated_at: at,
      completed_at: at,
      duration: outcome.duration,
      results: JSON.stringify(outcome.status === 'succeeded' ? outcome.results : []),
      faces: outcome.status === 'succeeded' ? JSON.stringify(outcome.faces) : null,
      engine: outcome.status === 'succeeded' ? (outcome.engine ?? null) : null,
      error: outcome.status === 'failed' ? JSON.stringify(outcome.error) : null,
    })
    .where('id', '=', id)
    .where('status', 'in', from)
    .returning(['org_id', 'parameters'])
    .executeTakeFirst();
  return row ? { orgId: row.org_id, webhook: json<Artwork['parameters']>(row.parameters).webhook } : null;
}

/**
 * Marks the organization's artwork canceled, if its status is one of `from`; its duration counts only the time
 * it spent processing, as for the other final statuses. Call inside a write transaction.
 */
export async function writeCanceled(
  tx: Db,
  orgId: string,
  id: string,
  from: readonly ArtworkStatus[],
  now: Date,
): Promise<{ orgId: string; webhook: string | undefined } | 'already-final' | 'not-found'> {
  const current = await getArtwork(tx, id, orgId);
  if (!current) return 'not-found';
  if (!from.includes(current.status)) return 'already-final';
  const at = now.toISOString();
  const duration = current.startedAt === null ? 0 : Math.max(0, (now.getTime() - Date.parse(current.startedAt)) / 1000);
  const changed = await tx.db
    .updateTable('artworks')
    .set({ status: 'canceled', updated_at: at, completed_at: at, duration })
    .where('id', '=', id)
    .where('status', 'in', from)
    .executeTakeFirst();
  if (Number(changed.numUpdatedRows) === 0) return 'already-final';
  return { orgId: current.orgId, webhook: current.parameters.webhook };
}

/** Ids of artworks whose retention ended before `now`, oldest first. */
export async function listExpiredArtworks({ db }: Db, now: Date, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('artworks')
    .select('id')
    .where('expires_at', '<=', now.toISOString())
    .orderBy('expires_at')
    .limit(limit)
    .execute();
  return rows.map((row) => row.id);
}

/** Deletes the artwork; its job, deliveries and their attempts go with it (ON DELETE CASCADE). */
export async function deleteArtwork({ db }: Db, id: string): Promise<void> {
  if (!isUuid(id)) return;
  await db.deleteFrom('artworks').where('id', '=', id).execute();
}
