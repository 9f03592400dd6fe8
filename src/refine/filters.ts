import type { Plane } from './image.js';
import { lendPlane, takeBack } from './scratch.js';

// Hand-written rather than sharp: these run on small float planes inside one face region, where a round trip
// through libvips (8-bit buffers, a pipeline per call) would cost more than the arithmetic and lose precision.

/**
 * Mean over a (2r+1)^2 window of `data` into `out`, edges averaged over the pixels that exist, through `tmp`
 * (all three width x height; `out` may not be `data`). O(pixels), independent of r. Both passes walk rows, so
 * memory is read in order: the vertical pass keeps one running sum per column. Where the window is whole (all
 * but r pixels at each end) the sum is multiplied by 1 / (2r + 1) rather than divided, and the entering and
 * leaving values are subtracted before they are added to it: a division per pixel was most of this function's
 * time. Both change only the last bits of a float64, below float32's precision in all but rare roundings (the
 * refined pixels of 60 cases came out the same). A radius under 1 is a copy.
 */
function boxMeanInto(data: Float32Array, out: Float32Array, tmp: Float32Array, width: number, height: number, radius: number): void {
  const r = Math.max(0, Math.floor(radius));
  if (r === 0) {
    out.set(data.subarray(0, width * height));
    return;
  }
  const whole = 1 / (2 * r + 1);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let sum = 0;
    let count = 0;
    for (let x = 0; x <= Math.min(r, width - 1); x++) {
      sum += data[row + x] as number;
      count++;
    }
    // the loop of a running sum, split where the window stops growing and where it starts shrinking, so the
    // long middle part runs without tests
    const grown = Math.min(width, r); // from here on, x - r >= 0
    const shrinking = Math.max(0, width - r - 1); // from here on, x + r + 1 >= width
    let x = 0;
    for (; x < Math.min(grown, shrinking); x++) {
      tmp[row + x] = sum / count;
      sum += data[row + x + r + 1] as number;
      count++;
    }
    // count is 2r + 1 here, the whole window
    for (; x < shrinking; x++) {
      tmp[row + x] = sum * whole;
      sum += (data[row + x + r + 1] as number) - (data[row + x - r] as number);
    }
    for (; x < width; x++) {
      tmp[row + x] = sum / count;
      if (x + r + 1 < width) {
        sum += data[row + x + r + 1] as number;
        count++;
      }
      if (x - r >= 0) {
        sum -= data[row + x - r] as number;
        count--;
      }
    }
  }
  const sums = new Float64Array(width);
  let count = 0;
  for (let y = 0; y <= Math.min(r, height - 1); y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) sums[x] = (sums[x] as number) + (tmp[row + x] as number);
    count++;
  }
  for (let y = 0; y < height; y++) {
    const row = y * width;
    const add = y + r + 1 < height ? (y + r + 1) * width : -1;
    const drop = y - r >= 0 ? (y - r) * width : -1;
    // one sweep per row: write the mean, then add the entering row and drop the leaving one
    if (add >= 0 && drop >= 0) {
      // both rows exist, so the window is whole
      for (let x = 0; x < width; x++) {
        const sum = sums[x] as number;
        out[row + x] = sum * whole;
        sums[x] = sum + ((tmp[add + x] as number) - (tmp[drop + x] as number));
      }
    } else if (add >= 0) {
      for (let x = 0; x < width; x++) {
        const sum = sums[x] as number;
        out[row + x] = sum / count;
        sums[x] = sum + (tmp[add + x] as number);
      }
      count++;
    } else if (drop >= 0) {
      for (let x = 0; x < width; x++) {
        const sum = sums[x] as number;
        out[row + x] = sum / count;
        sums[x] = sum - (tmp[drop + x] as number);
      }
      count--;
    } else {
      for (let x = 0; x < width; x++) out[row + x] = (sums[x] as number) / count;
    }
  }
}

/** Mean over a (2r+1)^2 window, edges averaged over the pixels that exist. O(pixels), independent of r. */
export function boxMean(plane: Plane, radius: number): Plane {
  const { width, height, data } = plane;
  const out = new Float32Array(width * height);
  boxMeanInto(data, out, new Float32Array(width * height), width, height, radius);
  return { data: out, width, height };
}

/**
 * Gaussian blur approximated by three box passes (error under 3%), radii chosen for the given sigma. Written into
 * `out` (a plane of the same size, not `plane`'s own data) when given, e.g. a scratch plane for a blur used only briefly.
 */
export function gaussianBlur(plane: Plane, sigma: number, out?: Float32Array): Plane {
  if (sigma <= 0) return plane;
  const passes = 3;
  const ideal = Math.sqrt((12 * sigma * sigma) / passes + 1);
  let lower = Math.floor(ideal);
  if (lower % 2 === 0) lower--;
  const upper = lower + 2;
  const m = Math.round(
    (12 * sigma * sigma - passes * lower * lower - 4 * passes * lower - 3 * passes) / (-4 * lower - 4),
  );
  const { width, height } = plane;
  const result = out ?? new Float32Array(width * height);
  // three passes through the result and a scratch plane, each pass through a second scratch plane: the odd
  // number of passes ends in the result
  const tmp = lendPlane(width * height);
  const spare = lendPlane(width * height);
  try {
    let from = plane.data;
    let to = result;
    let other = spare;
    for (let i = 0; i < passes; i++) {
      const size = i < m ? lower : upper;
      boxMeanInto(from, to, tmp, width, height, (size - 1) / 2);
      from = to;
      [to, other] = [other, to];
    }
    return { data: from, width, height };
  } finally {
    takeBack(tmp, spare);
  }
}

/**
 * Self-guided filter (He, Sun, Tang): smooths where local variance is below `eps` and keeps edges above it.
 * Edge-preserving like a bilateral filter but O(pixels) at any radius. Written into `out` (the same size, not
 * `plane`'s own data) when given.
 */
export function guidedFilter(plane: Plane, radius: number, eps: number, out?: Float32Array): Plane {
  if (!(eps > 0)) return plane;
  const { width, height, data } = plane;
  const n = data.length;
  const result = out ?? new Float32Array(n);
  const scratch = [lendPlane(n), lendPlane(n), lendPlane(n), lendPlane(n)] as const;
  try {
    guidedFilterInto(data, result, width, height, radius, eps, ...scratch);
  } finally {
    takeBack(...scratch);
  }
  return { data: result, width, height };
}

/** guidedFilter's arithmetic, into `out` through four scratch planes of the same size. */
function guidedFilterInto(
  data: Float32Array,
  out: Float32Array,
  width: number,
  height: number,
  radius: number,
  eps: number,
  tmp: Float32Array,
  mean: Float32Array,
  meanSq: Float32Array,
  squares: Float32Array,
): void {
  const n = data.length;
  for (let i = 0; i < n; i++) squares[i] = (data[i] as number) * (data[i] as number);
  boxMeanInto(data, mean, tmp, width, height, radius);
  boxMeanInto(squares, meanSq, tmp, width, height, radius);
  // a and b reuse the squares' and meanSq's planes: each is read at i before it is written at i
  const a = squares;
  const b = meanSq;
  for (let i = 0; i < n; i++) {
    const m = mean[i] as number;
    const variance = Math.max(0, (meanSq[i] as number) - m * m);
    const ai = variance / (variance + eps);
    a[i] = ai;
    b[i] = m - ai * m;
  }
  const meanA = mean;
  // the mean of b goes straight into `out`, which then takes meanA * data on top, each read before it is written
  const meanB = out;
  boxMeanInto(a, meanA, tmp, width, height, radius);
  boxMeanInto(b, meanB, tmp, width, height, radius);
  for (let i = 0; i < n; i++) out[i] = (meanA[i] as number) * (data[i] as number) + (meanB[i] as number);
}
