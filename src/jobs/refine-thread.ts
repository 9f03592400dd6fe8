import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import sharp from 'sharp';
import { JobError } from '../errors.js';
import { FacePool } from '../refine/face-pool.js';
import { HumanFrameDetector } from '../refine/human-detector.js';
import { refineImage } from '../refine/pipeline.js';
import type { ThreadReply, ThreadSetup, ThreadTask } from './thread-protocol.js';

// One thread, one image at a time: libvips' own thread pool would only compete with the other refine threads.
sharp.concurrency(1);

/** What a refine thread keeps for its whole life, made once when it starts (models, helper threads). */
interface ThreadResources {
  detector: HumanFrameDetector;
  facePool: FacePool | undefined;
}

/** Loads what every task of this thread uses; a rejection here fails the pool's warm-up, so the service does not start. */
async function setUpThread(setup: ThreadSetup): Promise<ThreadResources> {
  const detector = await HumanFrameDetector.create({ modelDir: setup.modelDir });
  const facePool = setup.faceThreads >= 2 ? new FacePool(setup.faceThreads) : undefined;
  return { detector, facePool };
}

const setup = workerData as ThreadSetup;
const resources = await setUpThread(setup);

/** One piscina task: one image, start to finish. The result's bytes are moved to the caller, not copied. */
export default async function runTask(task: ThreadTask): Promise<ThreadReply> {
  if (task.kind === 'warm-up') return { kind: 'ready' };
  const options = { ...task.options, maxPixels: setup.maxPixels, maxFaces: setup.maxFaces };
  try {
    const result = await refineImage(resources.detector, Buffer.from(task.input), options, resources.facePool);
    const body = new Uint8Array(result.body);
    const reply: ThreadReply = { kind: 'done', result: { ...result, body } };
    return move({ [transferableSymbol]: [body.buffer], [valueSymbol]: reply }) as unknown as ThreadReply;
  } catch (error) {
    if (error instanceof JobError) return { kind: 'failed', error: { code: error.code, message: error.message } };
    throw error;
  }
}
