import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import type { Point } from './geometry.js';
import { nativeCall } from './native-gate.js';
import type { HelperThreads } from './share-work.js';

/** The detector's square input, in pixels. */
export const BLAZEFACE_INPUT = 256;

/** A face candidate from BlazeFace, in the coordinates of the 256 px window it was found in. */
export interface Candidate {
  cx: number;
  cy: number;
  width: number;
  height: number;
  /** The eye on the image's left and the one on its right when the face is upright, then nose and mouth. */
  keypoints: [Point, Point, Point, Point];
  score: number;
}

/** The ONNX file committed with the project (MediaPipe BlazeFace, back-camera 256 px model, Apache-2.0). */
export function defaultBlazeFacePath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // src/refine at run time is dist/src/refine: the models folder is at the package root either way.
  for (const root of [path.join(here, '..', '..'), path.join(here, '..', '..', '..')]) {
    const file = path.join(root, 'models', 'blazeface-back-256.onnx');
    if (fs.existsSync(file)) return file;
  }
  throw new Error(`Expected the BlazeFace model models/blazeface-back-256.onnx in the package but found none near ${here}`);
}

/**
 * The two anchor grids of the 256 px model, as MediaPipe lays them out: a 16x16 grid with 2 anchors per cell,
 * then an 8x8 grid with 6; box and keypoint offsets are in input pixels from the anchor's centre.
 */
const LAYERS = [
  { scores: 'Identity:0', boxes: 'Identity_2:0', cells: 16, anchors: 2 },
  { scores: 'Identity_1:0', boxes: 'Identity_3:0', cells: 8, anchors: 6 },
] as const;

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * Runs BlazeFace on windows in other threads (a refine thread's helpers), so one image's windows are looked at
 * on more than one core. A window's candidates do not depend on the thread that ran it.
 */
export interface WindowHelpers extends HelperThreads {
  /** Runs the model at `modelPath` on `window` (transferred, and given back with the candidates). */
  findCandidates(modelPath: string, window: Float32Array, minScore: number): Promise<{ candidates: Candidate[]; window: Float32Array }>;
}

/** BlazeFace on ONNX Runtime: a few milliseconds per 256 px window on one core. */
export class BlazeFace {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** The model file, so a helper thread can load the same model and give the same candidates. */
    readonly modelPath: string,
  ) {}

  static async create(modelPath = defaultBlazeFacePath()): Promise<BlazeFace> {
    // One thread: each refine thread runs its own session, and the machine's cores are the refine threads.
    const session = await nativeCall('loading BlazeFace', () =>
      ort.InferenceSession.create(modelPath, {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        logSeverityLevel: 3,
      }),
    );
    return new BlazeFace(session, modelPath);
  }

  /** Candidates scoring at least `minScore` in one 256x256 RGB window given as floats in [-1, 1]. */
  async run(window: Float32Array, minScore: number): Promise<Candidate[]> {
    const input = new ort.Tensor('float32', window, [1, BLAZEFACE_INPUT, BLAZEFACE_INPUT, 3]);
    const outputs = await nativeCall('a BlazeFace run', () => this.session.run({ 'input:0': input }));
    const found: Candidate[] = [];
    const minLogit = Math.log(minScore / (1 - minScore));
    for (const layer of LAYERS) {
      const scores = outputs[layer.scores]?.data as Float32Array | undefined;
      const boxes = outputs[layer.boxes]?.data as Float32Array | undefined;
      if (!scores || !boxes) throw new Error(`BlazeFace model lacks output ${layer.scores} or ${layer.boxes}`);
      for (let i = 0; i < scores.length; i++) {
        const logit = scores[i] as number;
        if (logit < minLogit) continue;
        const cell = Math.floor(i / layer.anchors);
        const ax = ((cell % layer.cells) + 0.5) * (BLAZEFACE_INPUT / layer.cells);
        const ay = (Math.floor(cell / layer.cells) + 0.5) * (BLAZEFACE_INPUT / layer.cells);
        const b = boxes.subarray(i * 16, i * 16 + 16);
        const point = (k: number): Point => ({ x: ax + (b[4 + 2 * k] as number), y: ay + (b[5 + 2 * k] as number) });
        found.push({
          cx: ax + (b[0] as number),
          cy: ay + (b[1] as number),
          width: b[2] as number,
          height: b[3] as number,
          keypoints: [point(0), point(1), point(2), point(3)],
          score: sigmoid(logit),
        });
      }
    }
    for (const output of Object.values(outputs)) output.dispose();
    return found;
  }
}
