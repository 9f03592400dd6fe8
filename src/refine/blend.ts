import { applySimilarity, sampleBilinear, type CanonicalFrame, type YccPlanes } from './align.js';
import { yccToRgb } from './color.js';
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
  const delta = (a: Plane, b: Plane): Plane => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = ((b.data[i] as number) - (a.data[i] as number)) * (mask.data[i] as number) * opacity;
    return { data: out, width: mask.width, height: mask.height };
  };
  return {
    y: delta(original.y, refined.y),
    cb: delta(original.cb, refined.cb),
    cr: delta(original.cr, refined.cr),
    alpha: { data: Float32Array.from(mask.data, (m) => m * opacity), width: mask.width, height: mask.height },
  };
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
  for (let y = region.y; y < region.y + region.height; y++) {
    for (let x = region.x; x < region.x + region.width; x++) {
      const c = applySimilarity(frame.toCanonical, { x: x + 0.5, y: y + 0.5 });
      const a = sampleBilinear(delta.alpha, c.x, c.y);
      const pixel = y * width + x;
      if (a <= 1e-4 || a <= (coverage[pixel] as number)) continue;
      coverage[pixel] = a;
      const rgb = yccToRgb(sampleBilinear(delta.y, c.x, c.y), sampleBilinear(delta.cb, c.x, c.y), sampleBilinear(delta.cr, c.x, c.y));
      const offset = pixel * channels;
      const native = delta.native;
      const nx = native ? x - native.x : -1;
      const ny = native ? y - native.y : -1;
      const inside = native !== undefined && nx >= 0 && ny >= 0 && nx < native.image.width && ny < native.image.height;
      const from = inside ? (ny * native.image.width + nx) * native.image.channels : 0;
      for (let ch = 0; ch < 3; ch++) {
        const repair = inside ? a * ((native.image.data[from + ch] as number) - (source.data[offset + ch] as number)) : 0;
        const value = Math.round((source.data[offset + ch] as number) + repair + (rgb[ch] as number));
        target.data[offset + ch] = value < 0 ? 0 : value > 255 ? 255 : value;
      }
    }
  }
}
