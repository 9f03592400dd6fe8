import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { JobError } from '../errors.js';
import { engineProviders } from '../refine/engines/providers.js';
import { EngineRegistry } from '../refine/engines/registry.js';
import { FacePool } from '../refine/face-pool.js';
import { HumanFrameDetector } from '../refine/human-detector.js';
import { refineImage, type RefineOptions } from '../refine/pipeline.js';
import type { ThreadCancel, ThreadReply, ThreadRequest, ThreadSetup } from './thread-protocol.js';

// One thread, one image at a time: libvips' own thread pool would only compete with the other refine threads.
sharp.concurrency(1);

const port = parentPort;
if (!port) throw new Error('refine-thread must run as a worker thread');
const setup = workerData as ThreadSetup;

const reply = (message: ThreadReply, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

try {
  const detector = await HumanFrameDetector.create({ modelDir: setup.modelDir });
  const facePool = setup.faceThreads >= 2 ? new FacePool(setup.faceThreads) : undefined;
  // engines are built on their first job and kept: one inference session per thread
  const engines = new EngineRegistry(setup.engines, engineProviders(setup.engines, { facePool }));
  const running = new Map<number, AbortController>();
  port.on('message', (message: ThreadRequest | ThreadCancel) => {
    if ('type' in message) {
      running.get(message.id)?.abort();
      return;
    }
    const request = message;
    const abort = new AbortController();
    running.set(request.id, abort);
    const options: RefineOptions = { ...request.options, maxPixels: setup.maxPixels, maxFaces: setup.maxFaces };
    engines
      .engineFor(options.model, abort.signal)
      .then((engine) => refineImage(detector, Buffer.from(request.input), options, facePool, { engine, signal: abort.signal }))
      .finally(() => running.delete(request.id))
      .then(
      (result) => {
        const body = new Uint8Array(result.body);
        reply({ type: 'done', id: request.id, result: { ...result, body } }, [body.buffer]);
      },
      (error: unknown) => {
        const known = error instanceof JobError;
        reply({
          type: 'failed',
          id: request.id,
          error: {
            code: known ? error.code : 'REFINE_FAILED',
            message: error instanceof Error ? error.message : String(error),
            expected: known,
          },
        });
      },
    );
  });
  reply({ type: 'ready' });
} catch (error) {
  reply({ type: 'fatal', message: error instanceof Error ? error.message : String(error) });
}
