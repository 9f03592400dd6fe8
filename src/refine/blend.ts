import type { Plane, Rect, RgbImage } from './image.js';

/**
 * Writes one refined face into `target`: each pixel moves by the change in luminance times the mask, equally
 * in R, G and B so hue and saturation stay where they were. Where faces overlap, the face whose mask is
 * stronger at that pixel wins (`coverage` remembers the strongest alpha written so far), so an overlap is
 * refined once, never twice. Alpha channels are left as they were; pixels with mask 0 are not touched.
 */
export function blendLumaDelta(
  source: RgbImage,
  target: RgbImage,
  coverage: Float32Array,
  region: Rect,
  before: Plane,
  after: Plane,
  mask: Plane,
  opacity: number,
): void {
  const { width, channels } = source;
  for (let y = 0; y < region.height; y++) {
    for (let x = 0; x < region.width; x++) {
      const local = y * region.width + x;
      const alpha = (mask.data[local] as number) * opacity;
      const pixel = (region.y + y) * width + region.x + x;
      if (alpha <= 0 || alpha <= (coverage[pixel] as number)) continue;
      coverage[pixel] = alpha;
      const delta = ((after.data[local] as number) - (before.data[local] as number)) * alpha;
      const offset = pixel * channels;
      for (let c = 0; c < 3; c++) {
        const value = Math.round((source.data[offset + c] as number) + delta);
        target.data[offset + c] = value < 0 ? 0 : value > 255 ? 255 : value;
      }
    }
  }
}
