import type { Upload, UploadInsertResult } from './store.js';
import { iso, isUuid } from './columns.js';
import type { Db } from './database.js';
import { lockOrganization } from './organizations.js';
import { overUploadQuota } from '../limits.js';

/** Uploaded images' records (their bytes live in the blob store under `uploads/<id>/`). */

/** Bytes of the organization's live uploads. */
export async function uploadBytes({ db }: Db, orgId: string): Promise<number> {
  const { used } = await db
    .selectFrom('uploads')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('bytes'), eb.lit(0)).as('used'))
    .where('org_id', '=', orgId)
    .executeTakeFirstOrThrow();
  // PostgreSQL's sum of a bigint is a numeric, which arrives as text
  return Number(used);
}

/** Call inside a write transaction: the quota check and the insert must not interleave with another upload. */
export async function insertUpload(tx: Db, upload: Upload, quotaBytes: number): Promise<UploadInsertResult> {
  await lockOrganization(tx, upload.orgId);
  if (overUploadQuota(await uploadBytes(tx, upload.orgId), upload.bytes, quotaBytes)) return 'over-quota';
  await tx.db
    .insertInto('uploads')
    .values({
      id: upload.id,
      org_id: upload.orgId,
      content_type: upload.contentType,
      bytes: upload.bytes,
      created_at: upload.createdAt,
      expires_at: upload.expiresAt,
    })
    .execute();
  return 'inserted';
}

export async function getUpload({ db }: Db, id: string): Promise<Upload | null> {
  if (!isUuid(id)) return null;
  const row = await db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
  return row
    ? {
        id: row.id,
        orgId: row.org_id,
        contentType: row.content_type,
        bytes: Number(row.bytes),
        createdAt: iso(row.created_at),
        expiresAt: iso(row.expires_at),
      }
    : null;
}

export async function listExpiredUploads({ db }: Db, now: Date, limit: number): Promise<string[]> {
  const rows = await db.selectFrom('uploads').select('id').where('expires_at', '<=', now.toISOString()).limit(limit).execute();
  return rows.map((row) => row.id);
}

export async function deleteUpload({ db }: Db, id: string): Promise<void> {
  if (!isUuid(id)) return;
  await db.deleteFrom('uploads').where('id', '=', id).execute();
}
