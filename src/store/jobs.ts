import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from './database.js';
import { announceJob } from './job-notices.js';
import { prepared } from './prepared.js';

/**
 * Job rows: one per artwork waiting or running. A claim is a committed lease (lease_token, lease_until), so a
 * worker that dies loses the job once the lease runs out and the attempt counter survives the crash.
 */

export interface JobRow {
  jobId: number;
  artworkId: string;
  token: string;
  attempts: number;
}

/** Inserts the job and announces it to listening workers (heard when the caller's transaction commits). */
export async function enqueueJob(on: Db, artworkId: string, runAfter: number): Promise<void> {
  await on.db.insertInto('jobs').values({ artwork_id: artworkId, run_after: runAfter }).execute();
  await announceJob(on);
}

/**
 * Leases the next due job, fairly across organizations: the oldest ready job of the organization with the fewest
 * running jobs (unexpired leases), ties to the oldest job. Plain FIFO let one organization's backlog hold every
 * worker while the others waited behind it. The one per-dialect part of the queue: PostgreSQL locks the picked
 * row with FOR UPDATE SKIP LOCKED so claimers never wait on each other; SQLite has no row locks, the caller's
 * BEGIN IMMEDIATE already serializes claimers.
 */
export async function claimNextJob(on: Db, now: number, leaseMs: number): Promise<JobRow | null> {
  const token = randomUUID();
  const [row] = (await claimNext(on, { now, leaseUntil: now + leaseMs, token })).rows;
  return row ? { jobId: Number(row.id), artworkId: row.artwork_id, token, attempts: row.attempts } : null;
}

const claimNext = prepared(({ db, dialect }, { now, leaseUntil, token }: { now: number; leaseUntil: number; token: string }) => {
  const running = db
    .selectFrom('jobs as leased')
    .innerJoin('artworks as owner', 'owner.id', 'leased.artwork_id')
    .select((eb) => ['owner.org_id', eb.fn.countAll<number>().as('jobs')])
    .where('leased.lease_until', '>=', now)
    .groupBy('owner.org_id')
    .as('running');
  const next = db
    .selectFrom('jobs')
    .innerJoin('artworks', 'artworks.id', 'jobs.artwork_id')
    .leftJoin(running, 'running.org_id', 'artworks.org_id')
    .select('jobs.id')
    .where('jobs.run_after', '<=', now)
    .where((eb) => eb.or([eb('jobs.lease_until', 'is', null), eb('jobs.lease_until', '<', now)]))
    .orderBy((eb) => eb.fn.coalesce('running.jobs', sql<number>`0`))
    .orderBy('jobs.run_after')
    .orderBy('jobs.id')
    .limit(1)
    .$if(dialect === 'postgres', (query) => query.forUpdate('jobs').skipLocked());
  return db
    .updateTable('jobs')
    .set((eb) => ({ lease_token: token, lease_until: leaseUntil, attempts: eb('attempts', '+', 1) }))
    .where('id', '=', next)
    .returning(['id', 'artwork_id', 'attempts']);
});

export async function renewJob({ db }: Db, job: JobRow, now: number, leaseMs: number): Promise<boolean> {
  const result = await db
    .updateTable('jobs')
    .set({ lease_until: now + leaseMs })
    .where('id', '=', job.jobId)
    .where('lease_token', '=', job.token)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Removes the job if this claim still holds it; false when the lease was lost or the job is gone. */
export async function removeJob({ db }: Db, job: JobRow): Promise<boolean> {
  const result = await db.deleteFrom('jobs').where('id', '=', job.jobId).where('lease_token', '=', job.token).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

export async function removeJobOf({ db }: Db, artworkId: string): Promise<void> {
  await db.deleteFrom('jobs').where('artwork_id', '=', artworkId).execute();
}

/** Gives the job back without consuming an attempt, and announces it so that another worker takes it at once. */
export async function releaseJob(on: Db, job: JobRow): Promise<void> {
  const result = await on.db
    .updateTable('jobs')
    .set({
      lease_until: null,
      lease_token: null,
      attempts: sql<number>`CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END`,
    })
    .where('id', '=', job.jobId)
    .where('lease_token', '=', job.token)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 1) await announceJob(on);
}

export async function countJobs({ db }: Db): Promise<number> {
  const row = await db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}
