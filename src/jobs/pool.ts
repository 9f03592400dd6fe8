import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { JobError } from '../errors.js';
import type { RefineOptions } from '../refine/pipeline.js';
import type { ThreadReply, ThreadResult, ThreadSetup, ThreadTask } from './thread-protocol.js';

export class JobCanceledError extends Error {
  constructor() {
    super('canceled');
  }
}

/**
 * Runs image work off the event loop: a fixed number of worker threads, each with its own models loaded once,
 * one image per thread at a time.
 *
 * Why piscina rather than our own pool: it already does the three things a hand-written pool got wrong here.
 * An aborted task terminates its thread (a synchronous wasm call cannot be interrupted otherwise) and a fresh
 * one takes its place; a thread that dies fails only the task it ran and is replaced; and an error thrown in a
 * thread reaches the caller with its stack. The face helper threads (refine/face-pool.ts) use it too.
 */
export class RefinePool {
  private readonly piscina: Piscina<ThreadTask, ThreadReply>;

  constructor(
    private readonly size: number,
    setup: ThreadSetup,
    /** Told of a thread that failed with no task to fail (it died idle, or could not start); it is replaced. */
    onThreadError: (error: Error) => void,
  ) {
    this.piscina = new Piscina({
      filename: new URL('./refine-thread.js', import.meta.url).href,
      minThreads: size,
      maxThreads: size,
      workerData: setup,
      // A task takes hundreds of milliseconds: piscina's Atomics.wait hand-off would save nothing, and would freeze
      // an idle thread's event loop (its face helpers' events, its log writes) between tasks.
      atomics: 'disabled',
    });
    this.piscina.on('error', onThreadError);
  }

  /** Resolves once the threads have loaded their models; rejects (with the thread's error) if one cannot. */
  async ready(): Promise<void> {
    await Promise.all(Array.from({ length: this.size }, () => this.piscina.run({ kind: 'warm-up' })));
  }

  /** The live threads (for tests and diagnostics). */
  get threads(): readonly Worker[] {
    return this.piscina.threads;
  }

  /**
   * Refines one image on a free thread. An abort stops it at once (JobCanceledError); an expected failure is a
   * JobError; a thread that died or threw unexpectedly rejects with its own error.
   */
  async run(input: Buffer, options: Omit<RefineOptions, 'maxPixels'>, signal?: AbortSignal): Promise<ThreadResult> {
    // A copy in its own ArrayBuffer, so it can be transferred without detaching a pooled Buffer.
    const copy = new Uint8Array(input);
    let reply: ThreadReply;
    try {
      reply = await this.piscina.run({ kind: 'refine', input: copy, options }, { signal: signal ?? null, transferList: [copy.buffer] });
    } catch (error) {
      if (signal?.aborted) throw new JobCanceledError();
      throw error;
    }
    if (reply.kind === 'failed') throw new JobError(reply.error.code, reply.error.message);
    if (reply.kind !== 'done') throw new Error(`Expected a refined image from the refine thread but received ${reply.kind}`);
    return reply.result;
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
