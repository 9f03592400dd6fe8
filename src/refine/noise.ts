import { gaussianBlur } from './filters.js';
import { lumaPatches, type Plane, type RgbImage } from './image.js';
import { lendPlane, takeBack } from './scratch.js';

/**
 * The median absolute deviation of a Gaussian is 0.6745 of its standard deviation. Pixels are integers, so
 * the HH values come in steps of 0.5 and a plain median would move the estimate in steps of 0.74: the mean
 * between the 40th and 60th percentiles is used instead, which for |Gaussian| is 0.677 sigma.
 */
const CENTRAL_TO_SIGMA = 1 / 0.677;
/** Share of the 8x8 tiles, the flattest ones, whose wavelet coefficients are used. */
const FLAT_SHARE = 0.5;

/** Sorts `values` in place. */
function centralMean(values: Float32Array): number {
  if (values.length === 0) return 0;
  const sorted = values.sort();
  const from = Math.floor(sorted.length * 0.4);
  const to = Math.max(from + 1, Math.ceil(sorted.length * 0.6));
  let sum = 0;
  for (let i = from; i < to; i++) sum += sorted[i] as number;
  return sum / (to - from);
}

/** Each 8x8 tile's summed gradient on the smoothed plane: how much structure it holds. */
function tileActivity(smoothed: Plane, tilesX: number, tilesY: number): Array<{ tile: number; value: number }> {
  const { width, height, data: smooth } = smoothed;
  const activity: Array<{ tile: number; value: number }> = [];
  for (let ty = 0; ty < tilesY; ty++) {
    for (let tx = 0; tx < tilesX; tx++) {
      let sum = 0;
      for (let j = 0; j < 8; j++) {
        for (let i = 0; i < 8; i++) {
          const x = tx * 8 + i;
          const y = ty * 8 + j;
          if (x + 1 >= width || y + 1 >= height) continue;
          const k = y * width + x;
          sum += Math.abs((smooth[k + 1] as number) - (smooth[k] as number)) + Math.abs((smooth[k + width] as number) - (smooth[k] as number));
        }
      }
      activity.push({ tile: ty * tilesX + tx, value: sum });
    }
  }
  return activity;
}

/**
 * Standard deviation of white noise in a plane (Donoho and Johnstone's estimator): the median absolute value
 * of the finest diagonal (HH) Haar wavelet band, which structure barely reaches and noise fills, over 0.6745. Taken only over the flattest half of the 8x8 tiles (least gradient once smoothed), i.e. skin and
 * background rather than hair, eyes or edges, which would pass for noise. JPEG compression empties this band,
 * so blocking does not read as noise either.
 */
export function estimateNoise(plane: Plane): number {
  const { width, height, data } = plane;
  const tilesX = Math.floor(width / 8);
  const tilesY = Math.floor(height / 8);
  if (tilesX < 1 || tilesY < 1) return 0;
  // the smoothed plane only ranks the tiles
  const smooth = lendPlane(data.length);
  let activity: Array<{ tile: number; value: number }>;
  try {
    activity = tileActivity(gaussianBlur(plane, 1.5, smooth), tilesX, tilesY);
  } finally {
    takeBack(smooth);
  }
  activity.sort((a, b) => a.value - b.value);
  const flat = activity.slice(0, Math.max(1, Math.round(activity.length * FLAT_SHARE)));
  const hh = new Float32Array(flat.length * 16);
  let n = 0;
  for (const { tile } of flat) {
    const x0 = (tile % tilesX) * 8;
    const y0 = Math.floor(tile / tilesX) * 8;
    for (let j = 0; j < 8; j += 2) {
      for (let i = 0; i < 8; i += 2) {
        const k = (y0 + j) * width + x0 + i;
        // orthonormal Haar HH: (a - b - c + d) / 2
        hh[n++] = Math.abs(((data[k] as number) - (data[k + 1] as number) - (data[k + width] as number) + (data[k + width + 1] as number)) / 2);
      }
    }
  }
  return CENTRAL_TO_SIGMA * centralMean(hh.subarray(0, n));
}

/** Side of the square patches sampled by estimateImageNoise (each holds four of estimateNoise's 8x8 tiles). */
const SAMPLE_PATCH = 16;
/** Patches per side of the sample grid: 64 patches, 16,384 pixels, whatever the image's size. */
const SAMPLE_GRID = 8;

/**
 * Each image's estimateImageNoise, kept with the image: detection's second look, then the engine for its early and
 * its later faces (and a learned or ComfyUI engine for every face) ask it of the same decoded photo, whose pixels
 * are never changed in place (a refined picture is a copy: withPixels).
 */
const imageNoises = new WeakMap<RgbImage, number>();

/**
 * The white noise of a whole image's luma, as estimateNoise measures it, from a grid of small patches spread over
 * the image instead of every pixel (lumaPatches). Cheap enough to ask of every photo before detection (0.9 ms of
 * CPU against 12 ms for every pixel of an 800x532 photo), and
 * close to the full estimate: within 0.6 on the quality benchmark's photos, clean or with noise added.
 */
export function estimateImageNoise(image: RgbImage): number {
  const known = imageNoises.get(image);
  if (known !== undefined) return known;
  const patches = lumaPatches(image, SAMPLE_PATCH, SAMPLE_GRID);
  const noise = patches ? estimateNoise(patches) : 0;
  imageNoises.set(image, noise);
  return noise;
}
