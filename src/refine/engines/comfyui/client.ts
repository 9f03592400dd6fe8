import { FormData, fetch, type Response } from 'undici';
import type { z } from 'zod';
import { GeneratorRejectedError, InstanceFailure } from './errors.js';
import {
  checkpointLoaderInfo,
  describeRejection,
  historyAnswer,
  promptAccepted,
  promptRejected,
  queueAnswer,
  uploadAnswer,
  type HistoryEntry,
  type OutputImage,
  type QueueState,
  type UploadedFile,
  type Workflow,
} from './protocol.js';

export interface ClientTimeouts {
  /** Any small call (queue, history, interrupt, object_info, prompt). */
  callMs: number;
  /** Uploads and /view downloads: a 1024x1024 PNG is a few MB. */
  transferMs: number;
}

export const DEFAULT_TIMEOUTS: ClientTimeouts = { callMs: 10_000, transferMs: 60_000 };

/**
 * One ComfyUI server's HTTP API (routes of server.py's PromptServer). Every call has a deadline; a refused
 * connection, a timeout, a 5xx or an unreadable answer is an InstanceFailure (another instance may do), while a
 * workflow ComfyUI validated and refused is a GeneratorRejectedError (no instance will take it).
 */
export class ComfyClient {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly timeouts: ClientTimeouts = DEFAULT_TIMEOUTS,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** ws:// or wss:// for GET /ws?clientId=... */
  socketUrl(clientId: string): string {
    const url = new URL(`${this.baseUrl}/ws`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('clientId', clientId);
    return url.toString();
  }

  private async call(
    path: string,
    init: { method?: string; body?: string | FormData; json?: boolean },
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Response> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    // undici's abortFetch cancels a request's body stream and rethrows that cancel's rejection
    // (lib/web/fetch/index.js), an unhandled rejection of the abort reason when a cancel lands while a body is
    // being sent: so the job's cancel never aborts a request that carries a body. It is raced instead, and the
    // request finishes or meets its own deadline in the background.
    const withBody = init.body !== undefined;
    const request = fetch(`${this.baseUrl}${path}`, {
      method: init.method ?? 'GET',
      ...(withBody ? { body: init.body } : {}),
      ...(init.json ? { headers: { 'content-type': 'application/json' } } : {}),
      signal: withBody ? deadline : combined,
      redirect: 'error',
    });
    let stopRace: (() => void) | undefined;
    try {
      if (!withBody || !signal) return await request;
      request.catch(() => undefined);
      const canceled = new Promise<never>((_resolve, reject) => {
        const onAbort = (): void => reject(signal.reason as Error);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
        stopRace = () => signal.removeEventListener('abort', onAbort);
      });
      canceled.catch(() => undefined);
      return await Promise.race([request, canceled]);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const why = deadline.aborted ? `no answer within ${timeoutMs} ms` : describeCause(error);
      throw new InstanceFailure(this.baseUrl, `${init.method ?? 'GET'} ${path}: ${why}`, { cause: error });
    } finally {
      stopRace?.();
    }
  }

  private async json<T>(response: Response, schema: z.ZodType<T>, what: string): Promise<T> {
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      throw new InstanceFailure(this.baseUrl, `${what} answered ${response.status} ${text.slice(0, 200)}`);
    }
    const parsed = schema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw new InstanceFailure(this.baseUrl, `${what} answered an unexpected shape: ${parsed.error.message}`);
    return parsed.data;
  }

  /**
   * POST /upload/image (multipart `image`, `type`, `overwrite`): stores the file in ComfyUI's input folder. The
   * answered name is what LoadImage takes; it differs from ours when a different file had the name already.
   */
  async uploadImage(png: Uint8Array, filename: string, signal?: AbortSignal): Promise<UploadedFile> {
    const form = new FormData();
    form.set('image', new Blob([new Uint8Array(png)], { type: 'image/png' }), filename);
    form.set('type', 'input');
    form.set('overwrite', 'true');
    const response = await this.call('/upload/image', { method: 'POST', body: form }, this.timeouts.transferMs, signal);
    return this.json(response, uploadAnswer, 'POST /upload/image');
  }

  /**
   * POST /upload/mask (multipart `image`, `original_ref`): ComfyUI copies the alpha channel of `image` into the
   * referenced input file and saves the result under `filename`. The ref needs `type: input` (its default is
   * output) and must exist, or nothing is written although a name is answered.
   */
  async uploadMask(rgba: Uint8Array, filename: string, original: UploadedFile, signal?: AbortSignal): Promise<UploadedFile> {
    const form = new FormData();
    form.set('image', new Blob([new Uint8Array(rgba)], { type: 'image/png' }), filename);
    form.set('type', 'input');
    form.set('overwrite', 'true');
    form.set('original_ref', JSON.stringify({ filename: original.name, subfolder: original.subfolder, type: original.type }));
    const response = await this.call('/upload/mask', { method: 'POST', body: form }, this.timeouts.transferMs, signal);
    return this.json(response, uploadAnswer, 'POST /upload/mask');
  }

  /**
   * POST /prompt `{prompt, client_id, prompt_id}`. Current ComfyUI keeps a prompt_id the client gives (older
   * versions answer their own uuid; the answered id is the one to follow). 400 carries `error` and `node_errors`.
   */
  async queuePrompt(workflow: Workflow, clientId: string, promptId: string, signal?: AbortSignal): Promise<string> {
    const body = JSON.stringify({ prompt: workflow, client_id: clientId, prompt_id: promptId });
    const response = await this.call('/prompt', { method: 'POST', body, json: true }, this.timeouts.callMs, signal);
    if (response.status === 400) {
      const parsed = promptRejected.safeParse(await response.json().catch(() => undefined));
      if (parsed.success) throw new GeneratorRejectedError(describeRejection(parsed.data));
      throw new InstanceFailure(this.baseUrl, 'POST /prompt answered 400 without ComfyUI error body');
    }
    return (await this.json(response, promptAccepted, 'POST /prompt')).prompt_id;
  }

  /** GET /history/<id>: undefined until the prompt has finished (the route answers `{}` until then). */
  async history(promptId: string, signal?: AbortSignal): Promise<HistoryEntry | undefined> {
    const response = await this.call(`/history/${encodeURIComponent(promptId)}`, {}, this.timeouts.callMs, signal);
    return (await this.json(response, historyAnswer, 'GET /history'))[promptId];
  }

  /** GET /view?filename=&subfolder=&type=: the bytes SaveImage wrote. */
  async view(image: OutputImage, signal?: AbortSignal): Promise<Buffer> {
    const query = new URLSearchParams({ filename: image.filename, subfolder: image.subfolder, type: image.type });
    const response = await this.call(`/view?${query.toString()}`, {}, this.timeouts.transferMs, signal);
    if (!response.ok) throw new InstanceFailure(this.baseUrl, `GET /view answered ${response.status} for ${image.filename}`);
    return Buffer.from(await response.arrayBuffer());
  }

  /** GET /queue: what runs now and what waits. */
  async queue(signal?: AbortSignal): Promise<QueueState> {
    const response = await this.call('/queue', {}, this.timeouts.callMs, signal);
    return this.json(response, queueAnswer, 'GET /queue');
  }

  /** POST /queue `{delete: [ids]}`: removes prompts still pending (a running one is not affected). */
  async dequeue(promptIds: string[], signal?: AbortSignal): Promise<void> {
    const body = JSON.stringify({ delete: promptIds });
    await this.expectOk(await this.call('/queue', { method: 'POST', body, json: true }, this.timeouts.callMs, signal), 'POST /queue');
  }

  /**
   * POST /interrupt `{prompt_id}`: current ComfyUI interrupts only if that prompt is the one running; older
   * versions ignore the body and interrupt whatever runs, so callers check /queue first.
   */
  async interrupt(promptId: string, signal?: AbortSignal): Promise<void> {
    const body = JSON.stringify({ prompt_id: promptId });
    await this.expectOk(await this.call('/interrupt', { method: 'POST', body, json: true }, this.timeouts.callMs, signal), 'POST /interrupt');
  }

  /** POST /history `{delete: [ids]}`: forgets finished prompts (ComfyUI offers no route to delete input files). */
  async forget(promptIds: string[], signal?: AbortSignal): Promise<void> {
    const body = JSON.stringify({ delete: promptIds });
    await this.expectOk(await this.call('/history', { method: 'POST', body, json: true }, this.timeouts.callMs, signal), 'POST /history');
  }

  /** GET /object_info/CheckpointLoaderSimple: the checkpoint files this instance can load. */
  async checkpoints(signal?: AbortSignal): Promise<string[]> {
    const response = await this.call('/object_info/CheckpointLoaderSimple', {}, this.timeouts.callMs, signal);
    const info = await this.json(response, checkpointLoaderInfo, 'GET /object_info/CheckpointLoaderSimple');
    return info.CheckpointLoaderSimple.input.required.ckpt_name[0];
  }

  private async expectOk(response: Response, what: string): Promise<void> {
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) throw new InstanceFailure(this.baseUrl, `${what} answered ${response.status}`);
  }
}

function describeCause(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? error.cause : undefined;
    const code = cause && 'code' in cause && typeof cause.code === 'string' ? cause.code : undefined;
    return code ?? cause?.message ?? error.message;
  }
  return String(error);
}
