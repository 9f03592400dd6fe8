import type { Plane } from './image.js';

/** The orthonormal 8x8 DCT-II, which is JPEG's own transform: JPEG's coefficients are this times nothing. */
const N = 8;
const BASIS = (() => {
  const m = new Float64Array(N * N);
  for (let k = 0; k < N; k++) {
    const c = k === 0 ? Math.SQRT1_2 : 1;
    for (let n = 0; n < N; n++) m[k * N + n] = 0.5 * c * Math.cos(((2 * n + 1) * k * Math.PI) / 16);
  }
  return m;
})();

/** In-place forward (inverse = false) or inverse 2-D DCT of an 8x8 block, row-major, through `tmp`. */
export function dct8x8(block: Float64Array, tmp: Float64Array, inverse: boolean): void {
  const pass = inverse ? inverse8 : forward8;
  // rows, then columns
  for (let r = 0; r < N; r++) pass(block, r * N, 1, tmp, r * N, 1);
  for (let c = 0; c < N; c++) pass(tmp, c, N, block, c, N);
}

/**
 * The 8-point forward DCT of every row segment a sliding window will read: for window column `xs[i]` and image
 * row y, at ((i * height + y) * N + k). A window's row pass is then the N x N run starting at row `by`, the same
 * numbers dct8x8 would compute for it (same terms, same order), computed once instead of once per window
 * overlapping that row (four times at step 2).
 */
function rowDcts(plane: Plane, xs: number[]): Float64Array {
  const { width, height, data } = plane;
  const out = new Float64Array(xs.length * height * N);
  xs.forEach((bx, i) => {
    for (let y = 0; y < height; y++) {
      const from = y * width + bx;
      forward8(data, from, 1, out, (i * height + y) * N, 1);
    }
  });
  return out;
}

/**
 * One 8-point forward DCT, `input[from + n * inStep]` to `output[to + k * outStep]`: the sums dct8x8's loops
 * make, written out term by term in the same order (0 + first + second ...), so each is the same to the bit.
 */
function forward8(input: ArrayLike<number>, from: number, inStep: number, output: Float64Array, to: number, outStep: number): void {
  const x0 = input[from] as number;
  const x1 = input[from + inStep] as number;
  const x2 = input[from + 2 * inStep] as number;
  const x3 = input[from + 3 * inStep] as number;
  const x4 = input[from + 4 * inStep] as number;
  const x5 = input[from + 5 * inStep] as number;
  const x6 = input[from + 6 * inStep] as number;
  const x7 = input[from + 7 * inStep] as number;
  for (let k = 0, b = 0; k < N; k++, b += N) {
    output[to + k * outStep] =
      0 +
      (BASIS[b] as number) * x0 +
      (BASIS[b + 1] as number) * x1 +
      (BASIS[b + 2] as number) * x2 +
      (BASIS[b + 3] as number) * x3 +
      (BASIS[b + 4] as number) * x4 +
      (BASIS[b + 5] as number) * x5 +
      (BASIS[b + 6] as number) * x6 +
      (BASIS[b + 7] as number) * x7;
  }
}

/** One 8-point inverse DCT, as forward8 (dct8x8's inverse sums, term by term in the same order). */
function inverse8(input: Float64Array, from: number, inStep: number, output: Float64Array, to: number, outStep: number): void {
  const x0 = input[from] as number;
  const x1 = input[from + inStep] as number;
  const x2 = input[from + 2 * inStep] as number;
  const x3 = input[from + 3 * inStep] as number;
  const x4 = input[from + 4 * inStep] as number;
  const x5 = input[from + 5 * inStep] as number;
  const x6 = input[from + 6 * inStep] as number;
  const x7 = input[from + 7 * inStep] as number;
  for (let k = 0; k < N; k++) {
    output[to + k * outStep] =
      0 +
      (BASIS[k] as number) * x0 +
      (BASIS[N + k] as number) * x1 +
      (BASIS[2 * N + k] as number) * x2 +
      (BASIS[3 * N + k] as number) * x3 +
      (BASIS[4 * N + k] as number) * x4 +
      (BASIS[5 * N + k] as number) * x5 +
      (BASIS[6 * N + k] as number) * x6 +
      (BASIS[7 * N + k] as number) * x7;
  }
}

/** dct8x8's inverse, through `tmp`, with the sums written out (inverse8). */
function inverseDense(block: Float64Array, tmp: Float64Array): void {
  for (let r = 0; r < N; r++) inverse8(block, r * N, 1, tmp, r * N, 1);
  for (let c = 0; c < N; c++) inverse8(tmp, c, N, block, c, N);
}

/** The column pass of dct8x8's forward transform, on a row pass read from `rows` at `at`, into `block`. */
function forwardColumns(rows: Float64Array, at: number, block: Float64Array): void {
  for (let c = 0; c < N; c++) forward8(rows, at + c, N, block, c, N);
}

/**
 * dct8x8's inverse, skipping the rows of coefficients that are all zero (most of them, once thresholded): their
 * terms are zeros, and adding a zero to a sum leaves it as it was, so the result is dct8x8's to the bit.
 */
function inverseSparse(block: Float64Array, tmp: Float64Array, rowsUsed: Uint8Array): void {
  let used = 0;
  for (let r = 0; r < N; r++) {
    let any = false;
    for (let n = 0; n < N; n++) if ((block[r * N + n] as number) !== 0) any = true;
    if (!any) continue;
    rowsUsed[used++] = r;
    inverse8(block, r * N, 1, tmp, r * N, 1);
  }
  if (used === N) {
    for (let c = 0; c < N; c++) inverse8(tmp, c, N, block, c, N);
    return;
  }
  for (let c = 0; c < N; c++) {
    for (let k = 0; k < N; k++) {
      let s = 0;
      for (let u = 0; u < used; u++) {
        const n = rowsUsed[u] as number;
        s += (BASIS[n * N + k] as number) * (tmp[n * N + c] as number);
      }
      block[k * N + c] = s;
    }
  }
}

/** Block positions along one axis, `step` apart, the last flush with the edge so every pixel is covered. */
function positions(length: number, step: number): number[] {
  const out: number[] = [];
  for (let p = 0; p + N <= length; p += step) out.push(p);
  if (out.length > 0 && (out[out.length - 1] as number) !== length - N) out.push(length - N);
  return out;
}

/**
 * Overlapping windows written back with one weight each and averaged: how both sliding-window filters below
 * aggregate their windows (a pixel no window covered keeps its input value).
 */
class WindowAverage {
  private readonly sum: Float64Array;
  private readonly weight: Float64Array;

  constructor(private readonly width: number, private readonly height: number) {
    this.sum = new Float64Array(width * height);
    this.weight = new Float64Array(width * height);
  }

  add(block: Float64Array, bx: number, by: number, w: number): void {
    for (let j = 0; j < N; j++) {
      const row = (by + j) * this.width + bx;
      for (let i = 0; i < N; i++) {
        this.sum[row + i] = (this.sum[row + i] as number) + w * (block[j * N + i] as number);
        this.weight[row + i] = (this.weight[row + i] as number) + w;
      }
    }
  }

  result(input: Plane['data']): Plane {
    const { width, height, sum, weight } = this;
    const out = new Float32Array(width * height);
    for (let i = 0; i < out.length; i++) out[i] = (weight[i] as number) > 0 ? (sum[i] as number) / (weight[i] as number) : (input[i] as number);
    return { data: out, width, height };
  }
}

/**
 * Sliding-window DCT shrinkage (Yu & Sapiro, "DCT image denoising", IPOL 2011; for JPEG, Nosratinia's
 * re-application of the transform at every shift): every 8x8 window, `step` pixels apart, is transformed, its
 * coefficients below their threshold are zeroed, and the windows are transformed back and averaged, each
 * weighted by its sparsity (fewer kept coefficients: a flatter window, a surer estimate). The DC term is kept.
 */
export function slidingDctShrink(plane: Plane, thresholds: Float64Array, step: number): Plane {
  const { width, height, data } = plane;
  if (width < N || height < N) return plane;
  const average = new WindowAverage(width, height);
  const block = new Float64Array(N * N);
  const tmp = new Float64Array(N * N);
  const rowsUsed = new Uint8Array(N);
  const xs = positions(width, step);
  const ys = positions(height, step);
  const rows = rowDcts(plane, xs);
  for (const by of ys) {
    for (let xi = 0; xi < xs.length; xi++) {
      forwardColumns(rows, (xi * height + by) * N, block);
      let kept = 1;
      for (let k = 1; k < N * N; k++) {
        if (Math.abs(block[k] as number) < (thresholds[k] as number)) block[k] = 0;
        else kept++;
      }
      inverseSparse(block, tmp, rowsUsed);
      average.add(block, xs[xi] as number, by, 1 / kept);
    }
  }
  return average.result(data);
}

/**
 * The second, Wiener stage of sliding-window DCT denoising (as in BM3D's second step, without block matching):
 * each window's coefficients are scaled by P^2 / (P^2 + sigma^2), P being the same coefficient of a first
 * estimate (`pilot`), so each frequency is kept as much as the picture, not the noise, fills it. Adapts to the
 * face: smooth skin is flattened more than a single threshold would, fine detail kept more.
 */
export function slidingDctWiener(noisy: Plane, pilot: Plane, sigma: number, step: number): Plane {
  const { width, height } = noisy;
  if (width < N || height < N) return noisy;
  const average = new WindowAverage(width, height);
  const block = new Float64Array(N * N);
  const guide = new Float64Array(N * N);
  const tmp = new Float64Array(N * N);
  const s2 = sigma * sigma;
  const xs = positions(width, step);
  const noisyRows = rowDcts(noisy, xs);
  const pilotRows = rowDcts(pilot, xs);
  for (const by of positions(height, step)) {
    for (let xi = 0; xi < xs.length; xi++) {
      forwardColumns(noisyRows, (xi * height + by) * N, block);
      forwardColumns(pilotRows, (xi * height + by) * N, guide);
      let energy = 1;
      for (let k = 1; k < N * N; k++) {
        const p2 = (guide[k] as number) ** 2;
        const w = p2 / (p2 + s2);
        block[k] = w * (block[k] as number);
        energy += w * w;
      }
      inverseDense(block, tmp);
      average.add(block, xs[xi] as number, by, 1 / energy);
    }
  }
  return average.result(noisy.data);
}

/**
 * Keeps a restored plane consistent with the JPEG it came from: on the JPEG's own 8x8 grid (block edges where
 * (x + offsetX) % 8 === 0), each coefficient of the restoration is clamped into the quantization interval of
 * the decoded one, so no restoration can contradict what the file actually says about the picture.
 */
export function projectOnQuantization(restored: Plane, decoded: Plane, table: Float64Array, offsetX: number, offsetY: number): Plane {
  const { width, height } = restored;
  const out = Float32Array.from(restored.data);
  const a = new Float64Array(N * N);
  const b = new Float64Array(N * N);
  const tmp = new Float64Array(N * N);
  for (let by = (N - (offsetY % N)) % N; by + N <= height; by += N) {
    for (let bx = (N - (offsetX % N)) % N; bx + N <= width; bx += N) {
      for (let j = 0; j < N; j++) {
        for (let i = 0; i < N; i++) {
          a[j * N + i] = restored.data[(by + j) * width + bx + i] as number;
          b[j * N + i] = decoded.data[(by + j) * width + bx + i] as number;
        }
      }
      dct8x8(a, tmp, false);
      dct8x8(b, tmp, false);
      for (let k = 0; k < N * N; k++) {
        const half = 0.5 * (table[k] as number);
        const centre = b[k] as number;
        a[k] = Math.min(centre + half, Math.max(centre - half, a[k] as number));
      }
      dct8x8(a, tmp, true);
      for (let j = 0; j < N; j++) for (let i = 0; i < N; i++) out[(by + j) * width + bx + i] = a[j * N + i] as number;
    }
  }
  return { data: out, width, height };
}

/** The JPEG standard's (Annex K) luminance and chrominance tables, in row-major order. */
const LUMA_TABLE = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_TABLE = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

/**
 * The quantization table libjpeg (and so sharp, and most cameras' software) uses at `quality` 1..100.
 * `transposed`: as it acts on a JPEG turned by a quarter after decoding, whose horizontal frequencies were
 * quantized with the vertical ones' steps and the other way round.
 */
export function jpegTable(quality: number, chroma = false, transposed = false): Float64Array {
  return cachedJpegTable(quality, chroma, transposed).slice();
}

/** jpegTable's tables, made once each (the quality estimate tries 172 per face): not to be written to. */
const TABLES = new Map<string, Float64Array>();

function cachedJpegTable(quality: number, chroma: boolean, transposed: boolean): Float64Array {
  const key = `${quality} ${chroma} ${transposed}`;
  let table = TABLES.get(key);
  if (!table) {
    table = makeJpegTable(quality, chroma, transposed);
    TABLES.set(key, table);
  }
  return table;
}

function makeJpegTable(quality: number, chroma: boolean, transposed: boolean): Float64Array {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? 5000 / q : 200 - 2 * q;
  const base = chroma ? CHROMA_TABLE : LUMA_TABLE;
  return Float64Array.from({ length: N * N }, (_, k) => {
    const v = base[transposed ? (k % N) * N + Math.floor(k / N) : k] as number;
    return Math.min(255, Math.max(1, Math.floor((v * scale + 50) / 100)));
  });
}

/** Zig-zag positions 1..10: low frequencies, which even a heavily compressed face keeps non-zero. */
const PROBED = [1, 8, 16, 9, 2, 3, 10, 17, 24, 32];
/** The horizontal (columns) and vertical (rows) frequencies the probed positions reach: 0..3 and 0..4. */
const PROBED_COLUMNS = Math.max(...PROBED.map((k) => k % N)) + 1;
const PROBED_ROWS = Math.max(...PROBED.map((k) => Math.floor(k / N))) + 1;

/** forward8, only its first `count` outputs. */
function forward8Some(input: Float64Array, from: number, inStep: number, output: Float64Array, to: number, outStep: number, count: number): void {
  for (let k = 0, b = 0; k < count; k++, b += N) {
    let s = 0;
    for (let n = 0; n < N; n++) s += (BASIS[b + n] as number) * (input[from + n * inStep] as number);
    output[to + k * outStep] = s;
  }
}

/** How a plane fits a JPEG: the quality it was saved at, and whether it was turned by a quarter since. */
export interface JpegFit {
  quality: number;
  transposed: boolean;
}

/**
 * Mean distance of the probed coefficients to the nearest multiple of their step, in steps: about 0.25 for
 * coefficients never quantized with these steps; only the decoder's rounding for the true ones (measured 0.08
 * on a quality-80 photo, where steps of 4 to 6 make that rounding count most; 0.02 at quality 20). A
 * neighbouring quality, whose steps partly coincide, lands between (0.11 to 0.15 around 80).
 */
const TRUE_STEPS_BELOW = 0.1;

/**
 * The JPEG quality a luminance plane was last saved at, and whether it has been turned by a quarter since, or
 * undefined when it does not look like a JPEG on this grid. A decoded JPEG's coefficients on its own grid sit on
 * multiples of the quantization step: the quality (and orientation) whose steps they fit best is the one it
 * was saved at; of qualities fitting equally, the lowest (a higher quality's finer steps can fit too).
 * A half turn keeps each coefficient's step (only signs change); a quarter turn swaps rows and columns.
 */
export function estimateJpegQuality(luma: Plane, offsetX: number, offsetY: number): JpegFit | undefined {
  const { width, height, data } = luma;
  const blocks = Math.floor(width / N) * Math.floor(height / N);
  // per probed coefficient, its values over the blocks (those above 1.5), in block order
  const coefficients = PROBED.map(() => new Float64Array(blocks));
  const counts = new Int32Array(PROBED.length);
  const pixels = new Float64Array(N * N);
  const rows = new Float64Array(N * N);
  const block = new Float64Array(N * N);
  for (let by = (N - (offsetY % N)) % N; by + N <= height; by += N) {
    for (let bx = (N - (offsetX % N)) % N; bx + N <= width; bx += N) {
      for (let j = 0; j < N; j++) for (let i = 0; i < N; i++) pixels[j * N + i] = data[(by + j) * width + bx + i] as number;
      // dct8x8's forward transform, only as far as the probed coefficients need: horizontal frequencies up
      // to PROBED_COLUMNS in the row pass, and the probed ones in the column pass (the same sums, so the same
      // values)
      for (let j = 0; j < N; j++) forward8Some(pixels, j * N, 1, rows, j * N, 1, PROBED_COLUMNS);
      for (let c = 0; c < PROBED_COLUMNS; c++) forward8Some(rows, c, N, block, c, N, PROBED_ROWS);
      for (let p = 0; p < PROBED.length; p++) {
        const c = block[PROBED[p] as number] as number;
        if (Math.abs(c) > 1.5) (coefficients[p] as Float64Array)[(counts[p] as number)++] = c;
      }
    }
  }
  // Each probed coefficient's misfit to a step, summed over its values once per step: the 172 tables tried
  // below share their steps (integers; qualities 5 to 90 give each probed coefficient 41 to 72 distinct ones),
  // and summing the values again for every table was most of this function's time. Summed apart and then added,
  // and times the reciprocal, the misfits differ from the old per-table sums in their last bits only: the
  // reading moves only if one lands within a bit of a threshold (the same readings on 72 JPEGs, and the same
  // refined pixels on 60 cases).
  const sums = PROBED.map(() => new Map<number, number>());
  const misfitSum = (p: number, step: number): number => {
    const known = sums[p] as Map<number, number>;
    let sum = known.get(step);
    if (sum === undefined) {
      sum = 0;
      const values = coefficients[p] as Float64Array;
      const n = counts[p] as number;
      // times the reciprocal: a division per value was most of the time left (see above)
      const perStep = 1 / step;
      for (let i = 0; i < n; i++) {
        const r = (values[i] as number) * perStep;
        sum += Math.abs(r - Math.round(r));
      }
      known.set(step, sum);
    }
    return sum;
  };
  // The mean misfit of a table, or Infinity once it cannot come under TRUE_STEPS_BELOW: the sum only grows, so
  // a partial sum already at the bar (over the final count) rules the table out, as its full sum would.
  const misfitOf = (table: Float64Array): number => {
    let count = 0;
    for (let p = 0; p < PROBED.length; p++) if ((table[PROBED[p] as number] as number) >= 4) count += counts[p] as number;
    if (count < 40) return Infinity;
    let misfit = 0;
    for (let p = 0; p < PROBED.length; p++) {
      const step = table[PROBED[p] as number] as number;
      if (step < 4) continue;
      misfit += misfitSum(p, step);
      if (misfit / count >= TRUE_STEPS_BELOW) return Infinity;
    }
    return misfit / count;
  };
  let best: (JpegFit & { misfit: number }) | undefined;
  for (let quality = 5; quality <= 90; quality++) {
    for (const transposed of [false, true]) {
      const misfit = misfitOf(cachedJpegTable(quality, false, transposed));
      // a later candidate must fit clearly better: rounding alone must not move the answer to a finer quality
      if (misfit < TRUE_STEPS_BELOW && (best === undefined || misfit < best.misfit - 0.01)) best = { quality, transposed, misfit };
    }
  }
  return best && { quality: best.quality, transposed: best.transposed };
}
