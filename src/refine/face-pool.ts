import { Worker } from 'node:worker_threads';
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
 */
export class FacePool {
  private readonly workers: Worker[] = [];
  private nextId = 1;

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./face-thread.js', import.meta.url));
      worker.unref();
      this.workers.push(worker);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  private runOn(worker: Worker, job: FaceJob): Promise<FaceWork | null> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onMessage = (message: { id: number; work: FaceWork | null }): void => {
        if (message.id !== id) return;
        worker.off('message', onMessage);
        worker.off('error', reject);
        resolve(message.work);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.postMessage({ id, job }, [job.crop.image.data.buffer as ArrayBuffer]);
    });
  }

  /** Runs the jobs on the helpers, each helper taking the next job when it finishes one; results in job order. */
  async run(jobs: FaceJob[]): Promise<Array<FaceWork | null>> {
    const results: Array<FaceWork | null> = new Array<FaceWork | null>(jobs.length).fill(null);
    let next = 0;
    await Promise.all(
      this.workers.map(async (worker) => {
        while (next < jobs.length) {
          const index = next++;
          results[index] = await this.runOn(worker, jobs[index] as FaceJob);
        }
      }),
    );
    return results;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
