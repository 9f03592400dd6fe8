import { luma } from './color.js';

/** Decoded 8-bit pixels, row-major, interleaved; channels 3 (RGB) or 4 (RGBA). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
}

/**
 * `image` with other pixels (same size and channels). Written out rather than spread: refining the same photo job
 * after job in one thread, objects built by spreads (images, strengths, frames, deltas) came out with new shapes
 * (V8 maps) on later jobs, and the loops reading them were deoptimized ("wrong map", --trace-deopt) and compiled
 * again every job; with object literals none was. The same goes for face-work.ts, profiles.ts, analyze.ts, blend.ts
 * and face-detector.ts.
 */
export function withPixels(image: RgbImage, data: Uint8Array): RgbImage {
  return { data, width: image.width, height: image.height, channels: image.channels };
}

/** A rectangle in pixels; x and y are the top-left corner. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A plane of floats, one value per pixel (luminance, a mask). */
export interface Plane {
  data: Float32Array;
  width: number;
  height: number;
}

export function clampRect(rect: Rect, width: number, height: number): Rect {
  const x = Math.max(0, Math.floor(rect.x));
  const y = Math.max(0, Math.floor(rect.y));
  const right = Math.min(width, Math.ceil(rect.x + rect.width));
  const bottom = Math.min(height, Math.ceil(rect.y + rect.height));
  return { x, y, width: Math.max(0, right - x), height: Math.max(0, bottom - y) };
}

/** BT.601 luma of a region, as floats 0..255. */
export function lumaOf(image: RgbImage, region: Rect): Plane {
  const out = new Float32Array(region.width * region.height);
  const { data, width, channels } = image;
  for (let y = 0; y < region.height; y++) {
    let src = ((region.y + y) * width + region.x) * channels;
    let dst = y * region.width;
    for (let x = 0; x < region.width; x++, src += channels, dst++) {
      out[dst] = luma(data[src] as number, data[src + 1] as number, data[src + 2] as number);
    }
  }
  return { data: out, width: region.width, height: region.height };
}

/**
 * BT.601 luma of a grid of `patch` px squares spread over the image (centred in equal cells, up to `grid` per
 * side), laid side by side as one plane: what an image-wide measure reads instead of every pixel, so that it
 * costs the same whatever the image's size. Undefined when the image holds no whole patch.
 */
export function lumaPatches(image: RgbImage, patch: number, grid: number): Plane | undefined {
  const { data, width, height, channels } = image;
  const across = Math.min(grid, Math.floor(width / patch));
  const down = Math.min(grid, Math.floor(height / patch));
  if (across < 1 || down < 1) return undefined;
  const side = { width: across * patch, height: down * patch };
  const out = new Float32Array(side.width * side.height);
  for (let py = 0; py < down; py++) {
    const y0 = Math.floor(((py + 0.5) * height) / down - patch / 2);
    for (let px = 0; px < across; px++) {
      const x0 = Math.floor(((px + 0.5) * width) / across - patch / 2);
      for (let j = 0; j < patch; j++) {
        let src = ((y0 + j) * width + x0) * channels;
        let dst = (py * patch + j) * side.width + px * patch;
        for (let i = 0; i < patch; i++, src += channels) {
          out[dst++] = luma(data[src] as number, data[src + 1] as number, data[src + 2] as number);
        }
      }
    }
  }
  return { data: out, ...side };
}
