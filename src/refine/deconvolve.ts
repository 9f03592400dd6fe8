import type { Plane } from './image.js';

/**
 * Deconvolution of a gaussian blur: a Wiener filter, applied as two 1-D passes (rows, then columns).
 *
 * The 1-D filter is W(f) = H(f) / (H(f)^2 (1 - k) + k), H(f) = exp(-2 pi^2 sigma^2 f^2): the inverse of the blur
 * where the blur left signal (H^2 >> k), fading to nothing where it took the signal away (H^2 << k), and exactly
 * 1 at DC so flat areas keep their level. Applied along x and then y, the 2-D response is H / (H^2 + R): the
 * 2-D Wiener filter with a regulariser R that grows with frequency in either direction, at the cost of 2 x
 * (2r + 1) multiplications per pixel instead of an FFT of the whole crop.
 */

/** Frequencies sampled to design the taps: fine enough that the truncated kernel matches W within 1%. */
const DESIGN_POINTS = 256;

/** Taps w[-r..r] of the 1-D Wiener deconvolution filter for a gaussian of `sigma` px and regulariser `k`. */
export function wienerTaps(sigma: number, k: number, radius: number): Float64Array {
  const taps = new Float64Array(2 * radius + 1);
  for (let j = 0; j < DESIGN_POINTS; j++) {
    const f = j / DESIGN_POINTS - 0.5;
    const h = Math.exp(-2 * Math.PI * Math.PI * sigma * sigma * f * f);
    const w = h / (h * h * (1 - k) + k);
    for (let n = -radius; n <= radius; n++) taps[n + radius] = (taps[n + radius] as number) + (w * Math.cos(2 * Math.PI * f * n)) / DESIGN_POINTS;
  }
  // a smooth taper at the ends, so the truncation does not ring, then DC gain exactly 1
  let sum = 0;
  for (let n = -radius; n <= radius; n++) {
    const taper = 0.5 + 0.5 * Math.cos((Math.PI * n) / (radius + 1));
    taps[n + radius] = (taps[n + radius] as number) * taper;
    sum += taps[n + radius] as number;
  }
  return taps.map((t) => t / sum);
}

/** Mirrored index (…2 1 0 1 2…): no dark or bright frame at the crop's border. */
const mirror = (i: number, n: number): number => {
  if (n === 1) return 0;
  let k = i;
  while (k < 0 || k >= n) k = k < 0 ? -k : 2 * n - 2 - k;
  return k;
};

function convolveRows(data: Float32Array, width: number, height: number, taps: Float64Array): Float32Array {
  const r = (taps.length - 1) / 2;
  const out = new Float32Array(data.length);
  const line = new Float32Array(width + 2 * r);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = -r; x < width + r; x++) line[x + r] = data[row + mirror(x, width)] as number;
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let t = 0; t < taps.length; t++) s += (taps[t] as number) * (line[x + t] as number);
      out[row + x] = s;
    }
  }
  return out;
}

function convolveColumns(data: Float32Array, width: number, height: number, taps: Float64Array): Float32Array {
  const r = (taps.length - 1) / 2;
  const out = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let t = 0; t < taps.length; t++) {
      const weight = taps[t] as number;
      const from = mirror(y + t - r, height) * width;
      for (let x = 0; x < width; x++) out[row + x] = (out[row + x] as number) + weight * (data[from + x] as number);
    }
  }
  return out;
}

/** The plane deconvolved of a gaussian blur of `sigma` px, regularised by `k` (see above). */
export function deconvolveGaussian(plane: Plane, sigma: number, k: number): Plane {
  // the inverse filter's taps fade within about 3 sigma of the centre, the more slowly the smaller k is
  const radius = Math.max(2, Math.ceil(3 * sigma + 1));
  const taps = wienerTaps(sigma, k, radius);
  const rows = convolveRows(plane.data, plane.width, plane.height, taps);
  return { data: convolveColumns(rows, plane.width, plane.height, taps), width: plane.width, height: plane.height };
}

/** Minimum and maximum of `data` over the (2r+1)^2 square around each pixel, as two separable passes each. */
function localRange(data: Float32Array, width: number, height: number, r: number): { lo: Float32Array; hi: Float32Array } {
  const rowLo = new Float32Array(data.length);
  const rowHi = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = Math.max(0, x - r); i <= Math.min(width - 1, x + r); i++) {
        const v = data[row + i] as number;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      rowLo[row + x] = lo;
      rowHi[row + x] = hi;
    }
  }
  const lo = new Float32Array(data.length).fill(Infinity);
  const hi = new Float32Array(data.length).fill(-Infinity);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let j = Math.max(0, y - r); j <= Math.min(height - 1, y + r); j++) {
      const from = j * width;
      for (let x = 0; x < width; x++) {
        const a = rowLo[from + x] as number;
        const b = rowHi[from + x] as number;
        if (a < (lo[row + x] as number)) lo[row + x] = a;
        if (b > (hi[row + x] as number)) hi[row + x] = b;
      }
    }
  }
  return { lo, hi };
}

/**
 * Ringing control: each pixel of `result` is kept within the range of `input` over the (2r+1)^2 square around
 * it, widened by `margin` levels. Deconvolution steepens an edge without moving it, so the steepened edge
 * stays within the range of the blurred one nearby; the overshoot a slightly wrong blur estimate adds beside an
 * edge (a halo) goes beyond it, and is cut.
 */
export function clampToNeighbourhood(result: Plane, input: Plane, radius: number, margin: number): Plane {
  const { lo, hi } = localRange(input.data, input.width, input.height, radius);
  const out = new Float32Array(result.data.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = Math.min((hi[i] as number) + margin, Math.max((lo[i] as number) - margin, result.data[i] as number));
  }
  return { data: out, width: input.width, height: input.height };
}
