import { lumaOf, type Rect, type RgbImage } from './image.js';

/**
 * Smooths JPEG block edges in `region` of `image` (in place), on the image's own 8x8 grid, which only exists at
 * input resolution: so this runs before the face is resampled into its canonical crop. Across each block edge,
 * a step small enough to be quantization (not a real edge) is spread into a ramp four pixels either side, in
 * the manner of video codecs' deblocking filters. Works on luminance; R, G and B move together.
 */
export function deblockRegion(image: RgbImage, region: Rect, strength: number): void {
  if (strength <= 0 || region.width < 16 || region.height < 16) return;
  const luma = lumaOf(image, region);
  const { width: w, height: h, data } = luma;
  const delta = new Float32Array(w * h);
  const at = (x: number, y: number): number => data[y * w + x] as number;

  // typical quantization step: the mean jump across block edges
  let steps = 0;
  let count = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 1; x < w; x++) {
      if ((region.x + x) % 8 !== 0) continue;
      steps += Math.abs(at(x, y) - at(x - 1, y));
      count++;
    }
  }
  const alpha = Math.max(4, 3 * (steps / Math.max(1, count)));
  const beta = alpha / 2;
  const ramp = [0.4375, 0.3125, 0.1875, 0.0625];

  // vertical edges
  for (let x = 4; x <= w - 4; x++) {
    if ((region.x + x) % 8 !== 0) continue;
    for (let y = 0; y < h; y++) {
      const p0 = at(x - 1, y);
      const q0 = at(x, y);
      const step = q0 - p0;
      if (Math.abs(step) >= alpha || Math.abs(at(x - 2, y) - p0) >= beta || Math.abs(at(x + 1, y) - q0) >= beta) continue;
      for (let i = 0; i < 4; i++) {
        delta[y * w + x - 1 - i] = (delta[y * w + x - 1 - i] as number) + strength * step * (ramp[i] as number);
        delta[y * w + x + i] = (delta[y * w + x + i] as number) - strength * step * (ramp[i] as number);
      }
    }
  }
  // horizontal edges (measured on the vertically deblocked values would be better; the two passes are close)
  for (let y = 4; y <= h - 4; y++) {
    if ((region.y + y) % 8 !== 0) continue;
    for (let x = 0; x < w; x++) {
      const p0 = at(x, y - 1);
      const q0 = at(x, y);
      const step = q0 - p0;
      if (Math.abs(step) >= alpha || Math.abs(at(x, y - 2) - p0) >= beta || Math.abs(at(x, y + 1) - q0) >= beta) continue;
      for (let i = 0; i < 4; i++) {
        delta[(y - 1 - i) * w + x] = (delta[(y - 1 - i) * w + x] as number) + strength * step * (ramp[i] as number);
        delta[(y + i) * w + x] = (delta[(y + i) * w + x] as number) - strength * step * (ramp[i] as number);
      }
    }
  }
  const { channels, width } = image;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const d = delta[y * w + x] as number;
      if (d === 0) continue;
      const o = ((region.y + y) * width + region.x + x) * channels;
      for (let c = 0; c < 3; c++) {
        const v = Math.round((image.data[o + c] as number) + d);
        image.data[o + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
}
