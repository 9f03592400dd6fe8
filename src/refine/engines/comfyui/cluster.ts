import { randomUUID } from 'node:crypto';
import { GENERATOR_ROUNDS } from '../../../limits.js';
import { ComfyClient, DEFAULT_TIMEOUTS, type ClientTimeouts } from './client.js';
import { GeneratorRejectedError, GeneratorUnreachableError, InstanceFailure } from './errors.js';
import { awaitPrompt, openSocket, settle, DEFAULT_FOLLOW, type FollowOptions } from './follow.js';
import { queueItemId, type HistoryEntry, type OutputImage, type Workflow } from './protocol.js';

export interface ClusterOptions {
  timeouts: ClientTimeouts;
  follow: FollowOptions;
  /** Rounds over all instances before a face fails with GENERATOR_UNREACHABLE. */
  rounds: number;
  /** Pause before another round, doubled each round: an instance restarting gets a moment. */
  retryPauseMs: number;
}

export const DEFAULT_CLUSTER: ClusterOptions = { timeouts: DEFAULT_TIMEOUTS, follow: DEFAULT_FOLLOW, rounds: GENERATOR_ROUNDS, retryPauseMs: 1_000 };

/** What one face needs rendered: the files to upload and the workflow to queue once they are uploaded. */
export interface RenderRequest {
  /** Chosen by us and stable across re-runs of the job, so a restarted worker finds the prompt again. */
  promptId: string;
  checkpoint: string;
  /** The crop as an RGB PNG. */
  crop: Uint8Array;
  /** The same size, as PNG, whose alpha is 255 minus the mask (ComfyUI's convention: transparent = repaint). */
  maskAlpha: Uint8Array;
  workflow(imageName: string): Workflow;
  onProgress?: (value: number, max: number) => void;
}

export interface RenderResult {
  bytes: Buffer;
  instance: string;
  /** True when the prompt was found already queued or finished (a re-run after a crash). */
  resumed: boolean;
}

export interface CheckpointProbe {
  instance: string;
  checkpoints: string[] | undefined;
  error?: string;
}

/** Every prompt id of a job starts with this, so a cancel can find the job's prompts on any instance. */
export const promptPrefix = (jobKey: string): string => `face-refiner:${jobKey}:`;

/** A name safe on any file system (ComfyUI may run on Windows), for the uploaded files. */
const fileBase = (promptId: string): string => promptId.replace(/[^A-Za-z0-9_.-]/g, '_');

const pause = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    }, { once: true });
  });

/**
 * The ComfyUI instances of COMFYUI_URLS. A face goes to the least busy instance that has its checkpoint (the
 * sum of running and pending prompts in GET /queue); an instance that refuses, drops or times out is left for
 * the next one, for a few rounds, and only then does the face fail with GENERATOR_UNREACHABLE.
 */
export class ComfyCluster {
  readonly clients: ComfyClient[];
  /** Checkpoints per instance from the last probe; an instance absent here was not probed or did not answer. */
  private readonly known = new Map<string, Set<string>>();

  constructor(
    urls: string[],
    private readonly options: ClusterOptions = DEFAULT_CLUSTER,
  ) {
    this.clients = urls.map((url) => new ComfyClient(url, options.timeouts));
  }

  /** GET /object_info/CheckpointLoaderSimple on every instance: which checkpoints each can load right now. */
  async probeCheckpoints(signal?: AbortSignal): Promise<CheckpointProbe[]> {
    return Promise.all(
      this.clients.map(async (client): Promise<CheckpointProbe> => {
        try {
          const checkpoints = await client.checkpoints(signal);
          this.known.set(client.baseUrl, new Set(checkpoints));
          return { instance: client.baseUrl, checkpoints };
        } catch (error) {
          return { instance: client.baseUrl, checkpoints: undefined, error: (error as Error).message };
        }
      }),
    );
  }

  /** Instances ordered least busy first; those known to lack the checkpoint and those not answering are left out. */
  async byLoad(checkpoint: string, signal?: AbortSignal): Promise<ComfyClient[]> {
    const candidates = this.clients.filter((client) => this.known.get(client.baseUrl)?.has(checkpoint) ?? true);
    const loads = await Promise.all(
      candidates.map(async (client) => {
        try {
          const queue = await client.queue(signal);
          return { client, load: queue.queue_running.length + queue.queue_pending.length };
        } catch (error) {
          if (signal?.aborted) throw error;
          return { client, load: Number.POSITIVE_INFINITY };
        }
      }),
    );
    return loads.sort((a, b) => a.load - b.load).map((entry) => entry.client);
  }

  /** Renders one face: resumes a prompt a previous run left, or uploads and queues on the least busy instance. */
  async render(request: RenderRequest, signal?: AbortSignal): Promise<RenderResult> {
    const resumed = await this.resume(request, signal);
    if (resumed) return resumed;
    const failures: string[] = [];
    let missingCheckpoint: GeneratorRejectedError | undefined;
    for (let round = 0; round < this.options.rounds; round++) {
      if (round > 0) await pause(this.options.retryPauseMs * 2 ** (round - 1), signal);
      const ordered = await this.byLoad(request.checkpoint, signal);
      if (ordered.length === 0) {
        throw new GeneratorRejectedError(`no instance of COMFYUI_URLS has the checkpoint ${request.checkpoint}`);
      }
      for (const client of ordered) {
        try {
          return { bytes: await this.renderOn(client, request, signal), instance: client.baseUrl, resumed: false };
        } catch (error) {
          if (signal?.aborted) throw error;
          // a checkpoint removed since the last probe: another instance may still have it
          if (error instanceof GeneratorRejectedError && error.message.includes('ckpt_name')) {
            missingCheckpoint = error;
            failures.push(`${client.baseUrl}: ${error.message}`);
            continue;
          }
          if (!(error instanceof InstanceFailure)) throw error;
          failures.push(error.message);
        }
      }
      if (missingCheckpoint && failures.every((failure) => failure.includes('ckpt_name'))) throw missingCheckpoint;
    }
    throw new GeneratorUnreachableError(`No ComfyUI instance rendered the face after ${this.options.rounds} rounds: ${failures.slice(-3).join('; ')}`);
  }

  private async renderOn(client: ComfyClient, request: RenderRequest, signal?: AbortSignal): Promise<Buffer> {
    const crop = await client.uploadImage(request.crop, `${fileBase(request.promptId)}.png`, signal);
    const masked = await client.uploadMask(request.maskAlpha, `${fileBase(request.promptId)}-masked.png`, crop, signal);
    const clientId = randomUUID();
    const socket = await openSocket(client, clientId, this.options.timeouts.callMs, signal);
    try {
      const promptId = await client.queuePrompt(request.workflow(masked.name), clientId, request.promptId, signal);
      const entry = await awaitPrompt(client, promptId, socket, { ...this.options.follow, onProgress: request.onProgress }, signal);
      return await this.fetchOutput(client, promptId, entry, signal);
    } finally {
      socket.terminate();
    }
  }

  /** A re-run after a crash: the prompt id is ours, so a finished or still queued prompt is found and used. */
  private async resume(request: RenderRequest, signal?: AbortSignal): Promise<RenderResult | undefined> {
    for (const client of this.clients) {
      try {
        const entry = await client.history(request.promptId, signal);
        if (entry) {
          return { bytes: await this.fetchOutput(client, request.promptId, settle(client.baseUrl, entry), signal), instance: client.baseUrl, resumed: true };
        }
        const queue = await client.queue(signal);
        const waiting = [...queue.queue_running, ...queue.queue_pending].some((item) => queueItemId(item) === request.promptId);
        if (waiting) {
          // its socket messages go to the previous run's client id: /history polling follows it
          const done = await awaitPrompt(client, request.promptId, undefined, this.options.follow, signal);
          return { bytes: await this.fetchOutput(client, request.promptId, done, signal), instance: client.baseUrl, resumed: true };
        }
      } catch (error) {
        if (!(error instanceof InstanceFailure) || signal?.aborted) throw error;
        // that instance is down or dropped the prompt: render afresh
      }
    }
    return undefined;
  }

  private async fetchOutput(client: ComfyClient, promptId: string, entry: HistoryEntry, signal?: AbortSignal): Promise<Buffer> {
    const images: OutputImage[] = Object.values(entry.outputs).flatMap((output) => output.images ?? []);
    const image = images.find((candidate) => candidate.type === 'output') ?? images[0];
    if (!image) throw new InstanceFailure(client.baseUrl, `prompt ${promptId} finished without an output image`);
    const bytes = await client.view(image, signal);
    // the input files stay: ComfyUI has no route to delete them; the history entry can go
    await client.forget([promptId]).catch(() => undefined);
    return bytes;
  }

  /**
   * Cancel: every prompt of the artwork still pending is removed (POST /queue delete) and one running is
   * interrupted (POST /interrupt with its prompt_id, sent only when /queue shows it running, since old versions
   * interrupt whatever runs).
   */
  async cancelJob(jobKey: string, signal?: AbortSignal): Promise<{ dequeued: number; interrupted: number }> {
    const prefix = promptPrefix(jobKey);
    let dequeued = 0;
    let interrupted = 0;
    await Promise.all(
      this.clients.map(async (client) => {
        try {
          const queue = await client.queue(signal);
          const pending = queue.queue_pending.map(queueItemId).filter((id): id is string => !!id && id.startsWith(prefix));
          const running = queue.queue_running.map(queueItemId).filter((id): id is string => !!id && id.startsWith(prefix));
          if (pending.length > 0) {
            await client.dequeue(pending, signal);
            dequeued += pending.length;
          }
          for (const id of running) {
            await client.interrupt(id, signal);
            interrupted++;
          }
        } catch {
          // an instance that cannot be reached runs nothing of ours that we could stop
        }
      }),
    );
    return { dequeued, interrupted };
  }
}
