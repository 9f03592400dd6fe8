import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { boxMean } from '../src/refine/filters.js';
import type { Plane } from '../src/refine/image.js';

/** The mean of every pixel of the (2r+1)^2 window that lies inside the plane, summed the slow way. */
function bruteBoxMean(plane: Plane, r: number): Float32Array {
  const { width, height, data } = plane;
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      let count = 0;
      for (let v = Math.max(0, y - r); v <= Math.min(height - 1, y + r); v++) {
        for (let u = Math.max(0, x - r); u <= Math.min(width - 1, x + r); u++) {
          sum += data[v * width + u] as number;
          count++;
        }
      }
      out[y * width + x] = sum / count;
    }
  }
  return out;
}

describe('box mean', () => {
  test('equals the mean of the window inside the plane, at the edges, in the middle, and for windows wider than the plane', () => {
    let state = 11;
    const random = (): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return (255 * state) / 2147483648;
    };
    for (const [width, height] of [[37, 23], [5, 40], [64, 64]] as const) {
      const plane: Plane = { data: Float32Array.from({ length: width * height }, random), width, height };
      for (const r of [0, 1, 2, 7, 30]) {
        const fast = boxMean(plane, r).data;
        const slow = bruteBoxMean(plane, r);
        const worst = fast.reduce((max, value, i) => Math.max(max, Math.abs(value - (slow[i] as number))), 0);
        assert.ok(worst < 1e-3, `${width}x${height}, radius ${r}: off by ${worst}`);
      }
    }
  });
});
