import type { RgbImage } from '../../src/refine/image.js';

const luma = (image: RgbImage, i: number): number => {
  const o = i * image.channels;
  return 0.299 * (image.data[o] as number) + 0.587 * (image.data[o + 1] as number) + 0.114 * (image.data[o + 2] as number);
};

/** PSNR over R, G and B of the pixels where mask holds. */
export function psnr(a: RgbImage, b: RgbImage, mask: Uint8Array): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    for (let c = 0; c < 3; c++) {
      const d = (a.data[i * a.channels + c] as number) - (b.data[i * b.channels + c] as number);
      sum += d * d;
      count++;
    }
  }
  const mse = sum / Math.max(1, count);
  return mse === 0 ? 99 : 10 * Math.log10((255 * 255) / mse);
}

/** SSIM of the luminance (8x8 windows, stride 4), averaged over windows whose centre is in the mask. */
export function ssim(a: RgbImage, b: RgbImage, mask: Uint8Array): number {
  const { width, height } = a;
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  let total = 0;
  let windows = 0;
  for (let y = 0; y + 8 <= height; y += 4) {
    for (let x = 0; x + 8 <= width; x += 4) {
      if (!mask[(y + 4) * width + x + 4]) continue;
      let ma = 0;
      let mb = 0;
      for (let j = 0; j < 8; j++) for (let i = 0; i < 8; i++) {
        const k = (y + j) * width + x + i;
        ma += luma(a, k);
        mb += luma(b, k);
      }
      ma /= 64;
      mb /= 64;
      let va = 0;
      let vb = 0;
      let cov = 0;
      for (let j = 0; j < 8; j++) for (let i = 0; i < 8; i++) {
        const k = (y + j) * width + x + i;
        const da = luma(a, k) - ma;
        const db = luma(b, k) - mb;
        va += da * da;
        vb += db * db;
        cov += da * db;
      }
      va /= 63;
      vb /= 63;
      cov /= 63;
      total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      windows++;
    }
  }
  return total / Math.max(1, windows);
}

/** Mean gradient magnitude of the luminance inside the mask: how crisp the face looks. */
export function meanGradient(image: RgbImage, mask: Uint8Array): number {
  const { width, height } = image;
  let sum = 0;
  let count = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      if (!mask[i]) continue;
      sum += Math.hypot(luma(image, i + 1) - luma(image, i - 1), luma(image, i + width) - luma(image, i - width));
      count++;
    }
  }
  return sum / Math.max(1, count);
}

/** The largest change of any channel where mask is 0 (outside every face). */
export function maxChangeOutside(a: RgbImage, b: RgbImage, coverage: Float32Array): number {
  let max = 0;
  for (let i = 0; i < coverage.length; i++) {
    if ((coverage[i] as number) > 0) continue;
    for (let c = 0; c < 3; c++) {
      max = Math.max(max, Math.abs((a.data[i * a.channels + c] as number) - (b.data[i * b.channels + c] as number)));
    }
  }
  return max;
}
