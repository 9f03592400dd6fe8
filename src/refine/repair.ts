import { fineToCoarse, type FaceDiagnosis } from './analyze.js';
import { yccPlanesOf, writeYccPlanes } from './color.js';
import { jpegTable, projectOnQuantization, slidingDctShrink, slidingDctWiener } from './dct.js';
import { gaussianBlur, guidedFilter } from './filters.js';
import type { Plane, RgbImage } from './image.js';
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

/** Halvings of the deblur amount searched: to 1/32 of the full amount, as fine as the gain can tell apart. */
const DEBLUR_SEARCH_STEPS = 5;

const plane = (data: Float32Array, like: Plane): Plane => ({ data, width: like.width, height: like.height });

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
 * - blur: a few Van Cittert passes (repeated unsharp masks) at the measured softness, when the spectrum says
 *   gaussian blur rather than resampling.
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
  const region = { x: 0, y: 0, width: crop.width, height: crop.height };
  const planes = yccPlanesOf(crop, region);
  let { y, cb, cr } = planes;
  let changed = false;
  const level = strength.repair;
  const noise = excessNoise(diagnosis.noiseSigma);
  const quality = diagnosis.jpegQuality;

  if (quality !== undefined && quality <= t.jpegRepairBelow) {
    const table = jpegTable(quality, false, diagnosis.jpegTransposed);
    const thresholds = Float64Array.from(table, (q) => level * t.jpegThreshold * q);
    const restored = slidingDctShrink(y, thresholds, t.dctStep);
    y = projectOnQuantization(restored, y, table, origin.x, origin.y);
    const chromaStep = (jpegTable(quality, true)[0] as number) / 2;
    const eps = (level * t.jpegChroma * chromaStep) ** 2;
    cb = guidedFilter(cb, t.chromaRadius, eps);
    cr = guidedFilter(cr, t.chromaRadius, eps);
    changed = true;
  } else if (noise > t.noiseFrom) {
    // the threshold follows all the noise measured: the texture floor only decides whether there is any
    const pilot = slidingDctShrink(y, uniformThresholds(level * t.noiseThreshold * diagnosis.noiseSigma), t.dctStep);
    y = t.noiseWiener > 0 ? slidingDctWiener(y, pilot, level * t.noiseWiener * diagnosis.noiseSigma, t.dctStep) : pilot;
    const chroma = (sigma: number): number => (level * t.chromaNoise * sigma) ** 2;
    cb = guidedFilter(cb, t.chromaRadius, chroma(diagnosis.chromaNoise.cb));
    cr = guidedFilter(cr, t.chromaRadius, chroma(diagnosis.chromaNoise.cr));
    changed = true;
  }

  const softness = softnessOf(diagnosis.blurSigma);
  // Resampling softens edges as blur does but keeps mid frequencies whole, and a soft photo looks blurred:
  // sharpening either overshoots. So the face is deblurred only as far as its fine-to-coarse detail ratio
  // stays at what a sharp face shows: the strongest amount that does so, found by halving the interval (a few
  // fixed fractions instead made the amount jump by a quarter, and the gain by 0.3 dB, on a hair's change in
  // the measured softness).
  const gaussianLike = Math.max(0, Math.min(1, (t.resampledFrom - diagnosis.fineToCoarse) / (t.resampledFrom - t.blurredBelow)));
  if (softness >= t.blurredFrom && noise <= t.noiseFrom && gaussianLike > 0) {
    const sigma = Math.min(t.deblurSigmaMax, softness);
    const deblurredBy = (share: number): Plane => vanCittert(y, sigma, level * t.deblurAmount * gaussianLike * share, t.deblurPasses);
    let deblurred: Plane | undefined = deblurredBy(1);
    if (fineToCoarse(deblurred) > t.sharpRatio) {
      deblurred = undefined;
      let [low, high] = [0, 1];
      for (let step = 0; step < DEBLUR_SEARCH_STEPS; step++) {
        const share = (low + high) / 2;
        const candidate = deblurredBy(share);
        if (fineToCoarse(candidate) > t.sharpRatio) high = share;
        else [low, deblurred] = [share, candidate];
      }
    }
    if (deblurred) {
      y = deblurred;
      changed = true;
    }
  }

  if (!changed) return crop;
  const out: RgbImage = { ...crop, data: new Uint8Array(crop.data) };
  writeYccPlanes(out, region, { y, cb, cr });
  return out;
}

/** Van Cittert deconvolution: each pass adds back what re-blurring the estimate takes away from the input. */
function vanCittert(input: Plane, sigma: number, amount: number, passes: number): Plane {
  let estimate = input;
  for (let pass = 0; pass < passes; pass++) {
    const reblurred = gaussianBlur(estimate, sigma).data;
    const next = new Float32Array(input.data.length);
    for (let i = 0; i < next.length; i++) {
      next[i] = (estimate.data[i] as number) + amount * ((input.data[i] as number) - (reblurred[i] as number));
    }
    estimate = plane(next, input);
  }
  return estimate;
}
