import { applySimilarity, type CanonicalFrame, type YccPlanes } from './align.js';
import { clampRect, type Plane, type Rect } from './image.js';
import type { RgbImage } from './image.js';

/** The pixels of the image that a face's canonical crop covers. */
export function imageFootprint(frame: CanonicalFrame, width: number, height: number): Rect {
  const s = frame.size;
  const corners = [
    { x: 0, y: 0 },
    { x: s, y: 0 },
    { x: 0, y: s },
    { x: s, y: s },
  ].map((p) => applySimilarity(frame.toImage, p));
  const xs = corners.map((p) => p.x);
  const ys = corners.map((p) => p.y);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return clampRect({ x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y }, width, height);
}

/** One face's change in its canonical crop, already weighted by its feathered mask: what blending writes back. */
export interface FaceDelta {
  y: Plane;
  cb: Plane;
  cr: Plane;
  alpha: Plane;
  /**
   * The face's crop as repaired at input resolution, and where it sits in the image. Its change is written
   * back pixel for pixel (weighted by alpha), not through the canonical crop: noise and JPEG blocks live at
   * the input's own pixels, and resampling their removal there and back would blur it and leave some behind.
   */
  native?: { image: RgbImage; x: number; y: number };
}

/**
 * Only the change is resampled back (refined minus original, times the mask), never the original pixels, so
 * detail the refinement did not touch is not softened by the round trip.
 */
export function faceDelta(original: YccPlanes, refined: YccPlanes, mask: Plane, opacity: number): FaceDelta {
  const n = mask.data.length;
  const weights = mask.data;
  const delta = (a: Plane, b: Plane): Plane => {
    const out = new Float32Array(n);
    const before = a.data;
    const after = b.data;
    for (let i = 0; i < n; i++) out[i] = ((after[i] as number) - (before[i] as number)) * (weights[i] as number) * opacity;
    return { data: out, width: mask.width, height: mask.height };
  };
  const alpha = new Float32Array(n);
  for (let i = 0; i < n; i++) alpha[i] = (weights[i] as number) * opacity;
  return {
    y: delta(original.y, refined.y),
    cb: delta(original.cb, refined.cb),
    cr: delta(original.cr, refined.cr),
    alpha: { data: alpha, width: mask.width, height: mask.height },
  };
}

/** `delta` with the face's repaired crop, if it was repaired (a literal, not a spread: see withPixels in image.ts). */
export function withNative(delta: FaceDelta, native: FaceDelta['native']): FaceDelta {
  const { y, cb, cr, alpha } = delta;
  return native ? { y, cb, cr, alpha, native } : { y, cb, cr, alpha };
}

/** faceDelta of a face whose canonical crop is left as it was: no change, only the mask (for the repair, coverage). */
export function unchangedDelta(mask: Plane, opacity: number): FaceDelta {
  const n = mask.data.length;
  const zero = (): Plane => ({ data: new Float32Array(n), width: mask.width, height: mask.height });
  const alpha = new Float32Array(n);
  for (let i = 0; i < n; i++) alpha[i] = (mask.data[i] as number) * opacity;
  return { y: zero(), cb: zero(), cr: zero(), alpha: { data: alpha, width: mask.width, height: mask.height } };
}

/** A plane's value at the corners `k..` (-1: outside, 0), weighted bilinearly by the position's fractions. */
function bilinear(data: Float32Array, k00: number, k10: number, k01: number, k11: number, tx: number, ty: number): number {
  const v00 = k00 < 0 ? 0 : (data[k00] as number);
  const v10 = k10 < 0 ? 0 : (data[k10] as number);
  const v01 = k01 < 0 ? 0 : (data[k01] as number);
  const v11 = k11 < 0 ? 0 : (data[k11] as number);
  return (1 - ty) * ((1 - tx) * v00 + tx * v10) + ty * ((1 - tx) * v01 + tx * v11);
}

/** A corner's index in a size x rows plane, or -1 outside it. */
function cornerIndex(x: number, y: number, size: number, rows: number): number {
  return x < 0 || y < 0 || x >= size || y >= rows ? -1 : y * size + x;
}

/**
 * Writes one face's change into `target`. Where faces overlap, the face whose mask is stronger at that pixel
 * wins (`coverage` keeps the strongest alpha written so far), so an overlap is refined once. Pixels where the
 * mask is 0 are not touched; alpha channels are left as they were.
 */
export function applyFaceDelta(
  source: RgbImage,
  target: RgbImage,
  coverage: Float32Array,
  frame: CanonicalFrame,
  delta: FaceDelta,
): void {
  const { width, channels } = source;
  const region = imageFootprint(frame, source.width, source.height);
  const { a: ca, b: cb, tx: ctx, ty: cty } = frame.toCanonical;
  const size = delta.alpha.width;
  const rows = delta.alpha.height;
  const alpha = delta.alpha.data;
  const dy = delta.y.data;
  const dcb = delta.cb.data;
  const dcr = delta.cr.data;
  const native = delta.native;
  // bilinear samples of the four planes at one canonical position (pixel centres at +0.5, 0 outside the crop),
  // the weights and corners found once per pixel rather than once per plane (and no function made per pixel:
  // a closure per pixel was a third of the blend's time)
  for (let y = region.y; y < region.y + region.height; y++) {
    for (let x = region.x; x < region.x + region.width; x++) {
      // applySimilarity(frame.toCanonical, (x + 0.5, y + 0.5)) written out, less the half pixel of the centres
      const px = x + 0.5;
      const py = y + 0.5;
      const fx = ca * px - cb * py + ctx - 0.5;
      const fy = cb * px + ca * py + cty - 0.5;
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      if (x0 < -1 || y0 < -1 || x0 >= size || y0 >= rows) continue;
      const tx = fx - x0;
      const ty = fy - y0;
      const k00 = cornerIndex(x0, y0, size, rows);
      const k10 = cornerIndex(x0 + 1, y0, size, rows);
      const k01 = cornerIndex(x0, y0 + 1, size, rows);
      const k11 = cornerIndex(x0 + 1, y0 + 1, size, rows);
      const a = bilinear(alpha, k00, k10, k01, k11, tx, ty);
      const pixel = y * width + x;
      if (a <= 1e-4 || a <= (coverage[pixel] as number)) continue;
      coverage[pixel] = a;
      // yccToRgb (color.ts) written out
      const ly = bilinear(dy, k00, k10, k01, k11, tx, ty);
      const lcb = bilinear(dcb, k00, k10, k01, k11, tx, ty);
      const lcr = bilinear(dcr, k00, k10, k01, k11, tx, ty);
      const rgb0 = ly + 1.402 * lcr;
      const rgb1 = ly - 0.344136 * lcb - 0.714136 * lcr;
      const rgb2 = ly + 1.772 * lcb;
      const offset = pixel * channels;
      const nx = native ? x - native.x : -1;
      const ny = native ? y - native.y : -1;
      const inside = native !== undefined && nx >= 0 && ny >= 0 && nx < native.image.width && ny < native.image.height;
      const from = inside ? (ny * native.image.width + nx) * native.image.channels : 0;
      for (let ch = 0; ch < 3; ch++) {
        const repair = inside ? a * ((native.image.data[from + ch] as number) - (source.data[offset + ch] as number)) : 0;
        const change = ch === 0 ? rgb0 : ch === 1 ? rgb1 : rgb2;
        const value = Math.round((source.data[offset + ch] as number) + repair + change);
        target.data[offset + ch] = value < 0 ? 0 : value > 255 ? 255 : value;
      }
    }
  }
}
