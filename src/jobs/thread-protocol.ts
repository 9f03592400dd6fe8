import type { EngineSettings } from '../refine/engines/settings.js';
import type { RefineOptions, RefineResult } from '../refine/pipeline.js';

export interface ThreadSetup {
  modelDir: string | undefined;
  maxPixels: number;
  maxFaces: number;
  faceThreads: number;
  /** Each thread builds its own engines (inference sessions, clients) from these, once. */
  engines: EngineSettings;
}

export interface ThreadRequest {
  id: number;
  input: Uint8Array;
  options: Omit<RefineOptions, 'maxPixels'>;
}

/** Sent when a job is canceled: the thread aborts the engine's signal (a remote engine stops its work there). */
export interface ThreadCancel {
  type: 'cancel';
  id: number;
}

export type ThreadResult = Omit<RefineResult, 'body'> & { body: Uint8Array };

export type ThreadReply =
  | { type: 'ready' }
  | { type: 'fatal'; message: string }
  | { type: 'done'; id: number; result: ThreadResult }
  | { type: 'failed'; id: number; error: { code: string; message: string; expected: boolean } };
