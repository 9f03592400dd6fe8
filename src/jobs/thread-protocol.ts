import type { MessagePort } from 'node:worker_threads';
import type { ErrorCode } from '../errors.js';
import type { EngineSettings } from '../refine/engines/settings.js';
import type { NativeGate } from '../refine/native-gate.js';
import type { RefineOptions, RefineResult } from '../refine/pipeline.js';

export interface ThreadSetup {
  modelDir: string | undefined;
  maxPixels: number;
  maxFaces: number;
  faceThreads: number;
  /** Each thread builds its own engines (inference sessions, clients) from these, once. */
  engines: EngineSettings;
}

export type ThreadTask =
  /** Answered once the thread's models are loaded: how the pool knows its threads can start. */
  | { kind: 'warm-up' }
  | {
      kind: 'refine';
      input: Uint8Array;
      options: Omit<RefineOptions, 'maxPixels'>;
      /** This task's own line to the pool: a ThreadCancel comes in on it, a ThreadStopped goes back. */
      control: MessagePort;
      /** This task's native-call gate (refine/native-gate.ts): the pool terminates the thread only once it is drained. */
      nativeGate: NativeGate;
    };

/** Sent on a task's control port when its job is canceled: the thread aborts the engine's signal. */
export interface ThreadCancel {
  type: 'cancel';
}

/**
 * The thread's answer to a cancel, once the engine has stopped (a remote engine has interrupted its work): the
 * pool may terminate the thread now. `how` is the engine's own account (its error, or that it finished anyway).
 */
export interface ThreadStopped {
  type: 'stopped';
  how: string;
}

export type ThreadResult = Omit<RefineResult, 'body'> & { body: Uint8Array };

/**
 * A refine thread's answer. An expected failure (a JobError: the image was refused) comes back as data, because a
 * thrown error crosses the thread boundary as a plain Error (stack kept, code lost); an unexpected one is thrown,
 * so its stack reaches the log.
 */
export type ThreadReply =
  | { kind: 'ready' }
  | { kind: 'done'; result: ThreadResult }
  | { kind: 'failed'; error: { code: ErrorCode; message: string } };
