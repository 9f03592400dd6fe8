import type { MessagePort } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import sharp from 'sharp';
import { JobError } from '../errors.js';
import type { EngineProvider } from '../refine/engines/engine.js';
import type { EngineRuntime } from '../refine/engines/providers.js';
import { EngineRegistry } from '../refine/engines/registry.js';
import type { EngineSettings } from '../refine/engines/settings.js';
import { FacePool } from '../refine/face-pool.js';
import { MeshCheckedFaceDetector } from '../refine/face-detector.js';
import { isNativeGateClosed, useNativeGate } from '../refine/native-gate.js';
import { refineImage, type RefineOptions } from '../refine/pipeline.js';
import { warmUpRefinement } from '../refine/warm-up.js';
import type { ThreadReply, ThreadSetup, ThreadStopped, ThreadTask } from './thread-protocol.js';

/** The engine kinds a refine thread can build (src/refine/engines/providers.ts in the service). */
export type ProvidersFor = (settings: EngineSettings, runtime: EngineRuntime) => EngineProvider[];

/** What a refine thread keeps for its whole life, made once when it starts (models, helper threads, engines). */
interface ThreadResources {
  detector: MeshCheckedFaceDetector;
  facePool: FacePool | undefined;
  /** Engines are built on their first job and kept: one inference session (or remote client) per thread. */
  engines: EngineRegistry;
}

/** Loads what every task of this thread uses; a rejection here fails the pool's warm-up, so the service does not start. */
async function setUpThread(setup: ThreadSetup, providersFor: ProvidersFor): Promise<ThreadResources> {
  // One thread, one image at a time: libvips' own thread pool would only compete with the other refine threads.
  sharp.concurrency(1);
  const facePool = setup.faceThreads >= 1 ? new FacePool(setup.faceThreads) : undefined;
  let detector: MeshCheckedFaceDetector;
  try {
    detector = await MeshCheckedFaceDetector.create({ modelDir: setup.modelDir, helpers: facePool });
    // Here, not in the pool's warm-up task: piscina may hand two warm-up tasks to one thread, but every thread
    // (a replacement too) sets itself up once.
    await detector.warmUp();
    await warmUpRefinement();
  } catch (error) {
    await facePool?.close();
    throw error;
  }
  const engines = new EngineRegistry(setup.engines, providersFor(setup.engines, { facePool }));
  return { detector, facePool, engines };
}

/** The task never settles: after a cancel the pool terminates this thread, whatever the engine did. */
const heldUntilTerminated = new Promise<never>(() => undefined);

/**
 * Sets the thread up, then answers piscina's tasks: one image each, start to finish. A cancel on the task's
 * control port aborts the engine's signal (a remote engine stops its remote work there); once the engine has
 * stopped, the thread says so and the pool terminates it.
 */
export async function refineTaskHandler(
  setup: ThreadSetup,
  providersFor: ProvidersFor,
): Promise<(task: ThreadTask) => Promise<ThreadReply>> {
  const resources = await setUpThread(setup, providersFor);
  return async function runTask(task: ThreadTask): Promise<ThreadReply> {
    if (task.kind === 'warm-up') return { kind: 'ready' };
    const { control } = task;
    useNativeGate(task.nativeGate);
    const abort = new AbortController();
    // the only message a task's control port carries is a ThreadCancel
    control.once('message', () => abort.abort(new Error('the job was canceled')));
    const options: RefineOptions = { ...task.options, maxPixels: setup.maxPixels, maxFaces: setup.maxFaces };
    let reply: ThreadReply;
    try {
      const engine = await resources.engines.engineFor(options.model, abort.signal);
      const result = await refineImage(resources.detector, Buffer.from(task.input), options, resources.facePool, {
        engine,
        signal: abort.signal,
      });
      const body = new Uint8Array(result.body);
      reply = move({ [transferableSymbol]: [body.buffer], [valueSymbol]: { kind: 'done', result: { ...result, body } } }) as unknown as ThreadReply;
    } catch (error) {
      // The pool closes the native gate before it posts the cancel, so a refused ONNX Runtime call (whatever error
      // it became on the way up, e.g. a restorer that could not load) can end the work before the cancel is read.
      if (abort.signal.aborted || isNativeGateClosed(task.nativeGate)) return stopped(control, String(error));
      control.close();
      useNativeGate(undefined);
      if (error instanceof JobError) return { kind: 'failed', error: { code: error.code, message: error.message } };
      throw error;
    }
    if (abort.signal.aborted) return stopped(control, 'the engine finished before it noticed the cancel');
    control.close();
    useNativeGate(undefined);
    return reply;
  };
}

async function stopped(control: MessagePort, how: string): Promise<never> {
  const message: ThreadStopped = { type: 'stopped', how };
  control.postMessage(message);
  return heldUntilTerminated;
}
