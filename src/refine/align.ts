import { applySimilarity, fitSimilarity, invertSimilarity, similarityScale, type Similarity } from './geometry.js';
import type { Plane, RgbImage } from './image.js';
import { anchors, type FaceLandmarks } from './landmarks.js';
import { luma } from './color.js';

/** The canonical face crop: eyes level at 42% of the height, 25% of the width apart, the mouth at 69%. */
export const CANONICAL_SIZE = 384;
/** Tiny faces are upscaled at most this much: beyond it a resampler invents nothing and costs time. */
const MAX_UPSCALE = 4;
/**
 * A face whose canonical crop at its own resolution would be at least this wide is refined at that resolution,
 * not upscaled to CANONICAL_SIZE: its output is written back at that resolution anyway, and every radius is
 * given in input pixels or face units (see enhanceSteps), so the refinement sees the same face. Upscaling such a
 * face 1-2x only multiplied the work by up to 4 (the 800x532 portrait's face: 2.25x the pixels). Smaller faces
 * keep the upscale: at under half the canonical size the face-unit radii would fall below a pixel.
 */
const NATIVE_FROM = CANONICAL_SIZE / 2;
const TEMPLATE = [
  { x: 0.375, y: 0.42 },
  { x: 0.625, y: 0.42 },
  { x: 0.5, y: 0.69 },
];

export interface CanonicalFrame {
  size: number;
  toCanonical: Similarity;
  toImage: Similarity;
  /**
   * Canonical pixels per image pixel, 1..MAX_UPSCALE: large faces get a larger crop, never a downscale, and faces
   * from NATIVE_FROM up are refined at their own resolution (about 1).
   */
  scale: number;
  /** size / CANONICAL_SIZE: filter radii are given for the base size and multiplied by this. */
  unit: number;
}

/**
 * Where a face sits in its canonical crop. Every face is refined at the same scale and orientation, so the
 * effect of a denoising level does not depend on how large or tilted the face is in the picture.
 */
export function canonicalFrame(landmarks: FaceLandmarks): CanonicalFrame {
  const from = anchors(landmarks);
  const fit = (size: number): Similarity => fitSimilarity(from, TEMPLATE.map((p) => ({ x: p.x * size, y: p.y * size })));
  let size = CANONICAL_SIZE;
  let toCanonical = fit(size);
  const scale = similarityScale(toCanonical);
  // rounded so that the scale stays inside 1..MAX_UPSCALE
  if (CANONICAL_SIZE / scale >= NATIVE_FROM) size = Math.ceil(CANONICAL_SIZE / scale);
  else if (scale > MAX_UPSCALE) size = Math.floor((CANONICAL_SIZE * MAX_UPSCALE) / scale);
  if (size !== CANONICAL_SIZE) toCanonical = fit(size);
  return {
    size,
    toCanonical,
    toImage: invertSimilarity(toCanonical),
    scale: similarityScale(toCanonical),
    unit: size / CANONICAL_SIZE,
  };
}

function cubicWeightsInto(t: number, out: Float64Array): void {
  // Catmull-Rom: sharp, no ringing beyond one pixel, the usual choice for upscaling photographs.
  const t2 = t * t;
  const t3 = t2 * t;
  out[0] = -0.5 * t3 + t2 - 0.5 * t;
  out[1] = 1.5 * t3 - 2.5 * t2 + 1;
  out[2] = -1.5 * t3 + 2 * t2 + 0.5 * t;
  out[3] = 0.5 * t3 - 0.5 * t2;
}

export interface YccPlanes {
  y: Plane;
  cb: Plane;
  cr: Plane;
}

/** Resamples the face into its canonical crop (bicubic, edges clamped), as Y, Cb and Cr planes. */
export function warpToCanonical(image: RgbImage, frame: CanonicalFrame): YccPlanes {
  const { size, toImage } = frame;
  const { a, b, tx, ty } = toImage;
  const { data, width, height, channels } = image;
  const y = new Float32Array(size * size);
  const cb = new Float32Array(size * size);
  const cr = new Float32Array(size * size);
  // the weights and clamped source offsets of one pixel's 4x4 neighbourhood, filled per pixel without allocating
  const wx = new Float64Array(4);
  const wy = new Float64Array(4);
  const rows = new Int32Array(4);
  const columns = new Int32Array(4);
  const rowBytes = width * channels;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      // applySimilarity(toImage, (u + 0.5, v + 0.5)), written out
      const cx = u + 0.5;
      const cy = v + 0.5;
      const fx = a * cx - b * cy + tx - 0.5;
      const fy = b * cx + a * cy + ty - 0.5;
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      cubicWeightsInto(fx - x0, wx);
      cubicWeightsInto(fy - y0, wy);
      // inside the image (most pixels of a face), the 4x4 neighbourhood needs no clamping to the image's edges
      const inside = x0 >= 1 && x0 + 2 < width && y0 >= 1 && y0 + 2 < height;
      for (let i = 0; i < 4; i++) {
        columns[i] = inside ? (x0 - 1 + i) * channels : Math.min(width - 1, Math.max(0, x0 - 1 + i)) * channels;
        rows[i] = inside ? (y0 - 1 + i) * rowBytes : Math.min(height - 1, Math.max(0, y0 - 1 + i)) * rowBytes;
      }
      let r = 0;
      let g = 0;
      let bl = 0;
      const c0 = columns[0] as number;
      const c1 = columns[1] as number;
      const c2 = columns[2] as number;
      const c3 = columns[3] as number;
      const w0 = wx[0] as number;
      const w1 = wx[1] as number;
      const w2 = wx[2] as number;
      const w3 = wx[3] as number;
      // the 16 taps in the order of the loop they unroll (rows, then columns), so the sums round the same way
      for (let j = 0; j < 4; j++) {
        const wyj = wy[j] as number;
        const row = rows[j] as number;
        let w = wyj * w0;
        let o = row + c0;
        r += w * (data[o] as number);
        g += w * (data[o + 1] as number);
        bl += w * (data[o + 2] as number);
        w = wyj * w1;
        o = row + c1;
        r += w * (data[o] as number);
        g += w * (data[o + 1] as number);
        bl += w * (data[o + 2] as number);
        w = wyj * w2;
        o = row + c2;
        r += w * (data[o] as number);
        g += w * (data[o + 1] as number);
        bl += w * (data[o + 2] as number);
        w = wyj * w3;
        o = row + c3;
        r += w * (data[o] as number);
        g += w * (data[o + 1] as number);
        bl += w * (data[o + 2] as number);
      }
      const k = v * size + u;
      // rgbToYcc, written out (its luma shared)
      y[k] = luma(r, g, bl);
      cb[k] = -0.168736 * r - 0.331264 * g + 0.5 * bl;
      cr[k] = 0.5 * r - 0.418688 * g - 0.081312 * bl;
    }
  }
  const plane = (values: Float32Array): Plane => ({ data: values, width: size, height: size });
  return { y: plane(y), cb: plane(cb), cr: plane(cr) };
}

export { applySimilarity };
