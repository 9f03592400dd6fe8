import { lumaPatches, type Plane, type RgbImage } from './image.js';

/**
 * Tells a gaussian blur from resampling by the shape of the power spectrum above half the sampling rate.
 *
 * Both soften edges alike, and on a small face both leave the same fine-to-coarse detail ratio. But a gaussian
 * of sigma 1.5 takes the band 0.25-0.35 cycles/px down by about e^-5.4 against the band 0.10-0.16, smoothly,
 * while an image shrunk and enlarged again keeps energy there: the enlarging interpolator mirrors the content
 * below its old Nyquist frequency (0.25 for 2x, 0.17 for 3x) above it (imaging), and no practical kernel
 * (Lanczos, bicubic) removes those copies. Measured as a Welch estimate: the mean power of Hann-windowed 32x32
 * tiles, in two rings of radial frequency.
 *
 * The FFT is written here rather than taken from a package: one fixed size (32 points, radix 2, in place on
 * Float64Array rows and columns) and at most 64 tiles a face; a general FFT library would add a dependency and a
 * copy into its own buffers for about 40 lines.
 */

const TILE = 32;
const LOG2_TILE = 5;
/** The rings, cycles/px: where a gaussian blur of 1-2 px leaves signal, and where only imaging survives it. */
const MID_BAND: [number, number] = [0.1, 0.16];
const HIGH_BAND: [number, number] = [0.25, 0.35];
/** Tiles used at most, spread over the plane: the estimate settles long before (and each tile costs two FFTs). */
const MAX_TILES_PER_SIDE = 8;

const WINDOW = Float64Array.from({ length: TILE }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 1)) / (TILE + 1)));
const COS = Float64Array.from({ length: TILE / 2 }, (_, k) => Math.cos((-2 * Math.PI * k) / TILE));
const SIN = Float64Array.from({ length: TILE / 2 }, (_, k) => Math.sin((-2 * Math.PI * k) / TILE));
const REVERSED = Uint8Array.from({ length: TILE }, (_, i) => {
  let r = 0;
  for (let b = 0; b < LOG2_TILE; b++) r |= ((i >> b) & 1) << (LOG2_TILE - 1 - b);
  return r;
});

/** Which ring each of the tile's frequencies falls in: 1 mid, 2 high, 0 neither. */
const RING = Uint8Array.from({ length: TILE * TILE }, (_, k) => {
  const fold = (i: number): number => (i <= TILE / 2 ? i : i - TILE) / TILE;
  const r = Math.hypot(fold(k % TILE), fold(Math.floor(k / TILE)));
  if (r >= MID_BAND[0] && r < MID_BAND[1]) return 1;
  if (r >= HIGH_BAND[0] && r < HIGH_BAND[1]) return 2;
  return 0;
});
/** How many of the tile's frequencies each ring holds. */
const MID_COUNT = RING.filter((ring) => ring === 1).length;
const HIGH_COUNT = RING.filter((ring) => ring === 2).length;

/** In-place radix-2 FFT of TILE complex values at `offset`, `stride` apart. */
function fft(re: Float64Array, im: Float64Array, offset: number, stride: number): void {
  for (let i = 0; i < TILE; i++) {
    const j = REVERSED[i] as number;
    if (j > i) {
      const a = offset + i * stride;
      const b = offset + j * stride;
      // swapped through locals: a destructuring swap allocated two arrays per pair (3 MB a job)
      const reA = re[a] as number;
      const imA = im[a] as number;
      re[a] = re[b] as number;
      im[a] = im[b] as number;
      re[b] = reA;
      im[b] = imA;
    }
  }
  for (let size = 2; size <= TILE; size *= 2) {
    const half = size / 2;
    const step = TILE / size;
    for (let start = 0; start < TILE; start += size) {
      for (let k = 0; k < half; k++) {
        const c = COS[k * step] as number;
        const s = SIN[k * step] as number;
        const a = offset + (start + k) * stride;
        const b = a + half * stride;
        const tr = c * (re[b] as number) - s * (im[b] as number);
        const ti = s * (re[b] as number) + c * (im[b] as number);
        re[b] = (re[a] as number) - tr;
        im[b] = (im[a] as number) - ti;
        re[a] = (re[a] as number) + tr;
        im[a] = (im[a] as number) + ti;
      }
    }
  }
}

/** Tile origins along one side: up to MAX_TILES_PER_SIDE, evenly spread, the last one flush with the end. */
function origins(length: number): number[] {
  const count = Math.min(MAX_TILES_PER_SIDE, Math.floor(length / TILE));
  if (count <= 1) return count === 1 ? [Math.floor((length - TILE) / 2)] : [];
  return Array.from({ length: count }, (_, i) => Math.round((i * (length - TILE)) / (count - 1)));
}

/**
 * The natural log of the mean power at 0.25-0.35 cycles/px over that at 0.10-0.16. On the tuning half's faces
 * and their surroundings: clean photos -4.1 to -2.2, blurred by sigma 1.5 -8.2 to -6.3, shrunk 2x and enlarged
 * again (Lanczos) -5.5 to -4.0. Undefined when the plane holds no whole tile or no mid-band signal.
 */
export function highToMidBand(plane: Plane): number | undefined {
  const xs = origins(plane.width);
  const ys = origins(plane.height);
  const re = new Float64Array(TILE * TILE);
  const im = new Float64Array(TILE * TILE);
  let mid = 0;
  let high = 0;
  for (const y0 of ys) {
    for (const x0 of xs) {
      let mean = 0;
      for (let j = 0; j < TILE; j++) for (let i = 0; i < TILE; i++) mean += plane.data[(y0 + j) * plane.width + x0 + i] as number;
      mean /= TILE * TILE;
      for (let j = 0; j < TILE; j++) {
        for (let i = 0; i < TILE; i++) {
          re[j * TILE + i] = ((plane.data[(y0 + j) * plane.width + x0 + i] as number) - mean) * (WINDOW[i] as number) * (WINDOW[j] as number);
          im[j * TILE + i] = 0;
        }
      }
      for (let j = 0; j < TILE; j++) fft(re, im, j * TILE, 1);
      for (let i = 0; i < TILE; i++) fft(re, im, i, TILE);
      for (let k = 0; k < TILE * TILE; k++) {
        const ring = RING[k] as number;
        if (ring === 0) continue;
        const power = (re[k] as number) ** 2 + (im[k] as number) ** 2;
        if (ring === 1) mid += power;
        else high += power;
      }
    }
  }
  if (!(mid > 0)) return undefined;
  // the floor keeps a perfectly empty high band (a synthetic picture) finite
  return Math.log((high / HIGH_COUNT + 1e-12) / (mid / MID_COUNT));
}

/** Patches per side sampled by imageHighToMidBand, each one tile: 25 tiles, 1 ms of CPU on any photo (64: 2.6 ms). */
const IMAGE_SAMPLE_GRID = 5;

/**
 * highToMidBand of a whole image's luma, from a grid of one-tile patches spread over it (lumaPatches): cheap
 * enough to ask of every photo before detection. Values in face-detector.ts (BLURRED_UP_TO); 0 (sharp) when
 * the image holds no whole tile.
 */
export function imageHighToMidBand(image: RgbImage): number {
  const patches = lumaPatches(image, TILE, IMAGE_SAMPLE_GRID);
  return patches ? (highToMidBand(patches) ?? 0) : 0;
}
