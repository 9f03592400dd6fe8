import type { Plane } from './image.js';

// Hand-written rather than sharp: these run on small float planes inside one face region, where a round trip
// through libvips (8-bit buffers, a pipeline per call) would cost more than the arithmetic and lose precision.

/** Mean over a (2r+1)^2 window, edges averaged over the pixels that exist. O(pixels), independent of r. */
export function boxMean(plane: Plane, radius: number): Plane {
  const { width, height, data } = plane;
  const tmp = new Float32Array(width * height);
  const out = new Float32Array(width * height);
  const r = Math.max(0, Math.floor(radius));
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let sum = 0;
    let count = 0;
    for (let x = 0; x <= Math.min(r, width - 1); x++) {
      sum += data[row + x] as number;
      count++;
    }
    for (let x = 0; x < width; x++) {
      tmp[row + x] = sum / count;
      const add = x + r + 1;
      const drop = x - r;
      if (add < width) {
        sum += data[row + add] as number;
        count++;
      }
      if (drop >= 0) {
        sum -= data[row + drop] as number;
        count--;
      }
    }
  }
  for (let x = 0; x < width; x++) {
    let sum = 0;
    let count = 0;
    for (let y = 0; y <= Math.min(r, height - 1); y++) {
      sum += tmp[y * width + x] as number;
      count++;
    }
    for (let y = 0; y < height; y++) {
      out[y * width + x] = sum / count;
      const add = y + r + 1;
      const drop = y - r;
      if (add < height) {
        sum += tmp[add * width + x] as number;
        count++;
      }
      if (drop >= 0) {
        sum -= tmp[drop * width + x] as number;
        count--;
      }
    }
  }
  return { data: out, width, height };
}

/** Gaussian blur approximated by three box passes (error under 3%), radii chosen for the given sigma. */
export function gaussianBlur(plane: Plane, sigma: number): Plane {
  if (sigma <= 0) return plane;
  const passes = 3;
  const ideal = Math.sqrt((12 * sigma * sigma) / passes + 1);
  let lower = Math.floor(ideal);
  if (lower % 2 === 0) lower--;
  const upper = lower + 2;
  const m = Math.round(
    (12 * sigma * sigma - passes * lower * lower - 4 * passes * lower - 3 * passes) / (-4 * lower - 4),
  );
  let result = plane;
  for (let i = 0; i < passes; i++) {
    const size = i < m ? lower : upper;
    result = boxMean(result, (size - 1) / 2);
  }
  return result;
}

function map2(a: Float32Array, b: Float32Array, f: (x: number, y: number) => number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = f(a[i] as number, b[i] as number);
  return out;
}

/**
 * Self-guided filter (He, Sun, Tang): smooths where local variance is below `eps` and keeps edges above it.
 * Edge-preserving like a bilateral filter but O(pixels) at any radius.
 */
export function guidedFilter(plane: Plane, radius: number, eps: number): Plane {
  if (!(eps > 0)) return plane;
  const { width, height, data } = plane;
  const mean = boxMean(plane, radius).data;
  const meanSq = boxMean({ data: map2(data, data, (x, y) => x * y), width, height }, radius).data;
  const a = new Float32Array(data.length);
  const b = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const m = mean[i] as number;
    const variance = Math.max(0, (meanSq[i] as number) - m * m);
    const ai = variance / (variance + eps);
    a[i] = ai;
    b[i] = m - ai * m;
  }
  const meanA = boxMean({ data: a, width, height }, radius).data;
  const meanB = boxMean({ data: b, width, height }, radius).data;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = (meanA[i] as number) * (data[i] as number) + (meanB[i] as number);
  return { data: out, width, height };
}
