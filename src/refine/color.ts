import type { Plane, Rect, RgbImage } from './image.js';

/** BT.601 luma, JPEG's Y: the one weighting of R, G and B that every brightness measure here uses. */
export const luma = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;

/** BT.601 full-range YCbCr, the space JPEG uses: luminance apart from colour, and linear, so deltas convert too. */
export function rgbToYcc(r: number, g: number, b: number): [number, number, number] {
  return [
    luma(r, g, b),
    -0.168736 * r - 0.331264 * g + 0.5 * b,
    0.5 * r - 0.418688 * g - 0.081312 * b,
  ];
}

export function yccToRgb(y: number, cb: number, cr: number): [number, number, number] {
  return [y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb];
}

/** The Y, Cb and Cr planes of a region of an image, as floats. */
export function yccPlanesOf(image: RgbImage, region: Rect): { y: Plane; cb: Plane; cr: Plane } {
  const n = region.width * region.height;
  const y = new Float32Array(n);
  const cb = new Float32Array(n);
  const cr = new Float32Array(n);
  const { data, width, channels } = image;
  for (let row = 0; row < region.height; row++) {
    let src = ((region.y + row) * width + region.x) * channels;
    for (let x = 0, dst = row * region.width; x < region.width; x++, src += channels, dst++) {
      const [yy, b, r] = rgbToYcc(data[src] as number, data[src + 1] as number, data[src + 2] as number);
      y[dst] = yy;
      cb[dst] = b;
      cr[dst] = r;
    }
  }
  const plane = (values: Float32Array): Plane => ({ data: values, width: region.width, height: region.height });
  return { y: plane(y), cb: plane(cb), cr: plane(cr) };
}

/** One channel (0 R, 1 G, 2 B) of a region, as floats. */
export function channelOf(image: RgbImage, region: Rect, channel: number): Plane {
  const out = new Float32Array(region.width * region.height);
  const { data, width, channels } = image;
  for (let row = 0; row < region.height; row++) {
    let src = ((region.y + row) * width + region.x) * channels + channel;
    for (let x = 0, dst = row * region.width; x < region.width; x++, src += channels, dst++) out[dst] = data[src] as number;
  }
  return { data: out, width: region.width, height: region.height };
}

/** Writes Y, Cb and Cr planes back into a region of an image (rounded, clamped to 0..255). */
export function writeYccPlanes(image: RgbImage, region: Rect, planes: { y: Plane; cb: Plane; cr: Plane }): void {
  const { data, width, channels } = image;
  for (let row = 0; row < region.height; row++) {
    let dst = ((region.y + row) * width + region.x) * channels;
    for (let x = 0, k = row * region.width; x < region.width; x++, dst += channels, k++) {
      const rgb = yccToRgb(planes.y.data[k] as number, planes.cb.data[k] as number, planes.cr.data[k] as number);
      for (let c = 0; c < 3; c++) {
        const v = Math.round(rgb[c] as number);
        data[dst + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
}
