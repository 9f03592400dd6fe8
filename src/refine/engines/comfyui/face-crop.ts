import sharp from 'sharp';
import { warpToCanonical, type CanonicalFrame, type YccPlanes } from '../../align.js';
import { faceDelta, type FaceDelta } from '../../blend.js';
import { rgbToYcc, yccToRgb } from '../../color.js';
import type { DetectedFace } from '../../detect.js';
import { applySimilarity, fitSimilarity, invertSimilarity, similarityScale } from '../../geometry.js';
import type { Plane, RgbImage } from '../../image.js';
import { anchors, landmarksFromBox, mapLandmarks } from '../../landmarks.js';
import { polygonMask } from '../../mask.js';
import { GeneratorFailedError } from './errors.js';

/**
 * Where eyes and mouth sit in the working crop: the refiner's canonical layout (eyes level at 42%, 25% of the
 * width apart, mouth at 69%) zoomed out by CONTEXT, so the face fills a little over half the crop and the
 * model sees hair, ears and neck around it, as ADetailer's padded "inpaint only masked" crop does.
 */
const CONTEXT = 1.25;
const LAYOUT = [
  { x: 0.375, y: 0.42 },
  { x: 0.625, y: 0.42 },
  { x: 0.5, y: 0.69 },
].map((p) => ({ x: 0.5 + (p.x - 0.5) / CONTEXT, y: 0.5 + (p.y - 0.5) / CONTEXT }));

/** One face prepared for a diffusion model: its crop at the working size and the feathered face mask there. */
export interface GenerationCrop {
  frame: CanonicalFrame;
  planes: YccPlanes;
  mask: Plane;
  /** RGB PNG of the crop, for /upload/image. */
  png: Buffer;
  /** RGBA PNG whose alpha is 255 - mask, for /upload/mask (ComfyUI's LoadImage reads the mask as 1 - alpha). */
  maskPng: Buffer;
}

/** The face aligned into a size x size crop (any scale: small faces are enlarged to what the model works at). */
export function generationFrame(face: DetectedFace, size: number): CanonicalFrame {
  const landmarks = face.landmarks ?? landmarksFromBox(face.box);
  const toCanonical = fitSimilarity(anchors(landmarks), LAYOUT.map((p) => ({ x: p.x * size, y: p.y * size })));
  return { size, toCanonical, toImage: invertSimilarity(toCanonical), scale: similarityScale(toCanonical), unit: size / 384 };
}

function planesToRgb(planes: YccPlanes): Uint8Array {
  const n = planes.y.data.length;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const rgb = yccToRgb(planes.y.data[i] as number, planes.cb.data[i] as number, planes.cr.data[i] as number);
    for (let c = 0; c < 3; c++) {
      const v = Math.round(rgb[c] as number);
      out[i * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}

export async function prepareCrop(source: RgbImage, face: DetectedFace, size: number): Promise<GenerationCrop> {
  const frame = generationFrame(face, size);
  const planes = warpToCanonical(source, frame);
  const landmarks = face.landmarks ?? landmarksFromBox(face.box);
  // the same feathered oval as every engine's blend mask (mask.ts regionMasks), drawn at the working size
  const mask = polygonMask(mapLandmarks(landmarks, (p) => applySimilarity(frame.toCanonical, p)).oval, size, size, (24 * size) / 384);
  const rgb = planesToRgb(planes);
  const rgba = new Uint8Array(size * size * 4);
  for (let i = 0; i < size * size; i++) {
    rgba[i * 4] = rgb[i * 3] as number;
    rgba[i * 4 + 1] = rgb[i * 3 + 1] as number;
    rgba[i * 4 + 2] = rgb[i * 3 + 2] as number;
    rgba[i * 4 + 3] = Math.round(255 * (1 - Math.min(1, Math.max(0, mask.data[i] as number))));
  }
  const png = await sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).png({ compressionLevel: 3 }).toBuffer();
  const maskPng = await sharp(rgba, { raw: { width: size, height: size, channels: 4 } }).png({ compressionLevel: 3 }).toBuffer();
  return { frame, planes, mask, png, maskPng };
}

const ACCEPTED_FORMATS = ['png', 'jpeg', 'webp'];

/** ComfyUI's output, checked: an image of the working size in a format SaveImage-like nodes write. */
export async function decodeRendered(bytes: Buffer, size: number): Promise<YccPlanes> {
  let meta;
  try {
    meta = await sharp(bytes).metadata();
  } catch {
    throw new GeneratorFailedError(`the output is not an image (${bytes.length} bytes)`);
  }
  if (!meta.format || !ACCEPTED_FORMATS.includes(meta.format)) {
    throw new GeneratorFailedError(`Expected a PNG, JPEG or WebP output but received ${meta.format ?? 'an unknown format'}`);
  }
  if (meta.width !== size || meta.height !== size) {
    throw new GeneratorFailedError(`Expected a ${size}x${size} output (the crop that was sent) but received ${meta.width}x${meta.height}`);
  }
  const raw = await sharp(bytes).removeAlpha().toColourspace('srgb').raw().toBuffer();
  const n = size * size;
  const y = new Float32Array(n);
  const cb = new Float32Array(n);
  const cr = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const [yy, bb, rr] = rgbToYcc(raw[i * 3] as number, raw[i * 3 + 1] as number, raw[i * 3 + 2] as number);
    y[i] = yy;
    cb[i] = bb;
    cr[i] = rr;
  }
  const plane = (data: Float32Array): Plane => ({ data, width: size, height: size });
  return { y: plane(y), cb: plane(cb), cr: plane(cr) };
}

function weightedStats(values: Float32Array, weights: Float32Array): { mean: number; std: number } {
  let sw = 0;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sw += weights[i] as number;
    sum += (weights[i] as number) * (values[i] as number);
  }
  const mean = sw > 0 ? sum / sw : 0;
  let variance = 0;
  for (let i = 0; i < values.length; i++) variance += (weights[i] as number) * ((values[i] as number) - mean) ** 2;
  return { mean, std: sw > 0 ? Math.sqrt(variance / sw) : 0 };
}

/**
 * Colour matching under the face mask: the model's output gets the input's mean brightness and its colour
 * (mean and spread of Cb and Cr), so a checkpoint's own palette or a VAE's shift does not show as a patch.
 * Luminance contrast is the model's: that is the detail it was asked for.
 */
export function matchColours(original: YccPlanes, rendered: YccPlanes, mask: Plane): YccPlanes {
  const match = (from: Plane, to: Plane, spread: boolean): Plane => {
    const a = weightedStats(from.data, mask.data);
    const b = weightedStats(to.data, mask.data);
    // a flat channel (a grey face) has no spread to match; scaling it would amplify noise
    const gain = spread && b.std > 0.5 ? a.std / b.std : 1;
    return { ...to, data: Float32Array.from(to.data, (v) => (v - b.mean) * gain + a.mean) };
  };
  return { y: match(original.y, rendered.y, false), cb: match(original.cb, rendered.cb, true), cr: match(original.cr, rendered.cr, true) };
}

/** The face's change for blending back: colour-matched output minus input, under the feathered mask. */
export function generatedDelta(crop: GenerationCrop, rendered: YccPlanes): FaceDelta {
  return faceDelta(crop.planes, matchColours(crop.planes, rendered, crop.mask), crop.mask, 1);
}
