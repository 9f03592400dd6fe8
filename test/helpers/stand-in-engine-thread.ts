import { workerData } from 'node:worker_threads';
import { refineTaskHandler } from '../../src/jobs/refine-task.js';
import type { ThreadSetup } from '../../src/jobs/thread-protocol.js';
import type { EngineBinding, EngineProvider, FaceEngine, FaceEngineRequest } from '../../src/refine/engines/engine.js';
import { engineProviders } from '../../src/refine/engines/providers.js';
import type { FaceWork } from '../../src/refine/face-work.js';

/**
 * A refine thread whose `comfyui:*` bindings run a stand-in for a remote generator at STAND_IN_GENERATOR_URL (a
 * loopback server of the test), speaking the two calls of ComfyUI's protocol a cancel involves: `POST /prompt`
 * queues the work, `POST /interrupt` stops it. The generation never ends on its own, so only a cancel ends a job:
 * - `comfyui:stops-on-cancel` sends /interrupt when the job's signal aborts, waits for its answer, then throws;
 * - `comfyui:ignores-cancel` never looks at the signal (a hung client), so only the pool's grace period ends it.
 */
class StandInGenerator implements FaceEngine {
  readonly name: string;

  constructor(
    private readonly checkpoint: string,
    private readonly url: string,
  ) {
    this.name = `comfyui:${checkpoint}`;
  }

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

const url = process.env.STAND_IN_GENERATOR_URL ?? '';
const standInProvider: EngineProvider = {
  kind: 'comfyui',
  readiness: () => Promise.resolve(url ? { ready: true } : { ready: false, reason: 'STAND_IN_GENERATOR_URL is not set' }),
  create: (binding: EngineBinding) =>
    Promise.resolve(new StandInGenerator(binding.kind === 'comfyui' ? binding.checkpoint : binding.kind, url)),
};

export default refineTaskHandler(workerData as ThreadSetup, (settings, runtime) => [...engineProviders(settings, runtime), standInProvider]);
