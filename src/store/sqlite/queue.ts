import { randomUUID } from 'node:crypto';
import { statusesLeadingTo } from '../../artworks/status.js';
import { CRASH_LOOP_OUTCOME, MAX_JOB_ATTEMPTS, type ClaimedJob, type JobQueue } from '../../jobs/queue.js';
import type { JobOutcome } from '../store.js';
import type { Db } from './database.js';
import { enqueueWebhookDelivery } from './webhook-enqueue.js';

const PROCESSABLE = statusesLeadingTo('processing');

/**
 * The job queue in the same SQLite file as the artworks, so a job and its artwork change in one transaction.
 * Claiming is an UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING under an immediate transaction, which
 * SQLite serializes across processes.
 */
export class SqliteQueue implements JobQueue {
  constructor(private readonly db: Db) {}

  async claim(now: number, leaseMs: number): Promise<ClaimedJob | null> {
    for (;;) {
      const claimed = this.db.transaction((): ClaimedJob | 'exhausted' | null => {
        const token = randomUUID();
        const row = this.db
          .prepare(
            `UPDATE jobs SET lease_token = ?, lease_until = ?, attempts = attempts + 1
             WHERE id = (SELECT id FROM jobs WHERE run_after <= ? AND (lease_until IS NULL OR lease_until < ?)
                         ORDER BY run_after, id LIMIT 1)
             RETURNING id, artwork_id, attempts`,
          )
          .get(token, now + leaseMs, now, now) as { id: number; artwork_id: string; attempts: number } | undefined;
        if (!row) return null;
        const job: ClaimedJob = { jobId: row.id, artworkId: row.artwork_id, token, attempts: row.attempts };
        if (row.attempts > MAX_JOB_ATTEMPTS) {
          this.finishInTransaction(job, CRASH_LOOP_OUTCOME, new Date(now));
          return 'exhausted';
        }
        const iso = new Date(now).toISOString();
        const placeholders = PROCESSABLE.map(() => '?').join(', ');
        this.db
          .prepare(
            `UPDATE artworks SET status = 'processing', updated_at = ?, started_at = coalesce(started_at, ?)
             WHERE id = ? AND status IN (${placeholders})`,
          )
          .run(iso, iso, job.artworkId, ...PROCESSABLE);
        return job;
      }).immediate();
      if (claimed !== 'exhausted') return claimed;
    }
  }

  async renew(job: ClaimedJob, now: number, leaseMs: number): Promise<boolean> {
    return (
      this.db
        .prepare('UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_token = ?')
        .run(now + leaseMs, job.jobId, job.token).changes === 1
    );
  }

  async finish(job: ClaimedJob, outcome: JobOutcome, now: Date): Promise<boolean> {
    return this.db.transaction(() => this.finishInTransaction(job, outcome, now)).immediate();
  }

  private finishInTransaction(job: ClaimedJob, outcome: JobOutcome, now: Date): boolean {
    const removed = this.db.prepare('DELETE FROM jobs WHERE id = ? AND lease_token = ?').run(job.jobId, job.token);
    if (removed.changes === 0) return false;
    const iso = now.toISOString();
    const placeholders = statusesLeadingTo(outcome.status).map(() => '?').join(', ');
    const changed = this.db
      .prepare(
        `UPDATE artworks SET status = ?, updated_at = ?, completed_at = ?, duration = ?, results = ?, faces = ?, engine = ?, error = ?
         WHERE id = ? AND status IN (${placeholders})`,
      )
      .run(
        outcome.status,
        iso,
        iso,
        outcome.duration,
        JSON.stringify(outcome.status === 'succeeded' ? outcome.results : []),
        outcome.status === 'succeeded' ? JSON.stringify(outcome.faces) : null,
        outcome.status === 'succeeded' ? (outcome.engine ?? null) : null,
        outcome.status === 'failed' ? JSON.stringify(outcome.error) : null,
        job.artworkId,
        ...statusesLeadingTo(outcome.status),
      ).changes;
    if (changed === 1) enqueueWebhookDelivery(this.db, job.artworkId, now);
    return changed === 1;
  }

  async release(job: ClaimedJob): Promise<void> {
    this.db
      .prepare(
        'UPDATE jobs SET lease_until = NULL, lease_token = NULL, attempts = max(0, attempts - 1) WHERE id = ? AND lease_token = ?',
      )
      .run(job.jobId, job.token);
  }

  async depth(): Promise<number> {
    return (this.db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n;
  }
}
