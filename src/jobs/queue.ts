import { finishArtwork, startArtwork } from '../artworks/lifecycle.js';
import { MAX_JOB_ATTEMPTS } from '../limits.js';
import type { Db } from '../store/database.js';
import * as jobs from '../store/jobs.js';
import type { JobOutcome } from '../store/store.js';
import { inWriteTransaction } from '../store/transaction.js';

export interface ClaimedJob {
  jobId: number;
  artworkId: string;
  /** Proves ownership: renew and finish succeed only with the token of the current claim. */
  token: string;
  attempts: number;
}

/**
 * The job queue. A claim is a lease: a worker that stops renewing it (crash, SIGKILL) loses the job to the next
 * claimer once the lease runs out. Finishing is conditional on the lease, so a job completes at most once.
 */
export interface JobQueue {
  claim(now: number, leaseMs: number): Promise<ClaimedJob | null>;
  /** False when the job is gone (canceled, deleted) or was taken over by another worker. */
  renew(job: ClaimedJob, now: number, leaseMs: number): Promise<boolean>;
  /** Writes the outcome onto the artwork and removes the job; false when the lease was lost or the job canceled. */
  finish(job: ClaimedJob, outcome: JobOutcome, now: Date): Promise<boolean>;
  /** Gives the job back without consuming an attempt (graceful shutdown). */
  release(job: ClaimedJob): Promise<void>;
  /** Jobs waiting or running. */
  depth(): Promise<number>;
}


/** What a job that used up its attempts ends as. */
export const CRASH_LOOP_OUTCOME: JobOutcome = {
  status: 'failed',
  duration: 0,
  error: {
    code: 'WORKER_CRASHED',
    message: `processing stopped ${MAX_JOB_ATTEMPTS} times without finishing (worker crash or restart)`,
  },
};

/**
 * The queue in the artworks' own database, so a job and its artwork change in one transaction: claim and
 * finish are units of work composed from the jobs, artworks and outbox repositories, the same on SQLite and
 * PostgreSQL.
 *
 * Why not pg-boss or graphile-worker: measured here, graphile-worker keeps a crashed worker's job locked for
 * 4 hours, and pg-boss needs its monitor tuned to get near the 10 s recovery this gives; and a lease held by
 * an open transaction would roll back the attempt counter with the crash, so a job that kills its worker would
 * loop forever. A committed lease keeps the count.
 */
export class SqlJobQueue implements JobQueue {
  constructor(private readonly db: Db) {}

  async claim(now: number, leaseMs: number): Promise<ClaimedJob | null> {
    for (;;) {
      const claimed = await inWriteTransaction(this.db, async (tx): Promise<ClaimedJob | 'exhausted' | null> => {
        const job = await jobs.claimNextJob(tx, now, leaseMs);
        if (!job) return null;
        if (job.attempts > MAX_JOB_ATTEMPTS) {
          await finishClaimed(tx, job, CRASH_LOOP_OUTCOME, new Date(now));
          return 'exhausted';
        }
        await startArtwork(tx, job.artworkId, new Date(now));
        return job;
      });
      if (claimed !== 'exhausted') return claimed;
    }
  }

  async renew(job: ClaimedJob, now: number, leaseMs: number): Promise<boolean> {
    return jobs.renewJob(this.db, job, now, leaseMs);
  }

  async finish(job: ClaimedJob, outcome: JobOutcome, now: Date): Promise<boolean> {
    return inWriteTransaction(this.db, (tx) => finishClaimed(tx, job, outcome, now));
  }

  async release(job: ClaimedJob): Promise<void> {
    await jobs.releaseJob(this.db, job);
  }

  async depth(): Promise<number> {
    return jobs.countJobs(this.db);
  }
}

/** Removes the job if this claim still holds it, then writes the outcome; both or neither. */
async function finishClaimed(tx: Db, job: ClaimedJob, outcome: JobOutcome, now: Date): Promise<boolean> {
  if (!(await jobs.removeJob(tx, job))) return false;
  return finishArtwork(tx, job.artworkId, outcome, now);
}
