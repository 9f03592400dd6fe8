import type { CanonicalFrame } from '../align.js';
import { diagnoseFace } from '../analyze.js';
import { faceDelta } from '../blend.js';
import { rgbToYcc } from '../color.js';
import type { DetectedFace } from '../detect.js';
import type { FaceWork } from '../face-work.js';
import { applySimilarity, centroid, fitSimilarity, invertSimilarity, similarityScale, type Point } from '../geometry.js';
import { clampRect, type Plane, type RgbImage } from '../image.js';
import { landmarksFromBox, mapLandmarks, type FaceLandmarks } from '../landmarks.js';
import { regionMasks } from '../mask.js';
import { estimateImageNoise } from '../noise.js';

/**
 * Where the five points sit in a restorer's input, as fractions of its size: FaceFusion's WARP_TEMPLATE_SET
 * (facefusion/face_helper.py). Order: the eye on the image's left, the other eye, nose tip, mouth corner on the
 * image's left, the other corner.
 */
export const WARP_TEMPLATES = {
  ffhq_512: [
    { x: 0.37691676, y: 0.46864664 },
    { x: 0.62285697, y: 0.46912813 },
    { x: 0.50123859, y: 0.61331904 },
    { x: 0.39308822, y: 0.725411 },
    { x: 0.61150205, y: 0.72490465 },
  ],
  arcface_128: [
    { x: 0.36167656, y: 0.40387734 },
    { x: 0.63696719, y: 0.40235469 },
    { x: 0.50019687, y: 0.56044219 },
    { x: 0.38710391, y: 0.72160547 },
    { x: 0.61507734, y: 0.72034453 },
  ],
} as const satisfies Record<string, readonly Point[]>;

export type TemplateName = keyof typeof WARP_TEMPLATES;
export const TEMPLATE_NAMES = Object.keys(WARP_TEMPLATES) as TemplateName[];

/**
 * The five points restorers are aligned by, from the face mesh: eye centres, nose tip, mouth corners, in the
 * templates' order. The mesh's right eye is the one on the image's left of an upright face; mouth corners are
 * told apart by their position along the eye line, so a tilted or turned face keeps its order.
 */
export function fivePoints(landmarks: FaceLandmarks): [Point, Point, Point, Point, Point] {
  const first = centroid(landmarks.rightEye);
  const second = centroid(landmarks.leftEye);
  const axis = { x: second.x - first.x, y: second.y - first.y };
  const along = (p: Point): number => p.x * axis.x + p.y * axis.y;
  let left = landmarks.lips[0] as Point;
  let right = left;
  for (const p of landmarks.lips) {
    if (along(p) < along(left)) left = p;
    if (along(p) > along(right)) right = p;
  }
  const eyes = { x: (first.x + second.x) / 2, y: (first.y + second.y) / 2 };
  const mouth = { x: (left.x + right.x) / 2, y: (left.y + right.y) / 2 };
  // without a mesh: where the ffhq template puts the nose between the eye line and the mouth (0.56 of the way)
  const nose = landmarks.noseTip ?? { x: eyes.x + 0.56 * (mouth.x - eyes.x), y: eyes.y + 0.56 * (mouth.y - eyes.y) };
  return [first, second, nose, left, right];
}

/** One face warped into a restorer's input: RGB floats 0..255, row-major, 3 per pixel, `frame.size` square. */
export interface AlignedFace {
  face: DetectedFace;
  landmarks: FaceLandmarks;
  frame: CanonicalFrame;
  rgb: Float32Array;
}

function sampleRgb(image: RgbImage, x: number, y: number, out: Float64Array): void {
  // bilinear, with the border replicated (cv2.BORDER_REPLICATE)
  const fx = Math.min(image.width - 1, Math.max(0, x - 0.5));
  const fy = Math.min(image.height - 1, Math.max(0, y - 0.5));
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const x1 = Math.min(image.width - 1, x0 + 1);
  const y1 = Math.min(image.height - 1, y0 + 1);
  const tx = fx - x0;
  const ty = fy - y0;
  const { data, width, channels } = image;
  const a = (y0 * width + x0) * channels;
  const b = (y0 * width + x1) * channels;
  const c = (y1 * width + x0) * channels;
  const d = (y1 * width + x1) * channels;
  for (let ch = 0; ch < 3; ch++) {
    out[ch] =
      (1 - ty) * ((1 - tx) * (data[a + ch] as number) + tx * (data[b + ch] as number)) +
      ty * ((1 - tx) * (data[c + ch] as number) + tx * (data[d + ch] as number));
  }
}

/**
 * Warps a face into a restorer's input: the similarity that best takes its five points to the template at
 * `size` (least squares, like FaceFusion's cv2.estimateAffinePartial2D), sampled bilinearly with the border
 * replicated. Where the face is larger than the input, each output pixel averages the k x k bilinear samples
 * covering its footprint (area sampling, like cv2.INTER_AREA), so the downscale does not alias.
 */
export function alignFace(image: RgbImage, face: DetectedFace, template: TemplateName, size: number): AlignedFace {
  const landmarks = face.landmarks ?? landmarksFromBox(face.box);
  const target = WARP_TEMPLATES[template].map((p) => ({ x: p.x * size, y: p.y * size }));
  const toCanonical = fitSimilarity(fivePoints(landmarks), target);
  const toImage = invertSimilarity(toCanonical);
  const scale = similarityScale(toCanonical);
  const frame: CanonicalFrame = { size, toCanonical, toImage, scale, unit: size / 384 };
  const k = Math.max(1, Math.min(8, Math.ceil(1 / scale - 1e-6)));
  const rgb = new Float32Array(size * size * 3);
  const sample = new Float64Array(3);
  const sum = new Float64Array(3);
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      sum.fill(0);
      for (let j = 0; j < k; j++) {
        for (let i = 0; i < k; i++) {
          const p = applySimilarity(toImage, { x: u + (i + 0.5) / k, y: v + (j + 0.5) / k });
          sampleRgb(image, p.x, p.y, sample);
          sum[0] = (sum[0] as number) + (sample[0] as number);
          sum[1] = (sum[1] as number) + (sample[1] as number);
          sum[2] = (sum[2] as number) + (sample[2] as number);
        }
      }
      const o = (v * size + u) * 3;
      rgb[o] = (sum[0] as number) / (k * k);
      rgb[o + 1] = (sum[1] as number) / (k * k);
      rgb[o + 2] = (sum[2] as number) / (k * k);
    }
  }
  return { face, landmarks, frame, rgb };
}

function yccPlanes(rgb: Float32Array, size: number): { y: Plane; cb: Plane; cr: Plane } {
  const n = size * size;
  const y = new Float32Array(n);
  const cb = new Float32Array(n);
  const cr = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const [a, b, c] = rgbToYcc(rgb[3 * i] as number, rgb[3 * i + 1] as number, rgb[3 * i + 2] as number);
    y[i] = a;
    cb[i] = b;
    cr[i] = c;
  }
  const plane = (data: Float32Array): Plane => ({ data, width: size, height: size });
  return { y: plane(y), cb: plane(cb), cr: plane(cr) };
}

/**
 * Turns a restored face (same frame and size as `aligned.rgb`, RGB 0..255) into the change the pipeline blends:
 * matched in colour (the restored face's mean Y, Cb and Cr over the face mask are moved to the original's, so a
 * restorer's shift of skin tone or white balance does not show where the feathered mask meets the neck), then
 * restored minus original, times our face-shaped feathered mask and `opacity`.
 */
export function restoredFaceWork(image: RgbImage, aligned: AlignedFace, restored: Float32Array, opacity: number): FaceWork | null {
  const { frame, landmarks, face } = aligned;
  const size = frame.size;
  if (restored.length !== size * size * 3) {
    throw new Error(`Expected a restored face of ${size}x${size}x3 values but received ${restored.length}`);
  }
  const original = yccPlanes(aligned.rgb, size);
  const result = yccPlanes(restored, size);
  const mask = regionMasks(mapLandmarks(landmarks, (p) => applySimilarity(frame.toCanonical, p)), size).face;
  let weight = 0;
  const shift = [0, 0, 0];
  const channels = ['y', 'cb', 'cr'] as const;
  for (let i = 0; i < mask.data.length; i++) {
    const m = mask.data[i] as number;
    if (m <= 0) continue;
    weight += m;
    channels.forEach((c, ch) => {
      shift[ch] = (shift[ch] as number) + m * ((original[c].data[i] as number) - (result[c].data[i] as number));
    });
  }
  if (weight > 0) {
    channels.forEach((c, ch) => {
      const offset = (shift[ch] as number) / weight;
      const data = result[c].data;
      for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) + offset;
    });
  }
  const inner = clampRect(
    { x: face.box.x + 0.15 * face.box.width, y: face.box.y + 0.15 * face.box.height, width: 0.7 * face.box.width, height: 0.7 * face.box.height },
    image.width,
    image.height,
  );
  // as the classical engine: a face too small to measure is left alone
  if (inner.width < 4 || inner.height < 4) return null;
  const diagnosis = diagnoseFace(image, inner, inner, { x: 0, y: 0 }, estimateImageNoise(image));
  return { frame, landmarks, diagnosis, delta: faceDelta(original, result, mask, opacity) };
}
