import assert from 'node:assert/strict';
import { test } from 'node:test';
import { warpToCanonical, type CanonicalFrame } from '../src/refine/align.js';
import { luma } from '../src/refine/color.js';
import { invertSimilarity, type Similarity } from '../src/refine/geometry.js';
import type { RgbImage } from '../src/refine/image.js';

/** Catmull-Rom weights, as align.ts gives them. */
function cubic(t: number): number[] {
  return [-0.5 * t ** 3 + t * t - 0.5 * t, 1.5 * t ** 3 - 2.5 * t * t + 1, -1.5 * t ** 3 + 2 * t * t + 0.5 * t, 0.5 * t ** 3 - 0.5 * t * t];
}

/** The canonical crop's Y plane the slow way: every tap's source pixel clamped into the image, row by row. */
function referenceLuma(image: RgbImage, size: number, toImage: Similarity): Float32Array {
  const { data, width, height, channels } = image;
  const out = new Float32Array(size * size);
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const fx = toImage.a * (u + 0.5) - toImage.b * (v + 0.5) + toImage.tx - 0.5;
      const fy = toImage.b * (u + 0.5) + toImage.a * (v + 0.5) + toImage.ty - 0.5;
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const wx = cubic(fx - x0);
      const wy = cubic(fy - y0);
      const sums = [0, 0, 0];
      for (let j = 0; j < 4; j++) {
        for (let i = 0; i < 4; i++) {
          const w = (wy[j] as number) * (wx[i] as number);
          const x = Math.min(width - 1, Math.max(0, x0 - 1 + i));
          const y = Math.min(height - 1, Math.max(0, y0 - 1 + j));
          for (let c = 0; c < 3; c++) sums[c] = (sums[c] as number) + w * (data[(y * width + x) * channels + c] as number);
        }
      }
      out[v * size + u] = luma(sums[0] as number, sums[1] as number, sums[2] as number);
    }
  }
  return out;
}

test('the canonical warp equals a bicubic sample with every tap clamped into the image, inside and across its edges', () => {
  let state = 5;
  const random = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const image: RgbImage = { data: Uint8Array.from({ length: 61 * 47 * 3 }, () => Math.floor(256 * random())), width: 61, height: 47, channels: 3 };
  // turned and scaled frames whose crops lie inside the image, across one edge, across a corner, and beyond it
  const frames: Similarity[] = [
    { a: 0.5, b: 0.1, tx: 20, ty: 12 },
    { a: 0.9, b: -0.3, tx: -8, ty: 5 },
    { a: 1.2, b: 0.4, tx: 40, ty: 30 },
    { a: -0.7, b: 0.7, tx: 70, ty: -10 },
  ];
  for (const toImage of frames) {
    const size = 40;
    const frame: CanonicalFrame = { size, toImage, toCanonical: invertSimilarity(toImage), scale: 1, unit: size / 384 };
    assert.deepEqual(warpToCanonical(image, frame).y.data, referenceLuma(image, size, toImage), JSON.stringify(toImage));
  }
});
