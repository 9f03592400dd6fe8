import { randomUUID } from 'node:crypto';
import { statusesLeadingTo } from '../../artworks/status.js';
import { CRASH_LOOP_OUTCOME, MAX_JOB_ATTEMPTS, type ClaimedJob, type JobQueue } from '../../jobs/queue.js';
import type { JobOutcome } from '../store.js';
import { transaction, type Client, type Pool } from './database.js';
import { enqueueWebhookDelivery } from './webhook-enqueue.js';

const PROCESSABLE = statusesLeadingTo('processing');

/**
 * The job queue in PostgreSQL, the same shape as the SQLite one: a claim is a committed lease
 * (FOR UPDATE SKIP LOCKED picks a free row without waiting on other claimers), renewed by a heartbeat, and
 * finishing is conditional on the lease token.
 *
 * Why not pg-boss or graphile-worker: measured here, graphile-worker keeps a crashed worker's job locked for
 * 4 hours, and pg-boss needs its monitor tuned to get near the 10 s recovery this gives; and a lease held by
 * an open transaction would roll back the attempt counter with the crash, so a job that kills its worker would
 * loop forever. A committed lease keeps the count.
 */
export class PostgresQueue implements JobQueue {
  constructor(private readonly pool: Pool) {}

  async claim(now: number, leaseMs: number): Promise<ClaimedJob | null> {
    for (;;) {
      const claimed = await transaction(this.pool, async (client): Promise<ClaimedJob | 'exhausted' | null> => {
        const token = randomUUID();
        const { rows } = await client.query<{ id: number; artwork_id: string; attempts: number }>(
          `UPDATE jobs SET lease_token = $1, lease_until = $2, attempts = attempts + 1
           WHERE id = (SELECT id FROM jobs WHERE run_after <= $3 AND (lease_until IS NULL OR lease_until < $3)
                       ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED)
           RETURNING id, artwork_id, attempts`,
          [token, now + leaseMs, now],
        );
        const row = rows[0];
        if (!row) return null;
        const job: ClaimedJob = { jobId: row.id, artworkId: row.artwork_id, token, attempts: row.attempts };
        if (row.attempts > MAX_JOB_ATTEMPTS) {
          await this.finishIn(client, job, CRASH_LOOP_OUTCOME, new Date(now));
          return 'exhausted';
        }
        await client.query(
          `UPDATE artworks SET status = 'processing', updated_at = $1, started_at = coalesce(started_at, $1)
           WHERE id = $2 AND status = ANY($3)`,
          [new Date(now), job.artworkId, PROCESSABLE],
        );
        return job;
      });
      if (claimed !== 'exhausted') return claimed;
    }
  }

  async renew(job: ClaimedJob, now: number, leaseMs: number): Promise<boolean> {
    const result = await this.pool.query('UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_token = $3', [
      now + leaseMs,
      job.jobId,
      job.token,
    ]);
    return result.rowCount === 1;
  }

  async finish(job: ClaimedJob, outcome: JobOutcome, now: Date): Promise<boolean> {
    return transaction(this.pool, (client) => this.finishIn(client, job, outcome, now));
  }

  private async finishIn(client: Client, job: ClaimedJob, outcome: JobOutcome, now: Date): Promise<boolean> {
    const removed = await client.query('DELETE FROM jobs WHERE id = $1 AND lease_token = $2', [job.jobId, job.token]);
    if (removed.rowCount === 0) return false;
    const changed = await client.query(
      `UPDATE artworks SET status = $1, updated_at = $2, completed_at = $2, duration = $3, results = $4, faces = $5,
         error = $6, engine = $9
       WHERE id = $7 AND status = ANY($8)`,
      [
        outcome.status,
        now,
        outcome.duration,
        JSON.stringify(outcome.status === 'succeeded' ? outcome.results : []),
        outcome.status === 'succeeded' ? JSON.stringify(outcome.faces) : null,
        outcome.status === 'failed' ? JSON.stringify(outcome.error) : null,
        job.artworkId,
        statusesLeadingTo(outcome.status),
        outcome.status === 'succeeded' ? (outcome.engine ?? null) : null,
      ],
    );
    if (changed.rowCount === 1) await enqueueWebhookDelivery(client, job.artworkId, now);
    return changed.rowCount === 1;
  }

  async release(job: ClaimedJob): Promise<void> {
    await this.pool.query(
      `UPDATE jobs SET lease_until = NULL, lease_token = NULL, attempts = greatest(0, attempts - 1)
       WHERE id = $1 AND lease_token = $2`,
      [job.jobId, job.token],
    );
  }

  async depth(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM jobs');
    return rows[0]?.n ?? 0;
  }
}
