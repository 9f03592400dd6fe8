import { Worker } from 'node:worker_threads';
import { JobError } from '../errors.js';
import type { RefineOptions } from '../refine/pipeline.js';
import type { ThreadCancel, ThreadReply, ThreadRequest, ThreadResult, ThreadSetup } from './thread-protocol.js';

/** After a cancel, how long a thread may take to stop its engine's remote work before it is terminated. */
const CANCEL_GRACE_MS = 2_000;

interface Pending {
  resolve(result: ThreadResult): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  pending: Map<number, Pending>;
  busy: boolean;
  dead: boolean;
}

export class JobCanceledError extends Error {
  constructor() {
    super('canceled');
  }
}

/**
 * Runs image work off the event loop: a fixed number of worker threads, each with its own models loaded once,
 * one image per thread at a time. A task aborted mid-way terminates its thread (a synchronous wasm call cannot
 * be interrupted otherwise) and a fresh one takes its place.
 */
export class RefinePool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Array<(slot: Slot) => void> = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly setup: ThreadSetup,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** Resolves once every thread has loaded its models; rejects if one cannot. */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.ready));
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./refine-thread.js', import.meta.url), { workerData: this.setup });
    const pending = new Map<number, Pending>();
    let markReady!: () => void;
    let markFailed!: (error: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    ready.catch(() => undefined);
    worker.on('message', (message: ThreadReply) => {
      if (message.type === 'ready') return markReady();
      if (message.type === 'fatal') return markFailed(new Error(`refine thread could not start: ${message.message}`));
      const task = pending.get(message.id);
      if (!task) return;
      pending.delete(message.id);
      if (message.type === 'done') task.resolve(message.result);
      else if (message.error.expected) task.reject(new JobError(message.error.code, message.error.message));
      else task.reject(new Error(message.error.message));
    });
    const slot: Slot = { worker, ready, pending, busy: false, dead: false };
    const failAll = (error: Error): void => {
      slot.dead = true;
      markFailed(error);
      for (const task of pending.values()) task.reject(error);
      pending.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`refine thread exited with code ${code}`)));
    return slot;
  }

  private acquire(): Promise<Slot> {
    const free = this.slots.find((slot) => !slot.busy);
    if (free) {
      free.busy = true;
      return Promise.resolve(free);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private releaseSlot(slot: Slot): void {
    const next = this.waiting.shift();
    if (next) next(slot);
    else slot.busy = false;
  }

  /**
   * Gives the slot a fresh thread. A canceled task's thread is first told to abort its engine's signal (a remote
   * engine cancels its work there) and terminated once it answers or after a grace period; a synchronous wasm
   * call cannot be interrupted otherwise.
   */
  private replace(slot: Slot, canceledId?: number): Slot {
    const index = this.slots.indexOf(slot);
    if (canceledId === undefined) {
      void slot.worker.terminate();
    } else {
      const old = slot.worker;
      const timer = setTimeout(() => void old.terminate(), CANCEL_GRACE_MS);
      timer.unref();
      old.on('message', (message: ThreadReply) => {
        if ('id' in message && message.id === canceledId) {
          clearTimeout(timer);
          void old.terminate();
        }
      });
      const cancel: ThreadCancel = { type: 'cancel', id: canceledId };
      old.postMessage(cancel);
    }
    const fresh = this.spawn();
    fresh.busy = true;
    this.slots[index] = fresh;
    return fresh;
  }

  async run(input: Buffer, options: Omit<RefineOptions, 'maxPixels'>, signal?: AbortSignal): Promise<ThreadResult> {
    if (this.closed) throw new Error('the refine pool is closed');
    let slot = await this.acquire();
    try {
      await slot.ready;
      if (signal?.aborted) throw new JobCanceledError();
      // A copy in its own ArrayBuffer, so it can be transferred without detaching a pooled Buffer.
      const copy = new Uint8Array(input);
      const id = this.nextId++;
      const request: ThreadRequest = { id, input: copy, options };
      return await new Promise<ThreadResult>((resolve, reject) => {
        const onAbort = (): void => {
          slot.pending.delete(id);
          slot = this.replace(slot, id);
          reject(new JobCanceledError());
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        slot.pending.set(id, {
          resolve: (result) => {
            signal?.removeEventListener('abort', onAbort);
            resolve(result);
          },
          reject: (error) => {
            signal?.removeEventListener('abort', onAbort);
            reject(error);
          },
        });
        slot.worker.postMessage(request, [copy.buffer]);
      });
    } catch (error) {
      // The thread died under this task: the slot gets a fresh thread for the next one.
      if (slot.dead && !this.closed) slot = this.replace(slot);
      throw error;
    } finally {
      this.releaseSlot(slot);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }
}
