import type { CanonicalFrame, YccPlanes } from './align.js';
import type { FaceDiagnosis } from './analyze.js';
import { gaussianBlur, guidedFilter } from './filters.js';
import type { Plane } from './image.js';
import type { RegionMasks } from './mask.js';
import type { RefineStrength } from './profiles.js';

/** What a clean photo measures: texture reads as ~3 levels of "noise", sharp edges as ~1 px of blur. */
const CLEAN_NOISE_SIGMA = 3;
const CLEAN_BLUR_SIGMA = 1;

/** How much is wrong beyond what a clean photo shows, in the units the filters take. */
export interface FaceDefects {
  /** Noise beyond the texture floor, 8-bit levels. */
  noise: number;
  /** JPEG blocking, 0 (none) .. 1 (heavy). */
  blocking: number;
  /** Blur beyond a sharp photo's, as a gaussian sigma in input pixels. */
  softness: number;
}

/** Blockiness (edge step over inner step) of a photo without JPEG blocking, and of a heavily blocked one. */
const UNBLOCKED = 1.15;
const HEAVILY_BLOCKED = 1.5;

export function defectsOf(diagnosis: FaceDiagnosis): FaceDefects {
  return {
    noise: Math.sqrt(Math.max(0, diagnosis.noiseSigma ** 2 - CLEAN_NOISE_SIGMA ** 2)),
    blocking: Math.max(0, Math.min(1, (diagnosis.blockiness - UNBLOCKED) / (HEAVILY_BLOCKED - UNBLOCKED))),
    softness: Math.sqrt(Math.max(0, diagnosis.blurSigma ** 2 - CLEAN_BLUR_SIGMA ** 2)),
  };
}

/** The refinement's constants, in one place so the quality benchmark can measure alternatives. */
export interface Tuning {
  /** Luma denoise threshold per level of excess noise (times the level's denoise strength). */
  denoise: number;
  /** Second, wider denoise pass, relative to the first threshold; used above 3 levels of excess noise. */
  denoiseWide: number;
  /** Deblocking threshold at full blocking (times the level's denoise strength). */
  deblock: number;
  /** Radius of the deblocking guided filter, input px. */
  deblockRadius: number;
  /** Chroma blur sigma (input px) per level of excess noise, and at full blocking. */
  chromaPerNoise: number;
  chromaPerBlocking: number;
  /** Share of the skin smoothing blended in at skin strength 1. */
  skinEvening: number;
  /** Smallest unsharp radius, input px; and the cap of the radius that follows softness. */
  detailSigmaMin: number;
  detailSigmaMax: number;
  /** Extra sharpening on eyes, brows and lips. */
  featureBoost: number;
  /** Multiplies the level's sharpening amount. */
  sharpen: number;
  /** Multiplies the level's deblur amount. */
  deblur: number;
  /** Multiplies the level's enhancement budget (RMS change over the face); 0 turns the budget off. */
  enhanceBudget: number;
  /** The most the budget may amplify the enhancement. */
  enhanceMaxScale: number;
  /** Strength of the input-resolution deblocking filter at full blocking (times the level's denoise). */
  nativeDeblock: number;
  /**
   * Softness (input px) up to which the face counts as sharp; from which enhancement stops (resampled faces);
   * and from which it counts as blurred and is deblurred.
   */
  sharpUpTo: number;
  softFrom: number;
  blurredFrom: number;
  /** Large-radius local contrast, multiplies the level's amount. */
  localContrast: number;
}

export const DEFAULT_TUNING: Tuning = {
  denoise: 1,
  denoiseWide: 0.6,
  deblock: 11,
  deblockRadius: 1,
  chromaPerNoise: 0.3,
  chromaPerBlocking: 3,
  skinEvening: 0.25,
  detailSigmaMin: 0.8,
  detailSigmaMax: 1.2,
  featureBoost: 0.6,
  sharpen: 1,
  deblur: 2,
  localContrast: 0.5,
  nativeDeblock: 0.25,
  enhanceBudget: 1.3,
  enhanceMaxScale: 2,
  sharpUpTo: 0.3,
  softFrom: 0.6,
  blurredFrom: 1.1,
};

const plane = (data: Float32Array, like: Plane): Plane => ({ data, width: like.width, height: like.height });

/**
 * Refines one face in its canonical crop. Each step is sized by what the diagnosis found wrong with this face
 * (noise, blocking, softness) and by the level's strength (how much the caller wants changed):
 * 1. noise and blocking: an edge-preserving (guided) filter whose threshold follows the measured noise, a
 *    wider one across JPEG blocks when blocking was found; colour noise and colour blocks smoothed in Cb/Cr;
 * 2. skin: evened at a larger radius, keeping most of its fine texture so it does not look plastic;
 * 3. detail: an unsharp mask whose radius and amount follow the measured softness, stronger on eyes, brows
 *    and lips;
 * 4. a gentle large-radius local contrast.
 * Radii are in input pixels times the crop's scale, or in face units; detail work is on luminance only and
 * Cb/Cr are only smoothed, so colours do not drift.
 */
export function refineCanonical(
  planes: YccPlanes,
  masks: RegionMasks,
  diagnosis: FaceDiagnosis,
  strength: RefineStrength,
  frame: CanonicalFrame,
  tuning: Tuning = DEFAULT_TUNING,
): YccPlanes {
  const t = tuning;
  const k = frame.scale;
  const defects = defectsOf(diagnosis);
  let y = planes.y;
  // Enhancing a sharp face is safe; on a noisy, blocky or resampled one the same sharpening and contrast
  // would amplify the defect, so those steps fade out as defects grow. Softness between sharp and blurred is
  // typical of resampling, which no unsharp mask can undo.
  const softGate =
    defects.softness <= t.sharpUpTo ? 1 : Math.max(0, 1 - (defects.softness - t.sharpUpTo) / (t.softFrom - t.sharpUpTo));
  const care = (softGate * (1 - defects.blocking)) / (1 + Math.max(0, defects.noise - 2) / 4);

  // 1. noise and blocking
  // the floor evens fine grain on sharp faces; a resampled face has none, and smoothing it only loses detail
  const threshold = strength.denoise * t.denoise * (defects.noise + 1.5 * softGate);
  y = guidedFilter(y, Math.max(1, Math.round(k)), threshold * threshold);
  if (defects.noise > 3 && t.denoiseWide > 0) {
    y = guidedFilter(y, Math.max(1, Math.round(2 * k)), (t.denoiseWide * threshold) ** 2);
  }
  if (defects.blocking > 0) {
    const deblock = strength.denoise * t.deblock * defects.blocking;
    y = guidedFilter(y, Math.max(1, Math.round(t.deblockRadius * k)), deblock * deblock);
  }
  const chromaSigma =
    k * (strength.denoise / 1.4) * (t.chromaPerNoise * defects.noise + t.chromaPerBlocking * defects.blocking);
  const cb = chromaSigma > 0.3 ? gaussianBlur(planes.cb, chromaSigma) : planes.cb;
  const cr = chromaSigma > 0.3 ? gaussianBlur(planes.cr, chromaSigma) : planes.cr;

  const repaired = y;
  const enhanced = enhanceSteps(repaired, masks, defects, strength, frame, t, care);
  if (care <= 0 || !(t.enhanceBudget > 0)) return { y: enhanced, cb, cr };
  // Enhancement is given a budget of change (RMS over the face) per level, so that it looks alike on every
  // face: strong on a flat, large face, gentle on a small, detailed one, where the same filters change more.
  const repairOnly = enhanceSteps(repaired, masks, defects, strength, frame, t, 0);
  let sum = 0;
  let weight = 0;
  for (let i = 0; i < enhanced.data.length; i++) {
    const w = masks.face.data[i] as number;
    const d = (enhanced.data[i] as number) - (repairOnly.data[i] as number);
    sum += w * d * d;
    weight += w;
  }
  const rms = Math.sqrt(sum / Math.max(1, weight));
  const budget = t.enhanceBudget * strength.enhanceRms * care;
  // only a face with nothing to repair has its enhancement amplified; on a defective one it can only shrink
  const maxScale = care >= 0.99 ? t.enhanceMaxScale : 1;
  const scale = rms > 0 ? Math.min(maxScale, budget / rms) : 1;
  const out = new Float32Array(enhanced.data.length);
  for (let i = 0; i < out.length; i++) {
    const base = repairOnly.data[i] as number;
    out[i] = base + scale * ((enhanced.data[i] as number) - base);
  }
  return { y: plane(out, enhanced), cb, cr };
}

/** Skin evening, detail (sharpening and deblurring) and local contrast; `care` scales what is enhancement. */
function enhanceSteps(
  repaired: Plane,
  masks: RegionMasks,
  defects: FaceDefects,
  strength: RefineStrength,
  frame: CanonicalFrame,
  t: Tuning,
  care: number,
): Plane {
  const k = frame.scale;
  const u = frame.unit;
  let y = repaired;
  // 2. skin
  const skinThreshold = 3 + 2 * strength.denoise;
  const skinSmooth = guidedFilter(y, Math.max(1, Math.round(3 * u * Math.min(k, 2))), skinThreshold * skinThreshold);
  const evening = t.skinEvening * strength.skin * care;
  const skinned = new Float32Array(y.data.length);
  for (let i = 0; i < skinned.length; i++) {
    const w = evening * (masks.skin.data[i] as number);
    skinned[i] = (y.data[i] as number) + w * ((skinSmooth.data[i] as number) - (y.data[i] as number));
  }
  y = plane(skinned, y);

  // 3. detail
  const detailSigma = k * Math.max(t.detailSigmaMin, Math.min(t.detailSigmaMax, defects.softness));
  const blurred = gaussianBlur(y, detailSigma);
  const amount = t.sharpen * strength.sharpen * care + t.deblur * strength.deblur * Math.max(0, defects.softness - t.blurredFrom);
  const sharpened = new Float32Array(y.data.length);
  for (let i = 0; i < sharpened.length; i++) {
    const weight = amount * (1 + care * t.featureBoost * (masks.features.data[i] as number));
    sharpened[i] = (y.data[i] as number) + weight * ((y.data[i] as number) - (blurred.data[i] as number));
  }
  y = plane(sharpened, y);

  // 4. local contrast
  const contrast = t.localContrast * strength.localContrast * care;
  const broad = gaussianBlur(y, 20 * u);
  const out = new Float32Array(y.data.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = (y.data[i] as number) + contrast * ((y.data[i] as number) - (broad.data[i] as number));
  }
  return plane(out, y);
}
