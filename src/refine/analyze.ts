import { channelOf, yccPlanesOf } from './color.js';
import { dct8x8, estimateJpegQuality, jpegTable, type JpegFit } from './dct.js';
import { gaussianBlur, guidedFilter } from './filters.js';
import { hypot2 } from './geometry.js';
import { lumaOf, type Plane, type Rect, type RgbImage } from './image.js';
import { estimateNoise } from './noise.js';
import { CLEAN_NOISE_SIGMA } from './repair.js';
import { lendPlane, takeBack } from './scratch.js';
import { highToMidBand } from './spectrum.js';

/** What is wrong with one face, measured on its pixels at the input's own resolution. */
export interface FaceDiagnosis {
  /**
   * Standard deviation of the noise in luminance, in 8-bit levels: as measured on the face, at most
   * faceNoiseCeiling of the whole photo's (the rest is the face's own fine detail).
   */
  noiseSigma: number;
  /** As measured (not bounded) in Cb and Cr, which the noise of a colour sensor (or added to R, G and B apart) also fills. */
  chromaNoise: { cb: number; cr: number };
  /** The same in R, G and B apart: what a reader compares with the noise added to each channel. */
  channelNoise: [number, number, number];
  /** The quality the face was last saved at as a JPEG on the image's 8x8 grid; undefined: not a JPEG there. */
  jpegQuality: number | undefined;
  /** True when that JPEG was turned by a quarter after decoding: its steps are the table's transposed. */
  jpegTransposed: boolean;
  /** Mean step across 8x8 JPEG block edges over the mean step elsewhere; about 1 when there is no blocking. */
  blockiness: number;
  /** Gaussian sigma (input pixels) that the sharpest edges look blurred by; about 0.8-1.2 for a sharp photo. */
  blurSigma: number;
  /**
   * Log of the power at 0.25-0.35 cycles/px over that at 0.10-0.16 on the face's surroundings (spectrum.ts):
   * -4.1 to -2.2 on a sharp photo, -5.5 to -4 on one shrunk and enlarged again (the enlarging leaves mirrored
   * copies of the content above the old Nyquist frequency), under -6.3 on one blurred by a gaussian of 1.5
   * (which leaves nothing there). Tells blur a deconvolution can undo from resampling it cannot; 0 (sharp)
   * when the surroundings hold no 32x32 tile.
   */
  highToMid: number;
}

/**
 * Blocking is measured against the image's own 8x8 grid (JPEG's), so `region` must be given in image
 * coordinates: column x is a block edge when x % 8 === 0.
 */
function blockiness(luma: Plane, region: Rect): number {
  const { data, width, height } = luma;
  let edge = 0;
  let edgeCount = 0;
  let inner = 0;
  let innerCount = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 1; x < width; x++) {
      const step = Math.abs((data[y * width + x] as number) - (data[y * width + x - 1] as number));
      if ((region.x + x) % 8 === 0) {
        edge += step;
        edgeCount++;
      } else {
        inner += step;
        innerCount++;
      }
    }
  }
  for (let y = 1; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const step = Math.abs((data[y * width + x] as number) - (data[(y - 1) * width + x] as number));
      if ((region.y + y) % 8 === 0) {
        edge += step;
        edgeCount++;
      } else {
        inner += step;
        innerCount++;
      }
    }
  }
  if (edgeCount === 0 || innerCount === 0 || inner === 0) return 1;
  return edge / edgeCount / (inner / innerCount);
}

/** Zig-zag positions 1..5 of the 8x8 DCT: the lowest frequencies, which a JPEG's face keeps above zero. */
const LOW_FREQUENCIES = [1, 8, 16, 9, 2];
/**
 * A fit whose steps would have zeroed more than this share of the face's visible low-frequency coefficients
 * is no fit: in a real JPEG every coefficient was rounded to a multiple of its step, so one that is visible at
 * all (over 1.5) sits on a multiple other than zero (measured share 0 to 0.15 at qualities 12-40 on the tuning
 * photos); a blurred face's small coefficients merely sit near the zero multiple of steps that coarse (quality 5
 * "found" on a blurred group photo, share 0.94, and its face then deblocked into a smear).
 */
const DEGENERATE_FIT = 0.5;

/** The share of visible low-frequency coefficients that the fitted quality's steps would round to zero. */
function quantizedAway(luma: Plane, offsetX: number, offsetY: number, fit: JpegFit): number {
  const table = jpegTable(fit.quality, false, fit.transposed);
  const { width, height, data } = luma;
  const block = new Float64Array(64);
  const tmp = new Float64Array(64);
  let visible = 0;
  let zeroed = 0;
  for (let by = (8 - (offsetY % 8)) % 8; by + 8 <= height; by += 8) {
    for (let bx = (8 - (offsetX % 8)) % 8; bx + 8 <= width; bx += 8) {
      for (let j = 0; j < 8; j++) for (let i = 0; i < 8; i++) block[j * 8 + i] = data[(by + j) * width + bx + i] as number;
      dct8x8(block, tmp, false);
      for (const k of LOW_FREQUENCIES) {
        const c = Math.abs(block[k] as number);
        if (c <= 1.5) continue;
        visible++;
        if (c < (table[k] as number) / 2) zeroed++;
      }
    }
  }
  return visible > 0 ? zeroed / visible : 1;
}

/** Into `out` (zeroed, the plane's size; its border stays 0). */
function gradientMagnitudes(plane: Plane, out: Float32Array): Float32Array {
  const { data, width, height } = plane;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      out[i] = hypot2(
        ((data[i + 1] as number) - (data[i - 1] as number)) / 2,
        ((data[i + width] as number) - (data[i - width] as number)) / 2,
      );
    }
  }
  return out;
}

/**
 * Re-blur estimate: an edge blurred by s loses gradient height as s / sqrt(s^2 + r^2) when blurred again by r.
 * Measured on the strongest 10% of edges, after removing the noise so grain does not pass for sharpness.
 */
function blurSigma(luma: Plane, noiseSigma: number): number {
  const reblur = 1.0;
  const n = luma.data.length;
  const scratch = [lendPlane(n), lendPlane(n), lendPlane(n), lendPlane(n), lendPlane(n)] as const;
  try {
    const [denoised, g1, reblurred, g2, sorted] = scratch;
    const clean = noiseSigma > 2 ? guidedFilter(luma, 2, (2 * noiseSigma) ** 2, denoised) : luma;
    gradientMagnitudes(clean, g1);
    gradientMagnitudes(gaussianBlur(clean, reblur, reblurred), g2);
    sorted.set(g1);
    sorted.sort();
    const threshold = sorted[Math.floor(sorted.length * 0.9)] as number;
    if (!(threshold > 2)) return 1;
    let sum1 = 0;
    let sum2 = 0;
    for (let i = 0; i < g1.length; i++) {
      if ((g1[i] as number) >= threshold) {
        sum1 += g1[i] as number;
        sum2 += g2[i] as number;
      }
    }
    const ratio = Math.min(0.99, sum2 / sum1);
    return (reblur * ratio) / Math.sqrt(1 - ratio * ratio);
  } finally {
    takeBack(...scratch);
  }
}

/**
 * How far a face's noise reading may exceed its photo's (estimateImageNoise) before the excess counts as texture.
 * Noise is spread over a whole photo; the finest wavelet band of a small face also fills with its own detail
 * (wrinkles, lashes and hair 1-2 px wide), which no filter should remove: clean photos shrunk 2x and 3x read
 * 4-19 on their faces against 0.4-4 over the photo, and were denoised into plastic. With noise sigma 10 added,
 * faces of the tuning photos at their own size read about up to 1.5 times their photo (solvay-gray-left 9.7
 * against 6.4, portrait-three-quarter 6.7 against 4.9). So a face in a photo reading under 2 (most clean ones)
 * is taken to have at most a clean photo's CLEAN_NOISE_SIGMA, none to remove; in a clean photo that itself reads
 * 3-4 (the grey Solvay group shrunk 2x), its faces are still read as somewhat noisy (up to 4.5-6) and lightly
 * denoised.
 */
const FACE_NOISE_OVER_IMAGE = 1.5;

/** The most a face's luma noise is taken to be, in a photo whose noise reads `imageNoise`. */
export function faceNoiseCeiling(imageNoise: number): number {
  return Math.max(CLEAN_NOISE_SIGMA, FACE_NOISE_OVER_IMAGE * imageNoise);
}

/**
 * Diagnoses one face of `image`: noise, blocking and blur on its inner box `inner` (its own pixels, not hair or
 * background), the JPEG quality and the spectrum's shape on its wider `surroundings` (more blocks and tiles, a
 * surer reading; blur and resampling act on the whole picture). `origin` is where
 * `image` sits in the decoded picture, so that JPEG's 8x8 grid can be found: x is a block edge when
 * (origin.x + x) % 8 === 0. `imageNoise`, the whole photo's noise (estimateImageNoise), bounds the face's
 * (faceNoiseCeiling).
 */
export function diagnoseFace(image: RgbImage, inner: Rect, surroundings: Rect, origin: { x: number; y: number }, imageNoise: number): FaceDiagnosis {
  const planes = yccPlanesOf(image, inner);
  const noiseSigma = Math.min(estimateNoise(planes.y), faceNoiseCeiling(imageNoise));
  const channelNoise = [0, 1, 2].map((c) => estimateNoise(channelOf(image, inner, c))) as [number, number, number];
  // luminance only: the same values as yccPlanesOf's Y
  const wide = lumaOf(image, surroundings);
  const blocks = blockiness(planes.y, { x: origin.x + inner.x, y: origin.y + inner.y, width: inner.width, height: inner.height });
  const fit = estimateJpegQuality(wide, origin.x + surroundings.x, origin.y + surroundings.y);
  const jpeg = fit && quantizedAway(wide, origin.x + surroundings.x, origin.y + surroundings.y, fit) < DEGENERATE_FIT ? fit : undefined;
  return {
    noiseSigma,
    chromaNoise: { cb: estimateNoise(planes.cb), cr: estimateNoise(planes.cr) },
    channelNoise,
    jpegQuality: jpeg?.quality,
    jpegTransposed: jpeg?.transposed ?? false,
    blockiness: blocks,
    blurSigma: blurSigma(planes.y, noiseSigma),
    highToMid: highToMidBand(wide) ?? 0,
  };
}
