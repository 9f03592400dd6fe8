import { channelOf, yccPlanesOf } from './color.js';
import { estimateJpegQuality } from './dct.js';
import { gaussianBlur, guidedFilter } from './filters.js';
import type { Plane, Rect, RgbImage } from './image.js';
import { estimateNoise } from './noise.js';

/** What is wrong with one face, measured on its pixels at the input's own resolution. */
export interface FaceDiagnosis {
  /** Standard deviation of the noise in luminance, in 8-bit levels. */
  noiseSigma: number;
  /** The same in Cb and Cr, which the noise of a colour sensor (or added to R, G and B apart) also fills. */
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
   * RMS of the finest detail (under 0.7 px) over that of coarser detail (1.4-2.8 px): about 0.45-0.8 on a
   * sharp face, 0.3-0.45 on one resampled from half its size (which keeps mid frequencies whole), 0.22-0.34
   * on a gaussian-blurred one (which takes them down too). Tells blur an unsharp mask can undo from resampling
   * it cannot.
   */
  fineToCoarse: number;
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

function gradientMagnitudes(plane: Plane): Float32Array {
  const { data, width, height } = plane;
  const out = new Float32Array(width * height);
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      out[i] = Math.hypot(
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
  const clean = noiseSigma > 2 ? guidedFilter(luma, 2, (2 * noiseSigma) ** 2) : luma;
  const g1 = gradientMagnitudes(clean);
  const g2 = gradientMagnitudes(gaussianBlur(clean, reblur));
  const sorted = Float32Array.from(g1).sort();
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
}

/**
 * Diagnoses one face of `image`: noise, blocking and blur on its inner box `inner` (its own pixels, not hair or
 * background), the JPEG quality on its wider `surroundings` (more blocks, a surer fit). `origin` is where
 * `image` sits in the decoded picture, so that JPEG's 8x8 grid can be found: x is a block edge when
 * (origin.x + x) % 8 === 0.
 */
export function fineToCoarse(luma: Plane): number {
  const a = gaussianBlur(luma, 0.7).data;
  const b = gaussianBlur(luma, 1.4).data;
  const c = gaussianBlur(luma, 2.8).data;
  let fine = 0;
  let coarse = 0;
  for (let i = 0; i < a.length; i++) {
    fine += ((luma.data[i] as number) - (a[i] as number)) ** 2;
    coarse += ((b[i] as number) - (c[i] as number)) ** 2;
  }
  return coarse > 0 ? Math.sqrt(fine / coarse) : 1;
}

export function diagnoseFace(image: RgbImage, inner: Rect, surroundings: Rect, origin: { x: number; y: number }): FaceDiagnosis {
  const planes = yccPlanesOf(image, inner);
  const noiseSigma = estimateNoise(planes.y);
  const channelNoise = [0, 1, 2].map((c) => estimateNoise(channelOf(image, inner, c))) as [number, number, number];
  const wide = yccPlanesOf(image, surroundings).y;
  const jpeg = estimateJpegQuality(wide, origin.x + surroundings.x, origin.y + surroundings.y);
  return {
    noiseSigma,
    chromaNoise: { cb: estimateNoise(planes.cb), cr: estimateNoise(planes.cr) },
    channelNoise,
    jpegQuality: jpeg?.quality,
    jpegTransposed: jpeg?.transposed ?? false,
    blockiness: blockiness(planes.y, { ...inner, x: origin.x + inner.x, y: origin.y + inner.y }),
    blurSigma: blurSigma(planes.y, noiseSigma),
    fineToCoarse: fineToCoarse(planes.y),
  };
}
