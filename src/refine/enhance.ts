import { estimateNoiseSigma, gaussianBlur, guidedFilter } from './filters.js';
import type { Plane } from './image.js';
import type { RefineStrength } from './profiles.js';

/** Noise below this is treated as this much, so that clean faces still get their pores evened a little. */
const MIN_NOISE_SIGMA = 1.5;

/**
 * Refines the luminance of one face region: edge-preserving denoise scaled to the measured noise, then an
 * unsharp mask whose radius follows the face size so that every face gets the same look whatever its size.
 */
export function enhanceLuma(luma: Plane, faceSize: number, strength: RefineStrength): Plane {
  const sigma = Math.max(MIN_NOISE_SIGMA, estimateNoiseSigma(luma));
  const radius = Math.max(1, Math.round(faceSize / 80));
  const threshold = strength.denoise * sigma;
  const smooth = guidedFilter(luma, radius, threshold * threshold);
  const detailSigma = Math.max(0.7, faceSize / 160);
  const blurred = gaussianBlur(smooth, detailSigma);
  const out = new Float32Array(luma.data.length);
  for (let i = 0; i < out.length; i++) {
    const s = smooth.data[i] as number;
    const sharpened = s + strength.sharpen * (s - (blurred.data[i] as number));
    out[i] = Math.min(255, Math.max(0, sharpened));
  }
  return { data: out, width: luma.width, height: luma.height };
}
