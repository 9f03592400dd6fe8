import type { RefineOptions, RefineResult } from '../refine/pipeline.js';

export interface ThreadSetup {
  modelDir: string | undefined;
  maxPixels: number;
  maxFaces: number;
  faceThreads: number;
}

export interface ThreadRequest {
  id: number;
  input: Uint8Array;
  options: Omit<RefineOptions, 'maxPixels'>;
}

export type ThreadResult = Omit<RefineResult, 'body'> & { body: Uint8Array };

export type ThreadReply =
  | { type: 'ready' }
  | { type: 'fatal'; message: string }
  | { type: 'done'; id: number; result: ThreadResult }
  | { type: 'failed'; id: number; error: { code: string; message: string; expected: boolean } };
