import type { FaceWork } from '../../face-work.js';
import { alignFace, restoredFaceWork } from '../aligned-face.js';
import type { FaceEngine, FaceEngineRequest } from '../engine.js';
import { restorerLevel } from './denoising.js';
import { runRestorer, type LoadedRestorer } from './session.js';

/** RGB 0..255 interleaved to the restorers' input: RGB, /255, then (x - 0.5) / 0.5, NCHW float32. */
export function toModelInput(rgb: Float32Array, size: number): Float32Array {
  const n = size * size;
  const input = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) input[c * n + i] = ((rgb[3 * i + c] as number) / 255 - 0.5) / 0.5;
  }
  return input;
}

/** The restorers' output back to RGB 0..255 interleaved: clipped to [-1, 1], (x + 1) / 2, x 255, CHW to HWC. */
export function fromModelOutput(output: Float32Array, size: number): Float32Array {
  const n = size * size;
  const rgb = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.min(1, Math.max(-1, output[c * n + i] as number));
      rgb[3 * i + c] = ((v + 1) / 2) * 255;
    }
  }
  return rgb;
}

/**
 * A learned face restorer (GFPGAN, CodeFormer, GPEN, RestoreFormer++) on ONNX Runtime: each face is warped to
 * the model's template at its input size, restored, and its change blended back through our face mask. Faces
 * larger than the input are restored at the input size and the change is upsampled by the blend; small faces are
 * warped up, which is what these models are trained for.
 */
export class RestorerEngine implements FaceEngine {
  readonly name: string;

  constructor(private readonly loaded: LoadedRestorer) {
    this.name = loaded.entry.name;
  }

  async refineFaces(request: FaceEngineRequest): Promise<Array<FaceWork | null>> {
    const { entry } = this.loaded;
    const level = restorerLevel(request.denoising);
    const works: Array<FaceWork | null> = [];
    for (const face of request.faces) {
      request.signal?.throwIfAborted();
      const aligned = alignFace(request.image, face, entry.template, entry.size);
      const output = await runRestorer(this.loaded, toModelInput(aligned.rgb, entry.size), level.codeformerWeight);
      works.push(restoredFaceWork(request.image, aligned, fromModelOutput(output, entry.size), level.blend));
    }
    return works;
  }

  async close(): Promise<void> {
    await this.loaded.session.release();
  }
}
