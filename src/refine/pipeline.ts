import type { FaceReport, ModelName, OutputFormat } from '../artworks/artwork.js';
import { decodeImage } from '../ingest/decode.js';
import type { FaceDiagnosis } from './analyze.js';
import { applyFaceDelta } from './blend.js';
import { detectFaces, type DetectedFace, type DetectOptions, type FaceDetector } from './detect.js';
import { checkOutputFits, encodeImage } from './encode.js';
import { renderDebugPicture } from './debug-picture.js';
import type { Tuning } from './enhance.js';
import { ClassicalEngine } from './engines/classical.js';
import type { FaceEngine, FaceEngineRequest } from './engines/engine.js';
import type { FacePool } from './face-pool.js';
import { cropFor, refineOneFace, type FaceWork } from './face-work.js';
import { withPixels, type RgbImage } from './image.js';
import type { FaceLandmarks } from './landmarks.js';
import { estimateImageNoise } from './noise.js';
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
  /** Faces found early are refined meanwhile (see refineFaces): that part of their refinement is counted here. */
  detectMs: number;
  /** From the end of detection to the last face's change written back. */
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
 * written back. Pixels outside every mask are copied unchanged. Faces the detector finishes with early are
 * refined while it looks for the rest, when the engine can work off this thread (refineFacesAside): a photo's
 * large faces are found in the pyramid's first window, and the finer levels take as long again.
 */
export async function refineFaces(
  detector: FaceDetector,
  source: RgbImage,
  options: Pick<RefineOptions, 'model' | 'denoising' | 'maxFaces' | 'seed'>,
  facePool?: FacePool,
  run: EngineRun = { engine: new ClassicalEngine(facePool) },
): Promise<RefinedImage> {
  const started = performance.now();
  const request = (faces: DetectedFace[]): FaceEngineRequest => ({
    image: source,
    faces,
    model: options.model,
    denoising: options.denoising,
    seed: options.seed,
    signal: run.signal,
  });
  const aside = run.engine.refineFacesAside?.bind(run.engine);
  const early = new Map<DetectedFace, Promise<FaceWork | null>>();
  const onEarly = aside
    ? (faces: DetectedFace[]): void => {
        const works = aside(request(faces));
        faces.forEach((face, i) => {
          const work = works.then((all) => all[i] ?? null);
          // awaited below if the face is kept; one dropped by detectFaces is only waited for
          work.catch(() => undefined);
          early.set(face, work);
        });
      }
    : undefined;
  const detectOptions: Partial<DetectOptions> = options.maxFaces ? { maxFaces: options.maxFaces } : {};
  let detectMs: number;
  let refineStarted: number;
  let works: Array<FaceWork | null>;
  let detected: DetectedFace[];
  try {
    detected = await detectFaces(detector, source, detectOptions, onEarly);
    detectMs = performance.now() - started;
    refineStarted = performance.now();
    const later = detected.filter((face) => !early.has(face));
    const laterWorks = later.length > 0 ? await run.engine.refineFaces(request(later)) : [];
    works = await Promise.all(detected.map((face) => early.get(face) ?? Promise.resolve(laterWorks[later.indexOf(face)] ?? null)));
  } finally {
    // whatever happened, no helper is left refining for this job once it returns
    await Promise.allSettled(early.values());
  }
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
  const imageNoise = estimateImageNoise(source);
  const works = detected.map((face) => refineOneFace(cropFor(source, face, imageNoise), face, strength, tuning));
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
