import type { FaceReport, ModelName, OutputFormat } from '../artworks/artwork.js';
import { decodeImage } from '../ingest/decode.js';
import { blendLumaDelta } from './blend.js';
import { detectFaces, type FrameDetector } from './detect.js';
import { encodeImage } from './encode.js';
import { enhanceLuma } from './enhance.js';
import { clampRect, lumaOf, type RgbImage } from './image.js';
import { ellipseForBox, featheredEllipseMask, regionForEllipse } from './mask.js';
import { strengthFor } from './profiles.js';

export interface RefineOptions {
  model: ModelName;
  denoising: number;
  /** Accepted for API compatibility; every step is deterministic, so the same input gives the same output. */
  seed?: number;
  outputFormat: OutputFormat;
  maxPixels: number;
}

export interface RefineTimings {
  decodeMs: number;
  detectMs: number;
  refineMs: number;
  encodeMs: number;
}

export interface RefineResult {
  body: Buffer;
  contentType: string;
  extension: string;
  width: number;
  height: number;
  faces: FaceReport[];
  timings: RefineTimings;
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

/** Refines every detected face of a decoded image; pixels outside every face mask are copied unchanged. */
export async function refineFaces(
  detector: FrameDetector,
  source: RgbImage,
  options: Pick<RefineOptions, 'model' | 'denoising'>,
): Promise<{ image: RgbImage; faces: FaceReport[]; detectMs: number; refineMs: number }> {
  let started = performance.now();
  const detected = await detectFaces(detector, source);
  const detectMs = performance.now() - started;
  started = performance.now();
  const target: RgbImage = { ...source, data: new Uint8Array(source.data) };
  const coverage = new Float32Array(source.width * source.height);
  const strength = strengthFor(options.model, options.denoising);
  for (const face of detected) {
    const ellipse = ellipseForBox(face.box);
    const region = clampRect(regionForEllipse(ellipse), source.width, source.height);
    if (region.width < 3 || region.height < 3) continue;
    const before = lumaOf(source, region);
    const after = enhanceLuma(before, Math.max(face.box.width, face.box.height), strength);
    const mask = featheredEllipseMask(ellipse, region);
    blendLumaDelta(source, target, coverage, region, before, after, mask, strength.blend);
  }
  const faces = detected.map((face) => ({
    box: [
      Math.round(face.box.x),
      Math.round(face.box.y),
      Math.round(face.box.width),
      Math.round(face.box.height),
    ] as FaceReport['box'],
    score: round2(face.score),
  }));
  return { image: target, faces, detectMs, refineMs: performance.now() - started };
}

/** The whole job on bytes: decode (upright), detect, refine, encode. Knows nothing of HTTP or storage. */
export async function refineImage(
  detector: FrameDetector,
  input: Buffer,
  options: RefineOptions,
): Promise<RefineResult> {
  let started = performance.now();
  const { image } = await decodeImage(input, options.maxPixels);
  const decodeMs = performance.now() - started;
  const refined = await refineFaces(detector, image, options);
  started = performance.now();
  const encoded = await encodeImage(refined.image, options.outputFormat);
  const encodeMs = performance.now() - started;
  return {
    ...encoded,
    width: image.width,
    height: image.height,
    faces: refined.faces,
    timings: {
      decodeMs: round2(decodeMs),
      detectMs: round2(refined.detectMs),
      refineMs: round2(refined.refineMs),
      encodeMs: round2(encodeMs),
    },
  };
}
