import { DEFAULT_TUNING, type Tuning } from '../enhance.js';
import type { FaceJob, FacePool } from '../face-pool.js';
import { cropFor, refineOneFace, type FaceWork } from '../face-work.js';
import { estimateImageNoise } from '../noise.js';
import { strengthFor } from '../profiles.js';
import type { EngineProvider, FaceEngine, FaceEngineRequest } from './engine.js';

/**
 * The built-in engine: hand-tuned filters on the canonical crop (face-work.ts), nothing to download. With a face
 * pool, faces are refined side by side on its helper threads and this one; the result is the same bytes either way.
 */
export class ClassicalEngine implements FaceEngine {
  readonly name = 'classical';
  /** Only with helper threads: without them, "aside" would be this thread, busy with detection. */
  readonly refineFacesAside?: (request: FaceEngineRequest) => Promise<Array<FaceWork | null>>;

  constructor(
    private readonly facePool?: FacePool,
    private readonly tuning: Tuning = DEFAULT_TUNING,
  ) {
    if (facePool && facePool.size > 0) this.refineFacesAside = async (request) => facePool.run(this.jobsFor(request), false);
  }

  private jobsFor({ image, faces, model, denoising }: FaceEngineRequest): FaceJob[] {
    const strength = strengthFor(model, denoising);
    const imageNoise = estimateImageNoise(image);
    return faces.map((face) => ({ crop: cropFor(image, face, imageNoise), face, strength, tuning: this.tuning }));
  }

  async refineFaces(request: FaceEngineRequest): Promise<Array<FaceWork | null>> {
    const jobs = this.jobsFor(request);
    if (!this.facePool || this.facePool.size === 0 || jobs.length < 2) {
      return jobs.map((job) => refineOneFace(job.crop, job.face, job.strength, job.tuning));
    }
    return this.facePool.run(jobs, true);
  }
}

export const classicalProvider = (facePool?: FacePool): EngineProvider => ({
  kind: 'classical',
  readiness: () => Promise.resolve({ ready: true, detail: 'built in, nothing to download' }),
  create: () => Promise.resolve(new ClassicalEngine(facePool)),
});
