import type { JobOutcome } from '../store/store.js';

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

/** A job that has crashed its worker this many times fails instead of looping forever. */
export const MAX_JOB_ATTEMPTS = 3;

/** What a job that used up its attempts ends as. */
export const CRASH_LOOP_OUTCOME: JobOutcome = {
  status: 'failed',
  duration: 0,
  error: {
    code: 'WORKER_CRASHED',
    message: `processing stopped ${MAX_JOB_ATTEMPTS} times without finishing (worker crash or restart)`,
  },
};
