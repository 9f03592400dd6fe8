import type { FaceDiagnosis } from './analyze.js';
import { yccPlanesOf, writeYccPlanes } from './color.js';
import { jpegTable, projectOnQuantization, slidingDctShrink, slidingDctWiener } from './dct.js';
import { deconvolveGaussian } from './deconvolve.js';
import { gaussianBlur, guidedFilter } from './filters.js';
import { withPixels, type Plane, type RgbImage } from './image.js';
import type { RefineStrength } from './profiles.js';
import type { Tuning } from './enhance.js';

/** What a clean photo's flattest skin reads as (grain, texture), 8-bit levels: not noise to remove. */
export const CLEAN_NOISE_SIGMA = 3;
/** What a sharp photo's edges read as, input px: not blur to undo. */
export const CLEAN_BLUR_SIGMA = 1;

/** The noise beyond a clean photo's, 8-bit levels. */
export const excessNoise = (sigma: number): number => Math.sqrt(Math.max(0, sigma * sigma - CLEAN_NOISE_SIGMA * CLEAN_NOISE_SIGMA));
/** The blur beyond a sharp photo's, as a gaussian sigma in input px. */
export const softnessOf = (blurSigma: number): number => Math.sqrt(Math.max(0, blurSigma * blurSigma - CLEAN_BLUR_SIGMA * CLEAN_BLUR_SIGMA));

const plane = (data: Float32Array, like: Plane): Plane => ({ data, width: like.width, height: like.height });

/** `from` moved by `share` of the way to `to`. */
function mix(from: Plane, to: Plane, share: number): Plane {
  const out = new Float32Array(from.data.length);
  for (let i = 0; i < out.length; i++) out[i] = (from.data[i] as number) + share * ((to.data[i] as number) - (from.data[i] as number));
  return plane(out, from);
}

function uniformThresholds(value: number): Float64Array {
  return new Float64Array(64).fill(value);
}

/**
 * Undoes what the diagnosis found, at the input's own resolution (where noise is per pixel, JPEG's blocks are
 * 8x8 and blur is in input pixels), on the whole crop, before it is resampled into the canonical frame:
 * - a JPEG: every 8x8 window's DCT is thresholded in proportion to the quantization steps of the quality it
 *   was saved at, the windows averaged, and the result kept consistent with the file's own coefficients;
 *   colour, stored at half resolution with coarser steps, is smoothed edge-preservingly;
 * - noise: every 8x8 window's DCT is hard-thresholded at a multiple of the luminance noise measured, then
 *   Wiener-filtered with that first estimate as its guide; colour noise smoothed in proportion to its own measure;
 * - blur: a Wiener deconvolution of a gaussian of the measured softness (deconvolve.ts), when the spectrum
 *   says gaussian blur rather than resampling.
 * `strength.repair` (per level) scales the thresholds and the amount. Returns a new image; `crop` is unchanged.
 */
export function repairCrop(
  crop: RgbImage,
  origin: { x: number; y: number },
  diagnosis: FaceDiagnosis,
  strength: RefineStrength,
  tuning: Tuning,
): RgbImage {
  const t = tuning;
  const level = strength.repair;
  const noise = excessNoise(diagnosis.noiseSigma);
  const quality = diagnosis.jpegQuality;
  const deblock = quality !== undefined && quality <= t.jpegRepairBelow;
  const denoise = !deblock && noise > t.noiseFrom;
  const softness = softnessOf(diagnosis.blurSigma);
  // Resampling softens edges as blur does but keeps mid frequencies whole, and a soft photo looks blurred:
  // deconvolving either overshoots. So only a face whose spectrum says gaussian blur (nothing left above half
  // the sampling rate, spectrum.ts) is deconvolved, and only as far as its fine-to-coarse detail ratio stays
  // under what a sharp face shows.
  const gaussianLike = Math.max(0, Math.min(1, (t.resampledFrom - diagnosis.highToMid) / (t.resampledFrom - t.blurredBelow)));
  const deblur = softness >= t.blurredFrom && noise <= t.noiseFrom && gaussianLike > 0;
  // a face with nothing to repair (most clean ones) is not even split into planes
  if (!deblock && !denoise && !deblur) return crop;

  const region = { x: 0, y: 0, width: crop.width, height: crop.height };
  const planes = yccPlanesOf(crop, region);
  let { y, cb, cr } = planes;
  let changed = false;

  if (deblock) {
    const table = jpegTable(quality, false, diagnosis.jpegTransposed);
    const thresholds = Float64Array.from(table, (q) => level * t.jpegThreshold * q);
    const restored = slidingDctShrink(y, thresholds, strength.thorough.jpegDctStep ?? t.dctStep);
    y = projectOnQuantization(restored, y, table, origin.x, origin.y);
    const chromaStep = (jpegTable(quality, true)[0] as number) / 2;
    const eps = (level * t.jpegChroma * chromaStep) ** 2;
    const reach = Math.round(t.chromaRadius * (quality <= t.wideChromaBelow ? strength.thorough.jpegChromaReach : 1));
    cb = guidedFilter(cb, reach, eps);
    cr = guidedFilter(cr, reach, eps);
    changed = true;
  } else if (denoise) {
    // the threshold follows all the noise measured: the texture floor only decides whether there is any
    const pilot = slidingDctShrink(y, uniformThresholds(level * t.noiseThreshold * diagnosis.noiseSigma), t.dctStep);
    y = t.noiseWiener > 0 ? slidingDctWiener(y, pilot, level * t.noiseWiener * diagnosis.noiseSigma, t.dctStep) : pilot;
    const chroma = (sigma: number): number => (level * t.chromaNoise * sigma) ** 2;
    cb = guidedFilter(cb, t.chromaRadius, chroma(diagnosis.chromaNoise.cb));
    cr = guidedFilter(cr, t.chromaRadius, chroma(diagnosis.chromaNoise.cr));
    changed = true;
  }

  if (deblur) {
    const sigma = Math.min(t.deblurSigmaMax, Math.max(t.deblurSigmaMin * gaussianLike, t.deblurSigmaScale * softness));
    const deconvolved = deconvolveGaussian(y, sigma, t.deblurRegularise);
    const share = sharpShare(y, deconvolved, level * gaussianLike, t.sharpRatio);
    if (share > 0) {
      y = mix(y, deconvolved, share);
      // the blur softened colour as much as luminance, and the same share of the same filter restores it
      if (t.deblurChroma > 0) {
        cb = mix(cb, deconvolveGaussian(cb, sigma, t.deblurRegularise), share * t.deblurChroma);
        cr = mix(cr, deconvolveGaussian(cr, sigma, t.deblurRegularise), share * t.deblurChroma);
      }
      changed = true;
    }
  }

  if (!changed) return crop;
  const out = withPixels(crop, new Uint8Array(crop.data));
  writeYccPlanes(out, region, { y, cb, cr });
  return out;
}

/**
 * The largest share s <= `most` of the change from `input` to `deconvolved` that keeps the fine-to-coarse detail
 * ratio (analyze.ts) of input + s (deconvolved - input) at or under `ratio`. Both bands are linear filters, so
 * their energies are quadratics in s, measured once: the share is found without filtering again.
 */
function sharpShare(input: Plane, deconvolved: Plane, most: number, ratio: number): number {
  const change = plane(Float32Array.from(deconvolved.data, (v, i) => v - (input.data[i] as number)), input);
  const bands = (p: Plane): { fine: Float32Array; coarse: Float32Array } => {
    const [a, b, c] = [gaussianBlur(p, 0.7).data, gaussianBlur(p, 1.4).data, gaussianBlur(p, 2.8).data];
    return { fine: Float32Array.from(p.data, (v, i) => v - (a[i] as number)), coarse: Float32Array.from(b, (v, i) => v - (c[i] as number)) };
  };
  const y = bands(input);
  const d = bands(change);
  // fine(s)^2 - ratio^2 coarse(s)^2 = q2 s^2 + q1 s + q0
  const r2 = ratio * ratio;
  let [q2, q1, q0] = [0, 0, 0];
  for (let i = 0; i < y.fine.length; i++) {
    const [fy, fd, cy, cd] = [y.fine[i] as number, d.fine[i] as number, y.coarse[i] as number, d.coarse[i] as number];
    q2 += fd * fd - r2 * cd * cd;
    q1 += 2 * (fy * fd - r2 * cy * cd);
    q0 += fy * fy - r2 * cy * cy;
  }
  const over = (s: number): boolean => q2 * s * s + q1 * s + q0 > 0;
  if (!over(most)) return most;
  if (over(0)) return 0;
  let [low, high] = [0, most];
  for (let step = 0; step < 20; step++) {
    const mid = (low + high) / 2;
    if (over(mid)) high = mid;
    else low = mid;
  }
  return low;
}
