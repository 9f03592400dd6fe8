import { rgbToYcc } from './color.js';
import { applySimilarity, fitSimilarity, invertSimilarity, similarityScale, type Similarity } from './geometry.js';
import type { Plane, RgbImage } from './image.js';
import { anchors, type FaceLandmarks } from './landmarks.js';

/** The canonical face crop: eyes level at 42% of the height, 25% of the width apart, the mouth at 69%. */
export const CANONICAL_SIZE = 384;
/** Tiny faces are upscaled at most this much: beyond it a resampler invents nothing and costs time. */
const MAX_UPSCALE = 4;
const TEMPLATE = [
  { x: 0.375, y: 0.42 },
  { x: 0.625, y: 0.42 },
  { x: 0.5, y: 0.69 },
];

export interface CanonicalFrame {
  size: number;
  toCanonical: Similarity;
  toImage: Similarity;
  /** Canonical pixels per image pixel, 1..MAX_UPSCALE: large faces get a larger crop, never a downscale. */
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
  if (scale < 1) size = Math.ceil(CANONICAL_SIZE / scale);
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

function cubicWeights(t: number): [number, number, number, number] {
  // Catmull-Rom: sharp, no ringing beyond one pixel, the usual choice for upscaling photographs.
  const t2 = t * t;
  const t3 = t2 * t;
  return [
    -0.5 * t3 + t2 - 0.5 * t,
    1.5 * t3 - 2.5 * t2 + 1,
    -1.5 * t3 + 2 * t2 + 0.5 * t,
    0.5 * t3 - 0.5 * t2,
  ];
}

export interface YccPlanes {
  y: Plane;
  cb: Plane;
  cr: Plane;
}

/** Resamples the face into its canonical crop (bicubic, edges clamped), as Y, Cb and Cr planes. */
export function warpToCanonical(image: RgbImage, frame: CanonicalFrame): YccPlanes {
  const { size, toImage } = frame;
  const { data, width, height, channels } = image;
  const y = new Float32Array(size * size);
  const cb = new Float32Array(size * size);
  const cr = new Float32Array(size * size);
  const rgb = [0, 0, 0];
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const p = applySimilarity(toImage, { x: u + 0.5, y: v + 0.5 });
      const fx = p.x - 0.5;
      const fy = p.y - 0.5;
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const wx = cubicWeights(fx - x0);
      const wy = cubicWeights(fy - y0);
      rgb[0] = rgb[1] = rgb[2] = 0;
      for (let j = 0; j < 4; j++) {
        const sy = Math.min(height - 1, Math.max(0, y0 - 1 + j));
        const wyj = wy[j] as number;
        for (let i = 0; i < 4; i++) {
          const sx = Math.min(width - 1, Math.max(0, x0 - 1 + i));
          const w = wyj * (wx[i] as number);
          const o = (sy * width + sx) * channels;
          rgb[0] += w * (data[o] as number);
          rgb[1] += w * (data[o + 1] as number);
          rgb[2] += w * (data[o + 2] as number);
        }
      }
      const [yy, cbb, crr] = rgbToYcc(rgb[0], rgb[1], rgb[2]);
      const k = v * size + u;
      y[k] = yy;
      cb[k] = cbb;
      cr[k] = crr;
    }
  }
  const plane = (values: Float32Array): Plane => ({ data: values, width: size, height: size });
  return { y: plane(y), cb: plane(cb), cr: plane(cr) };
}

/** Bilinear sample of a plane at a continuous position (pixel centres at +0.5); 0 outside. */
export function sampleBilinear(plane: Plane, x: number, y: number): number {
  const fx = x - 0.5;
  const fy = y - 0.5;
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  if (x0 < -1 || y0 < -1 || x0 >= plane.width || y0 >= plane.height) return 0;
  const tx = fx - x0;
  const ty = fy - y0;
  const at = (xx: number, yy: number): number =>
    xx < 0 || yy < 0 || xx >= plane.width || yy >= plane.height ? 0 : (plane.data[yy * plane.width + xx] as number);
  return (
    (1 - ty) * ((1 - tx) * at(x0, y0) + tx * at(x0 + 1, y0)) + ty * ((1 - tx) * at(x0, y0 + 1) + tx * at(x0 + 1, y0 + 1))
  );
}

export { applySimilarity };
