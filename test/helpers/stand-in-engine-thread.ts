import { workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { refineTaskHandler } from '../../src/jobs/refine-task.js';
import type { ThreadSetup } from '../../src/jobs/thread-protocol.js';
import type { EngineBinding, EngineProvider, FaceEngine, FaceEngineRequest } from '../../src/refine/engines/engine.js';
import { DataType, writeOnnxModel } from '../../src/refine/engines/onnx-graph.js';
import { engineProviders } from '../../src/refine/engines/providers.js';
import { nativeCall } from '../../src/refine/native-gate.js';
import type { FaceWork } from '../../src/refine/face-work.js';

/**
 * A refine thread whose `comfyui:*` bindings run a stand-in for a remote generator at STAND_IN_GENERATOR_URL (a
 * loopback server of the test), speaking the two calls of ComfyUI's protocol a cancel involves: `POST /prompt`
 * queues the work, `POST /interrupt` stops it. The generation never ends on its own, so only a cancel ends a job:
 * - `comfyui:stops-on-cancel` sends /interrupt when the job's signal aborts, waits for its answer, then throws;
 * - `comfyui:ignores-cancel` never looks at the signal (a hung client), so only the pool's grace period ends it.
 */
abstract class StandInEngine implements FaceEngine {
  readonly name: string;

  constructor(
    protected readonly checkpoint: string,
    protected readonly url: string,
  ) {
    this.name = `comfyui:${checkpoint}`;
  }

  abstract refineFaces(request: FaceEngineRequest): Promise<Array<FaceWork | null>>;
}

class StandInGenerator extends StandInEngine {
  async refineFaces(request: FaceEngineRequest): Promise<Array<FaceWork | null>> {
    const queued = await fetch(`${this.url}/prompt`, { method: 'POST', body: JSON.stringify({ checkpoint: this.checkpoint }) });
    await queued.arrayBuffer();
    const { signal } = request;
    if (this.checkpoint === 'ignores-cancel' || !signal) return new Promise<never>(() => undefined);
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    const interrupted = await fetch(`${this.url}/interrupt`, { method: 'POST' });
    throw new Error(`the stand-in generator was interrupted (HTTP ${interrupted.status})`, { cause: signal.reason });
  }
}

/** Side of the square matrices: four 384x384 products are tens of milliseconds of native work per run. */
const SIDE = 384;
const busyGraph = writeOnnxModel({
  inputs: [{ name: 'x', type: DataType.FLOAT, shape: [SIDE, SIDE] }],
  outputs: [{ name: 'y4', type: DataType.FLOAT, shape: [SIDE, SIDE] }],
  nodes: [
    { op: 'MatMul', inputs: ['x', 'x'], outputs: ['y1'] },
    { op: 'MatMul', inputs: ['y1', 'x'], outputs: ['y2'] },
    { op: 'MatMul', inputs: ['y2', 'x'], outputs: ['y3'] },
    { op: 'MatMul', inputs: ['y3', 'x'], outputs: ['y4'] },
  ],
});

/**
 * A local engine whose work is back-to-back ONNX Runtime runs (through the service's native gate, like BlazeFace
 * and the restorers), so a cancel always finds native work going on. It tells the stand-in generator's `/prompt`
 * once its first run is done, so the test knows the work has started. It throws as soon as the signal aborts
 * while its queued runs go on (as a Promise.all of faces does when one rejects): the thread answers the cancel
 * and is terminated with runs still being started.
 */
class OnnxBusyEngine extends StandInEngine {
  async refineFaces(request: FaceEngineRequest): Promise<Array<FaceWork | null>> {
    const session = await nativeCall('loading the busy graph', () => ort.InferenceSession.create(busyGraph, { intraOpNumThreads: 1, interOpNumThreads: 1 }));
    const feeds = { x: new ort.Tensor('float32', new Float32Array(SIDE * SIDE).fill(1 / SIDE), [SIDE, SIDE]) };
    const runForever = async (): Promise<never> => {
      for (;;) await nativeCall('a busy-graph run', () => session.run(feeds));
    };
    await nativeCall('a busy-graph run', () => session.run(feeds));
    await (await fetch(`${this.url}/prompt`, { method: 'POST', body: JSON.stringify({ checkpoint: this.checkpoint }) })).arrayBuffer();
    const { signal } = request;
    if (!signal) return runForever();
    // ends when the gate refuses a run (the pool has closed it at the cancel)
    const queued = runForever().catch(() => undefined);
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    void queued;
    throw new Error('the busy engine gave up at the cancel', { cause: signal.reason });
  }
}

const url = process.env.STAND_IN_GENERATOR_URL ?? '';
const standInProvider: EngineProvider = {
  kind: 'comfyui',
  readiness: () => Promise.resolve(url ? { ready: true } : { ready: false, reason: 'STAND_IN_GENERATOR_URL is not set' }),
  create: (binding: EngineBinding) =>
    Promise.resolve(
      binding.kind === 'comfyui' && binding.checkpoint.startsWith('onnx-')
        ? new OnnxBusyEngine(binding.checkpoint, url)
        : new StandInGenerator(binding.kind === 'comfyui' ? binding.checkpoint : binding.kind, url),
    ),
};

export default refineTaskHandler(workerData as ThreadSetup, (settings, runtime) => [...engineProviders(settings, runtime), standInProvider]);
