import WebSocket from 'ws';
import type { ComfyClient } from './client.js';
import { GeneratorFailedError, InstanceFailure } from './errors.js';
import { executionError, queueItemId, socketMessage, type HistoryEntry } from './protocol.js';

export interface FollowOptions {
  /** Longest a prompt may take from queueing to its history entry, queue wait included. */
  renderTimeoutMs: number;
  /** How often /history is asked even while the socket is quiet: the source of truth after a lost message. */
  historyPollMs: number;
  /** Consecutive failed /history calls after which the instance counts as gone. */
  maxPollFailures: number;
  onProgress?: (value: number, max: number) => void;
}

export const DEFAULT_FOLLOW: FollowOptions = { renderTimeoutMs: 300_000, historyPollMs: 2_000, maxPollFailures: 3 };

/**
 * Opens GET /ws?clientId=... before the prompt is queued, so no message for it is missed. ComfyUI sends a
 * prompt's execution messages only to the socket whose clientId matches the prompt's client_id.
 */
export async function openSocket(client: ComfyClient, clientId: string, timeoutMs: number, signal?: AbortSignal): Promise<WebSocket> {
  const socket = new WebSocket(client.socketUrl(clientId), { handshakeTimeout: timeoutMs });
  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal?.reason as Error);
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('open', () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      socket.once('error', (error) => {
        signal?.removeEventListener('abort', onAbort);
        reject(new InstanceFailure(client.baseUrl, `GET /ws: ${error.message}`, { cause: error }));
      });
    });
  } catch (error) {
    socket.terminate();
    throw error;
  }
  socket.on('error', () => undefined); // after open, a failure shows as 'close'; /history polling carries on
  return socket;
}

/** What a finished history entry means: its outputs, or the execution error / interrupt it recorded. */
export function settle(baseUrl: string, entry: HistoryEntry): HistoryEntry {
  if (entry.status?.status_str !== 'error') return entry;
  for (const [event, data] of entry.status.messages ?? []) {
    if (event === 'execution_error') throw failure(data);
    if (event === 'execution_interrupted') throw new InstanceFailure(baseUrl, 'the prompt was interrupted on the server');
  }
  throw new GeneratorFailedError('the prompt ended with status error and no message');
}

function failure(data: unknown): GeneratorFailedError {
  const parsed = executionError.safeParse(data);
  if (!parsed.success) return new GeneratorFailedError('execution_error without details');
  const where = parsed.data.node_type ? `${parsed.data.node_type} #${String(parsed.data.node_id)}: ` : '';
  return new GeneratorFailedError(`${where}${parsed.data.exception_message ?? parsed.data.exception_type ?? 'unknown error'}`);
}

/**
 * Waits until a queued prompt has finished: on the socket, `executing` with `node: null` (sent after the history
 * entry is written, main.py prompt_worker) or `execution_success`; `execution_error` and
 * `execution_interrupted` end it early. /history is polled alongside and decides in the end, so a dropped
 * socket or a missed message only delays the answer.
 */
export async function awaitPrompt(
  client: ComfyClient,
  promptId: string,
  socket: WebSocket | undefined,
  options: FollowOptions,
  signal?: AbortSignal,
): Promise<HistoryEntry> {
  return new Promise<HistoryEntry>((resolve, reject) => {
    let done = false;
    let pollFailures = 0;
    let missing = 0;
    let polling = false;
    const finish = (outcome: { entry: HistoryEntry } | { error: unknown }): void => {
      if (done) return;
      done = true;
      clearInterval(poller);
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onAbort);
      socket?.off('message', onMessage);
      if ('entry' in outcome) resolve(outcome.entry);
      else reject(outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error)));
    };
    const check = async (): Promise<void> => {
      if (polling || done) return;
      polling = true;
      try {
        const entry = await client.history(promptId, signal);
        pollFailures = 0;
        if (entry) return finish({ entry: settle(client.baseUrl, entry) });
        // ComfyUI keeps its queue in memory: after a restart (or a delete) the prompt is in neither list.
        // Twice in a row, since a prompt can finish between the /history and the /queue call.
        const queue = await client.queue(signal);
        const listed = [...queue.queue_running, ...queue.queue_pending].some((item) => queueItemId(item) === promptId);
        missing = listed ? 0 : missing + 1;
        if (missing >= 2) finish({ error: new InstanceFailure(client.baseUrl, 'the prompt vanished from the queue (instance restarted, or the prompt was deleted)') });
      } catch (error) {
        if (error instanceof InstanceFailure) {
          pollFailures++;
          if (pollFailures >= options.maxPollFailures) finish({ error: new InstanceFailure(client.baseUrl, `stopped answering while rendering (${error.message})`) });
        } else finish({ error });
      } finally {
        polling = false;
      }
    };
    const onMessage = (raw: WebSocket.RawData, binary: boolean): void => {
      if (binary) return; // previews: 4-byte event type, then image bytes
      let parsed;
      try {
        const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : Buffer.concat(Array.isArray(raw) ? raw : [Buffer.from(raw)]).toString('utf8');
        parsed = socketMessage.safeParse(JSON.parse(text));
      } catch {
        return;
      }
      if (!parsed.success || parsed.data.data.prompt_id !== promptId) return;
      const { type, data } = parsed.data;
      if (type === 'progress' && typeof data.value === 'number' && typeof data.max === 'number') options.onProgress?.(data.value, data.max);
      else if (type === 'execution_error') finish({ error: failure(data) });
      else if (type === 'execution_interrupted') finish({ error: new InstanceFailure(client.baseUrl, 'the prompt was interrupted on the server') });
      else if (type === 'execution_success' || (type === 'executing' && data.node === null)) void check();
    };
    const onAbort = (): void => finish({ error: signal?.reason });
    socket?.on('message', onMessage);
    signal?.addEventListener('abort', onAbort, { once: true });
    const poller = setInterval(() => void check(), options.historyPollMs);
    const deadline = setTimeout(
      () => finish({ error: new InstanceFailure(client.baseUrl, `the prompt did not finish within ${options.renderTimeoutMs} ms`) }),
      options.renderTimeoutMs,
    );
    if (signal?.aborted) onAbort();
    else void check();
  });
}
