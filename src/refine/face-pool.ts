import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { DetectedFace } from './detect.js';
import type { Tuning } from './enhance.js';
import type { FaceCrop, FaceWork } from './face-work.js';
import type { RefineStrength } from './profiles.js';

export interface FaceJob {
  crop: FaceCrop;
  face: DetectedFace;
  strength: RefineStrength;
  tuning: Tuning;
}

/**
 * Helper threads that refine the faces of one image side by side. Faces are independent until blending, which
 * stays in the calling thread and in a fixed order, so the result is the same bytes with or without helpers.
 * Worth it only where cores would otherwise idle (one image at a time on a machine with cores to spare): the
 * caller decides how many helpers, zero meaning none.
 *
 * The threads are a piscina pool, like the job threads (see jobs/pool.ts): a helper that dies fails the face it
 * was refining and piscina starts a fresh one, so the next run does not wait on a dead thread.
 */
export class FacePool {
  private readonly piscina: Piscina<FaceJob, FaceWork | null>;

  constructor(
    readonly size: number,
    /** Told of a helper that failed with no face to fail (it died idle, or could not start); it is replaced. */
    onThreadError: (error: Error) => void = (error) => process.emitWarning(error),
  ) {
    this.piscina = new Piscina({
      filename: new URL('./face-thread.js', import.meta.url).href,
      minThreads: size,
      maxThreads: size,
      // Tasks take tens of milliseconds, so piscina's Atomics.wait hand-off saves nothing worth blocking for.
      atomics: 'disabled',
    });
    this.piscina.on('error', onThreadError);
  }

  /** The live helper threads (for tests and diagnostics). */
  get threads(): readonly Worker[] {
    return this.piscina.threads;
  }

  /** Runs the jobs on the helpers, each helper taking the next job when it finishes one; results in job order. */
  run(jobs: FaceJob[]): Promise<Array<FaceWork | null>> {
    return Promise.all(
      jobs.map((job) => this.piscina.run(job, { transferList: [job.crop.image.data.buffer as ArrayBuffer] })),
    );
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
