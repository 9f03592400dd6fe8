import type { RgbImage } from '../../src/refine/image.js';

/**
 * Single OpenCV calls, written out after OpenCV's own definitions (imgproc/src/smooth.dispatch.cpp,
 * bilateral_filter.dispatch.cpp, and the usual unsharp mask built from GaussianBlur and addWeighted), so the
 * benchmark can say how the engine compares with "one filter, told what is wrong". Borders are
 * BORDER_REFLECT_101, OpenCV's default; results are rounded and saturated to 8 bits as cv::saturate_cast does.
 */

const reflect101 = (i: number, n: number): number => {
  if (n === 1) return 0;
  let k = i;
  while (k < 0 || k >= n) k = k < 0 ? -k : 2 * n - 2 - k;
  return k;
};

const saturate = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** cv::getGaussianKernel(ksize, sigma): samples of the gaussian, normalised to sum 1. */
function gaussianKernel(ksize: number, sigma: number): Float64Array {
  const k = new Float64Array(ksize);
  let sum = 0;
  for (let i = 0; i < ksize; i++) {
    const x = i - (ksize - 1) / 2;
    k[i] = Math.exp((-x * x) / (2 * sigma * sigma));
    sum += k[i] as number;
  }
  return k.map((v) => v / sum);
}

/** cv::GaussianBlur(src, dst, Size(0, 0), sigma) as floats: for 8-bit images ksize = round(6 sigma + 1) | 1. */
function gaussianFloat(image: RgbImage, sigma: number): Float64Array {
  const ksize = Math.round(sigma * 6 + 1) | 1;
  const kernel = gaussianKernel(ksize, sigma);
  const r = (ksize - 1) / 2;
  const { width, height, channels, data } = image;
  const tmp = new Float64Array(width * height * 3);
  const out = new Float64Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let i = -r; i <= r; i++) s += (kernel[i + r] as number) * (data[(y * width + reflect101(x + i, width)) * channels + c] as number);
        tmp[(y * width + x) * 3 + c] = s;
      }
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let i = -r; i <= r; i++) s += (kernel[i + r] as number) * (tmp[(reflect101(y + i, height) * width + x) * 3 + c] as number);
        out[(y * width + x) * 3 + c] = s;
      }
    }
  }
  return out;
}

function fromFloat(like: RgbImage, values: Float64Array): RgbImage {
  const data = new Uint8Array(like.width * like.height * 3);
  for (let i = 0; i < data.length; i++) data[i] = saturate(values[i] as number);
  return { data, width: like.width, height: like.height, channels: 3 };
}

/** cv::GaussianBlur(src, dst, Size(0, 0), sigma). */
export function gaussianBlurCv(image: RgbImage, sigma: number): RgbImage {
  return fromFloat(image, gaussianFloat(image, sigma));
}

/** Unsharp mask: blurred = GaussianBlur(src, sigma); dst = addWeighted(src, 1 + amount, blurred, -amount). */
export function unsharpMaskCv(image: RgbImage, sigma: number, amount: number): RgbImage {
  const blurred = gaussianFloat(image, sigma);
  const out = new Float64Array(blurred.length);
  for (let p = 0; p < image.width * image.height; p++) {
    for (let c = 0; c < 3; c++) {
      out[p * 3 + c] = (1 + amount) * (image.data[p * image.channels + c] as number) - amount * (blurred[p * 3 + c] as number);
    }
  }
  return fromFloat(image, out);
}

/**
 * cv::bilateralFilter(src, dst, d, sigmaColor, sigmaSpace) for 8-bit 3-channel images: a disc of radius d / 2,
 * space weight exp(-r^2 / 2 sigmaSpace^2), colour weight exp(-D^2 / 2 sigmaColor^2) where D is the sum of the
 * absolute differences over the three channels (OpenCV's L1 colour distance).
 */
export function bilateralFilterCv(image: RgbImage, d: number, sigmaColor: number, sigmaSpace: number): RgbImage {
  const radius = Math.floor(d / 2);
  const offsets: Array<{ dx: number; dy: number; w: number }> = [];
  for (let i = -radius; i <= radius; i++) {
    for (let j = -radius; j <= radius; j++) {
      const r = Math.sqrt(i * i + j * j);
      if (r > radius) continue;
      offsets.push({ dx: j, dy: i, w: Math.exp((-r * r) / (2 * sigmaSpace * sigmaSpace)) });
    }
  }
  const colourWeight = new Float64Array(256 * 3);
  for (let i = 0; i < colourWeight.length; i++) colourWeight[i] = Math.exp((-i * i) / (2 * sigmaColor * sigmaColor));
  const { width, height, channels, data } = image;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      const r0 = data[o] as number;
      const g0 = data[o + 1] as number;
      const b0 = data[o + 2] as number;
      let sr = 0;
      let sg = 0;
      let sb = 0;
      let ws = 0;
      for (const { dx, dy, w } of offsets) {
        const q = (reflect101(y + dy, height) * width + reflect101(x + dx, width)) * channels;
        const r = data[q] as number;
        const g = data[q + 1] as number;
        const b = data[q + 2] as number;
        const weight = w * (colourWeight[Math.abs(r - r0) + Math.abs(g - g0) + Math.abs(b - b0)] as number);
        sr += weight * r;
        sg += weight * g;
        sb += weight * b;
        ws += weight;
      }
      const p = (y * width + x) * 3;
      out[p] = saturate(sr / ws);
      out[p + 1] = saturate(sg / ws);
      out[p + 2] = saturate(sb / ws);
    }
  }
  return { data: out, width, height, channels: 3 };
}

/** The single-filter baselines the benchmark reports next to the engine, each as OpenCV would be called. */
export const BASELINES: Record<string, (image: RgbImage) => RgbImage> = {
  'bilateral d7 sc25 ss5': (image) => bilateralFilterCv(image, 7, 25, 5),
  'unsharp sigma 1.5 amount 2': (image) => unsharpMaskCv(image, 1.5, 2),
  'gaussian blur 0.7': (image) => gaussianBlurCv(image, 0.7),
};
