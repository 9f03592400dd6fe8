import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { JobError } from '../errors.js';
import { closeNativeGate, createNativeGate, nativeCallsDrained, type NativeGate } from '../refine/native-gate.js';
import type { RefineOptions } from '../refine/pipeline.js';
import type { ThreadCancel, ThreadReply, ThreadResult, ThreadSetup, ThreadStopped, ThreadTask } from './thread-protocol.js';

/**
 * After a cancel, how long a thread may take to stop its engine's work (a remote engine sends its interrupt then)
 * before it is terminated anyway. Two seconds: one local HTTP round trip to a busy generator, with room to spare.
 */
export const CANCEL_GRACE_MS = 2_000;

export class JobCanceledError extends Error {
  constructor() {
    super('canceled');
  }
}

/**
 * How a canceled task's thread ended: it answered the cancel (with the engine's account), or the grace ran out.
 * `nativeWaitMs`: how long its termination waited for an ONNX Runtime call in flight (see refine/native-gate.ts).
 */
export type CancelOutcome = ({ answered: true; how: string } | { answered: false }) & { nativeWaitMs?: number };

export interface RefinePoolOptions {
  /** Told of a thread that failed with no task to fail (it died idle, or could not start); it is replaced. */
  onThreadError: (error: Error) => void;
  /** Told how each canceled task's thread stopped (for the log). */
  onCanceled?: (outcome: CancelOutcome) => void;
  /** The thread module (piscina's filename); tests give one whose threads know a stand-in engine. */
  threadModule?: URL;
}

/**
 * Runs image work off the event loop: a fixed number of worker threads, each with its own models and engines
 * loaded once, one image per thread at a time.
 *
 * Why piscina rather than our own pool: it already does the three things a hand-written pool got wrong here.
 * An aborted task terminates its thread (a synchronous wasm call cannot be interrupted otherwise) and a fresh
 * one takes its place; a thread that dies fails only the task it ran and is replaced; and an error thrown in a
 * thread reaches the caller with its stack. The face helper threads (refine/face-pool.ts) use it too.
 *
 * A cancel is not piscina's abort straight away: that would kill the thread before a remote engine could stop
 * its remote work. Each task carries its own control port; a cancel goes down it, the thread aborts the engine's
 * signal and answers once the engine has stopped, and only then (or after CANCEL_GRACE_MS) piscina's abort
 * terminates the thread. Even then not in the middle of a native ONNX Runtime call, which would abort the whole
 * process: each task carries a native-call gate, closed at the cancel and drained before the thread is terminated.
 */
export class RefinePool {
  private readonly piscina: Piscina<ThreadTask, ThreadReply>;
  private readonly onCanceled: (outcome: CancelOutcome) => void;
  /** Canceled tasks whose thread is not terminated yet: close() waits for them, so it never kills one mid-ORT-call. */
  private readonly stopping = new Set<Promise<void>>();

  constructor(
    private readonly size: number,
    setup: ThreadSetup,
    options: RefinePoolOptions,
  ) {
    this.onCanceled = options.onCanceled ?? (() => undefined);
    this.piscina = new Piscina({
      filename: (options.threadModule ?? new URL('./refine-thread.js', import.meta.url)).href,
      minThreads: size,
      maxThreads: size,
      workerData: setup,
      // A task takes hundreds of milliseconds: piscina's Atomics.wait hand-off would save nothing, and would freeze
      // an idle thread's event loop (its face helpers' events, its log writes) between tasks.
      atomics: 'disabled',
    });
    this.piscina.on('error', options.onThreadError);
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
   * Refines one image on a free thread. An abort rejects at once (JobCanceledError) and stops the thread as
   * described above; an expected failure is a JobError; a thread that died or threw unexpectedly rejects with
   * its own error.
   */
  async run(input: Buffer, options: Omit<RefineOptions, 'maxPixels'>, signal?: AbortSignal): Promise<ThreadResult> {
    if (signal?.aborted) throw new JobCanceledError();
    // A copy in its own ArrayBuffer, so it can be transferred without detaching a pooled Buffer.
    const copy = new Uint8Array(input);
    const { port1: control, port2: threadControl } = new MessageChannel();
    const terminate = new AbortController();
    const nativeGate = createNativeGate();
    const task = this.piscina.run(
      { kind: 'refine', input: copy, options, control: threadControl, nativeGate },
      { signal: terminate.signal, transferList: [copy.buffer, threadControl] },
    );
    let canceling = false;
    let onAbort = (): void => undefined;
    const canceled = new Promise<never>((_resolve, reject) => {
      onAbort = () => {
        canceling = true;
        reject(new JobCanceledError());
        this.stopGracefully(task, control, nativeGate, terminate);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const reply = await Promise.race([task, canceled]);
      if (reply.kind === 'failed') throw new JobError(reply.error.code, reply.error.message);
      if (reply.kind !== 'done') throw new Error(`Expected a refined image from the refine thread but received ${reply.kind}`);
      return reply.result;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!canceling) control.close();
    }
  }

  /**
   * Tells the task's thread to stop its engine, and terminates the thread once it answers or the grace runs out,
   * and no native call is in flight. The gate closes at once: the engine's next ONNX Runtime call is refused, so
   * local work stops at its next call too.
   */
  private stopGracefully(task: Promise<ThreadReply>, control: MessagePort, nativeGate: NativeGate, terminate: AbortController): void {
    closeNativeGate(nativeGate);
    let stopped = (): void => undefined;
    const stop = new Promise<void>((resolve) => (stopped = resolve));
    this.stopping.add(stop);
    void stop.then(() => this.stopping.delete(stop));
    let done = false;
    const finish = (outcome: CancelOutcome | undefined, terminateThread: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(grace);
      control.close();
      if (!terminateThread) {
        if (outcome) this.onCanceled(outcome);
        stopped();
        return;
      }
      void nativeCallsDrained(nativeGate).then((nativeWaitMs) => {
        terminate.abort();
        if (outcome) this.onCanceled({ ...outcome, nativeWaitMs: Math.round(nativeWaitMs) });
        stopped();
      });
    };
    const grace = setTimeout(() => finish({ answered: false }, true), CANCEL_GRACE_MS);
    grace.unref();
    control.once('message', (message: ThreadStopped) => finish({ answered: true, how: message.how }, true));
    // A task that ends on its own (it finished before it read the cancel, or its thread died) leaves nothing to stop.
    task.then(
      () => finish({ answered: true, how: 'the image was finished before the cancel was read' }, false),
      () => finish(undefined, false),
    );
    const cancel: ThreadCancel = { type: 'cancel' };
    control.postMessage(cancel);
  }

  async close(): Promise<void> {
    // piscina's destroy terminates every thread at once: first let canceled ones finish their native call
    await Promise.all(this.stopping);
    await this.piscina.destroy();
  }
}
