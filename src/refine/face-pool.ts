import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Candidate, WindowHelpers } from './blazeface.js';
import type { MeshHelpers, MeshOutput } from './face-mesh.js';
import type { DetectedFace } from './detect.js';
import type { Tuning } from './enhance.js';
import { refineOneFace, type FaceCrop, type FaceWork } from './face-work.js';
import { currentNativeGate, type NativeGate } from './native-gate.js';
import type { RefineStrength } from './profiles.js';
import { shareWork } from './share-work.js';

export interface FaceJob {
  crop: FaceCrop;
  face: DetectedFace;
  strength: RefineStrength;
  tuning: Tuning;
}

/** One BlazeFace window for a helper; its ONNX Runtime call goes through the refine task's native-call gate. */
export interface WindowJob {
  modelPath: string;
  window: Float32Array;
  minScore: number;
  nativeGate: NativeGate | undefined;
}

/** One prepared crop for the face mesh; its ONNX Runtime call goes through the gate too. */
export interface MeshJob {
  modelDir: string;
  input: Float32Array;
  nativeGate: NativeGate | undefined;
}

export type HelperTask = ({ kind: 'face' } & FaceJob) | ({ kind: 'window' } & WindowJob) | ({ kind: 'mesh' } & MeshJob);
export type HelperAnswer = FaceWork | null | { candidates: Candidate[]; window: Float32Array } | (MeshOutput & { input: Float32Array });

/**
 * Helper threads of a refine thread, which take part of one image's work so that it uses cores that would
 * otherwise idle: BlazeFace's windows and the mesh's crops during detection, then the faces. The calling thread
 * works alongside them (shareWork), and everything is put back in order, so the result is the same bytes with or without helpers:
 * faces are independent until blending, which stays in the calling thread and in a fixed order. The caller
 * decides how many helpers, zero meaning none.
 *
 * The threads are a piscina pool, like the job threads (see jobs/pool.ts): a helper that dies fails the task it
 * was running and piscina starts a fresh one, so the next run does not wait on a dead thread.
 */
export class FacePool implements WindowHelpers, MeshHelpers {
  private readonly piscina: Piscina<HelperTask, HelperAnswer>;
  /** Faces sent and not yet answered, and the lanes that wait for fewer (see HelperThreads). */
  private faces = 0;
  private waitingForFree: Array<{ slot: number; resolve: () => void }> = [];

  constructor(
    readonly size: number,
    /** Told of a helper that failed with no task to fail (it died idle, or could not start); it is replaced. */
    onThreadError: (error: Error) => void = (error) => process.emitWarning(error),
  ) {
    this.piscina = new Piscina({
      filename: new URL('./face-thread.js', import.meta.url).href,
      minThreads: size,
      maxThreads: size,
      // Tasks take milliseconds to tens of them, so piscina's Atomics.wait hand-off saves nothing worth blocking for.
      atomics: 'disabled',
    });
    this.piscina.on('error', onThreadError);
  }

  /** The live helper threads (for tests and diagnostics). */
  get threads(): readonly Worker[] {
    return this.piscina.threads;
  }

  /** Tasks the helpers have finished since the pool started (for tests and diagnostics). */
  get completed(): number {
    return this.piscina.completed;
  }

  /**
   * Refines the faces on the helpers and, with `inThisThread`, in this thread too; each takes the next face when
   * it finishes one. Results in job order.
   */
  run(jobs: FaceJob[], inThisThread = false): Promise<Array<FaceWork | null>> {
    const onHelper = (i: number): Promise<FaceWork | null> => {
      const job = jobs[i] as FaceJob;
      const task: HelperTask = { kind: 'face', ...job };
      return this.countedFace(this.piscina.run(task, { transferList: [job.crop.image.data.buffer as ArrayBuffer] }) as Promise<FaceWork | null>);
    };
    const here = (i: number): FaceWork | null => {
      const job = jobs[i] as FaceJob;
      return refineOneFace(job.crop, job.face, job.strength, job.tuning);
    };
    const helpers = Array.from({ length: this.size }, () => onHelper);
    const mine = inThisThread ? [here] : [];
    // This thread's lane holds the thread while it refines a face. With every helper idle, the helpers' lanes go
    // first, each sending a face before this thread starts one (after it, a helper sat idle for this thread's first
    // face). With some still refining faces given to them before (faces found early), this thread's lane goes
    // first, so it refines one at once rather than wait while the helpers' lanes queue faces behind theirs.
    return shareWork(jobs.length, this.faces === 0 ? [...helpers, ...mine] : [...mine, ...helpers]);
  }

  async findCandidates(modelPath: string, window: Float32Array, minScore: number): Promise<{ candidates: Candidate[]; window: Float32Array }> {
    const task: HelperTask = { kind: 'window', modelPath, window, minScore, nativeGate: currentNativeGate() };
    return (await this.piscina.run(task, { transferList: [window.buffer as ArrayBuffer] })) as { candidates: Candidate[]; window: Float32Array };
  }

  async fitMesh(modelDir: string, input: Float32Array): Promise<MeshOutput & { input: Float32Array }> {
    const task: HelperTask = { kind: 'mesh', modelDir, input, nativeGate: currentNativeGate() };
    return (await this.piscina.run(task, { transferList: [input.buffer as ArrayBuffer] })) as MeshOutput & { input: Float32Array };
  }

  whenFree(slot: number): Promise<void> {
    if (this.faces <= this.size - slot) return Promise.resolve();
    return new Promise((resolve) => this.waitingForFree.push({ slot, resolve }));
  }

  private async countedFace<T>(face: Promise<T>): Promise<T> {
    this.faces++;
    try {
      return await face;
    } finally {
      this.faces--;
      const waiting = this.waitingForFree;
      this.waitingForFree = waiting.filter(({ slot }) => this.faces > this.size - slot);
      for (const lane of waiting) if (this.faces <= this.size - lane.slot) lane.resolve();
    }
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
