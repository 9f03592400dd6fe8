import type { ErrorCode } from '../errors.js';
import type { RefineOptions, RefineResult } from '../refine/pipeline.js';

export interface ThreadSetup {
  modelDir: string | undefined;
  maxPixels: number;
  maxFaces: number;
  faceThreads: number;
}

export type ThreadTask =
  /** Answered once the thread's models are loaded: how the pool knows its threads can start. */
  | { kind: 'warm-up' }
  | { kind: 'refine'; input: Uint8Array; options: Omit<RefineOptions, 'maxPixels'> };

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
