import type { FaceReport, ModelName, OutputFormat } from '../artworks/artwork.js';
import { decodeImage } from '../ingest/decode.js';
import { applySimilarity, canonicalFrame, warpToCanonical } from './align.js';
import { diagnoseFace, type FaceDiagnosis } from './analyze.js';
import { blendFaceDelta } from './blend.js';
import { detectFaces, type DetectedFace, type DetectOptions, type FrameDetector } from './detect.js';
import { encodeImage } from './encode.js';
import { deblockRegion } from './deblock.js';
import { renderDebugPicture } from './debug-picture.js';
import { DEFAULT_TUNING, defectsOf, refineCanonical, type Tuning } from './enhance.js';
import { clampRect, lumaOf, type Rect, type RgbImage } from './image.js';
import { landmarksFromBox, mapLandmarks, type FaceLandmarks } from './landmarks.js';
import { regionMasks } from './mask.js';
import { strengthFor } from './profiles.js';

export interface RefineOptions {
  model: ModelName;
  denoising: number;
  /** Accepted for API compatibility; every step is deterministic, so the same input gives the same output. */
  seed?: number;
  outputFormat: OutputFormat;
  maxPixels: number;
  maxFaces?: number;
  /** Also render a before/after picture with boxes, masks and landmarks (for people, not for clients). */
  debugPicture?: boolean;
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
  debugPicture?: Buffer;
}

/** One face as the pipeline saw and treated it: for reports, debug pictures and measurements. */
export interface RefinedFace {
  detected: DetectedFace;
  landmarks: FaceLandmarks;
  diagnosis: FaceDiagnosis;
}

export interface RefinedImage {
  image: RgbImage;
  faces: RefinedFace[];
  /** Per pixel, the blend weight of the refinement (0 = untouched). */
  coverage: Float32Array;
  detectMs: number;
  refineMs: number;
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

/** The face's inner box, where its own pixels (not hair or background) are measured. */
function innerBox(box: Rect): Rect {
  return { x: box.x + 0.15 * box.width, y: box.y + 0.15 * box.height, width: 0.7 * box.width, height: 0.7 * box.height };
}

/** The face's surroundings, wide enough to hold its whole oval. */
function faceRegion(box: Rect, image: RgbImage): Rect {
  return clampRect(
    { x: box.x - 0.6 * box.width, y: box.y - 0.6 * box.height, width: 2.2 * box.width, height: 2.2 * box.height },
    image.width,
    image.height,
  );
}

/** A copy of the image whose face region has been deblocked (the source itself stays untouched). */
function deblockedCopy(source: RgbImage, region: Rect, strength: number): RgbImage {
  const copy: RgbImage = { ...source, data: new Uint8Array(source.data) };
  deblockRegion(copy, region, Math.min(1, strength));
  return copy;
}

export function faceReport(face: DetectedFace): FaceReport {
  return {
    box: [Math.round(face.box.x), Math.round(face.box.y), Math.round(face.box.width), Math.round(face.box.height)],
    score: round2(face.score),
  };
}

/**
 * Refines every detected face: each is aligned into its canonical crop, diagnosed, refined there, and its
 * change written back through its feathered oval. Pixels outside every oval are copied unchanged.
 */
export async function refineFaces(
  detector: FrameDetector,
  source: RgbImage,
  options: Pick<RefineOptions, 'model' | 'denoising' | 'maxFaces'>,
): Promise<RefinedImage> {
  const started = performance.now();
  const detectOptions: Partial<DetectOptions> = options.maxFaces ? { maxFaces: options.maxFaces } : {};
  const detected = await detectFaces(detector, source, detectOptions);
  const detectMs = performance.now() - started;
  return { ...refineDetected(source, detected, options, DEFAULT_TUNING), detectMs };
}

/** Refines faces already found (the part after detection), with the given tuning of the refinement steps. */
export function refineDetected(
  source: RgbImage,
  detected: DetectedFace[],
  options: Pick<RefineOptions, 'model' | 'denoising'>,
  tuning: Tuning,
): Omit<RefinedImage, 'detectMs'> {
  const started = performance.now();
  const target: RgbImage = { ...source, data: new Uint8Array(source.data) };
  const coverage = new Float32Array(source.width * source.height);
  const strength = strengthFor(options.model, options.denoising);
  const faces: RefinedFace[] = [];
  for (const face of detected) {
    const landmarks = face.landmarks ?? landmarksFromBox(face.box);
    const measured = clampRect(innerBox(face.box), source.width, source.height);
    if (measured.width < 4 || measured.height < 4) continue;
    const diagnosis = diagnoseFace(lumaOf(source, measured), measured);
    const frame = canonicalFrame(landmarks);
    const planes = warpToCanonical(source, frame);
    const blocking = defectsOf(diagnosis).blocking * strength.denoise * tuning.nativeDeblock;
    const working = blocking > 0 ? deblockedCopy(source, faceRegion(face.box, source), blocking) : source;
    const start = working === source ? planes : warpToCanonical(working, frame);
    const masks = regionMasks(mapLandmarks(landmarks, (p) => applySimilarity(frame.toCanonical, p)), frame.size);
    const refined = refineCanonical(start, masks, diagnosis, strength, frame, tuning);
    blendFaceDelta(source, target, coverage, frame, planes, refined, masks.face, strength.blend);
    faces.push({ detected: face, landmarks, diagnosis });
  }
  return { image: target, faces, coverage, refineMs: performance.now() - started };
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
    ...(options.debugPicture ? { debugPicture: await renderDebugPicture(image, refined) } : {}),
    width: image.width,
    height: image.height,
    faces: refined.faces.map((face) => faceReport(face.detected)),
    timings: {
      decodeMs: round2(decodeMs),
      detectMs: round2(refined.detectMs),
      refineMs: round2(refined.refineMs),
      encodeMs: round2(encodeMs),
    },
  };
}
