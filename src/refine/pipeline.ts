import type { FaceReport, ModelName, OutputFormat } from '../artworks/artwork.js';
import { decodeImage } from '../ingest/decode.js';
import type { FaceDiagnosis } from './analyze.js';
import { applyFaceDelta } from './blend.js';
import { detectFaces, type DetectedFace, type DetectOptions, type FaceDetector } from './detect.js';
import { checkOutputFits, encodeImage } from './encode.js';
import { renderDebugPicture } from './debug-picture.js';
import type { Tuning } from './enhance.js';
import { ClassicalEngine } from './engines/classical.js';
import type { FaceEngine } from './engines/engine.js';
import type { FacePool } from './face-pool.js';
import { cropFor, refineOneFace, type FaceWork } from './face-work.js';
import { withPixels, type RgbImage } from './image.js';
import type { FaceLandmarks } from './landmarks.js';
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
  /** The engine that refined the faces (`classical`, a restorer's name, ...). */
  engine: string;
  timings: RefineTimings;
  debugPicture?: Buffer;
}

/** Which engine refines the faces, and the job's cancel signal (which the engine must honour). */
export interface EngineRun {
  engine: FaceEngine;
  signal?: AbortSignal;
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
  engine: string;
  detectMs: number;
  refineMs: number;
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

export function faceReport(face: DetectedFace): FaceReport {
  return {
    box: [Math.round(face.box.x), Math.round(face.box.y), Math.round(face.box.width), Math.round(face.box.height)],
    score: round2(face.score),
  };
}

/**
 * Refines every detected face with the run's engine (the classical one, on the face pool's helpers if any, when
 * none is given): each face's change, in its aligned frame and already weighted by its feathered mask, is
 * written back. Pixels outside every mask are copied unchanged.
 */
export async function refineFaces(
  detector: FaceDetector,
  source: RgbImage,
  options: Pick<RefineOptions, 'model' | 'denoising' | 'maxFaces' | 'seed'>,
  facePool?: FacePool,
  run: EngineRun = { engine: new ClassicalEngine(facePool) },
): Promise<RefinedImage> {
  const started = performance.now();
  const detectOptions: Partial<DetectOptions> = options.maxFaces ? { maxFaces: options.maxFaces } : {};
  const detected = await detectFaces(detector, source, detectOptions);
  const detectMs = performance.now() - started;
  const refineStarted = performance.now();
  const works = await run.engine.refineFaces({
    image: source,
    faces: detected,
    model: options.model,
    denoising: options.denoising,
    seed: options.seed,
    signal: run.signal,
  });
  return { ...blendAll(source, detected, works, refineStarted), engine: run.engine.name, detectMs };
}

/** Refines faces already found (the part after detection), in this thread, with the given tuning. */
export function refineDetected(
  source: RgbImage,
  detected: DetectedFace[],
  options: Pick<RefineOptions, 'model' | 'denoising'>,
  tuning: Tuning,
): Omit<RefinedImage, 'detectMs' | 'engine'> {
  const started = performance.now();
  const strength = strengthFor(options.model, options.denoising);
  const works = detected.map((face) => refineOneFace(cropFor(source, face), face, strength, tuning));
  return blendAll(source, detected, works, started);
}

/** Writes the faces' changes back, in detection order, so overlaps resolve the same way every time. */
function blendAll(
  source: RgbImage,
  detected: DetectedFace[],
  works: Array<FaceWork | null>,
  started: number,
): Omit<RefinedImage, 'detectMs' | 'engine'> {
  const target = withPixels(source, new Uint8Array(source.data));
  const coverage = new Float32Array(source.width * source.height);
  const faces: RefinedFace[] = [];
  works.forEach((work, i) => {
    if (!work) return;
    applyFaceDelta(source, target, coverage, work.frame, work.delta);
    faces.push({ detected: detected[i] as DetectedFace, landmarks: work.landmarks, diagnosis: work.diagnosis });
  });
  return { image: target, faces, coverage, refineMs: performance.now() - started };
}

/** The whole job on bytes: decode (upright), detect, refine, encode. Knows nothing of HTTP or storage. */
export async function refineImage(
  detector: FaceDetector,
  input: Buffer,
  options: RefineOptions,
  facePool?: FacePool,
  run?: EngineRun,
): Promise<RefineResult> {
  let started = performance.now();
  const { image } = await decodeImage(input, options.maxPixels);
  checkOutputFits(options.outputFormat, image.width, image.height);
  const decodeMs = performance.now() - started;
  const refined = await refineFaces(detector, image, options, facePool, run);
  started = performance.now();
  const encoded = await encodeImage(refined.image, options.outputFormat);
  const encodeMs = performance.now() - started;
  return {
    ...encoded,
    ...(options.debugPicture ? { debugPicture: await renderDebugPicture(image, refined) } : {}),
    width: image.width,
    height: image.height,
    faces: refined.faces.map((face) => faceReport(face.detected)),
    engine: refined.engine,
    timings: {
      decodeMs: round2(decodeMs),
      detectMs: round2(refined.detectMs),
      refineMs: round2(refined.refineMs),
      encodeMs: round2(encodeMs),
    },
  };
}
