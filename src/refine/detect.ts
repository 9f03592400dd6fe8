import type { Rect, RgbImage } from './image.js';
import type { FaceLandmarks } from './landmarks.js';

export interface DetectedFace {
  box: Rect;
  /** Detector confidence, 0..1. */
  score: number;
  /** The face mesh's own face-presence confidence, 0..1, when a mesh was fitted. */
  meshScore?: number;
  /** Eye-to-mouth distance over eye spacing, in the image (see eyeToMouthRatio), when a mesh was fitted. */
  eyeToMouth?: number;
  /** From the face mesh; absent for faces too small for it. */
  landmarks?: FaceLandmarks;
  /** Identity embedding, when the detector was asked for one. */
  embedding?: number[];
}

/**
 * Told of faces a detector has finished with while it goes on looking for more: it will return these very
 * objects, so work on them (their refinement) can start at once. detectFaces may still drop one (an overlapping
 * face that scores higher, or past maxFaces).
 */
export type EarlyFaces = (faces: DetectedFace[]) => void;

/** Finds every face in an image. */
export interface FaceDetector {
  findFaces(image: RgbImage, options: DetectOptions, early?: EarlyFaces): Promise<DetectedFace[]>;
}

export interface DetectOptions {
  maxFaces: number;
  /**
   * The smallest face (box width, px) looked for: it sets the finest pyramid level, so it is what detection
   * time scales with. 24 px is where the face mesh, and refinement, stop being trustworthy.
   */
  smallestFacePx: number;
  /** When the upright pass finds no face, look again with the image turned 90, 180 and 270 degrees. */
  rightAngles: boolean;
}

export const DEFAULT_DETECT_OPTIONS: DetectOptions = { maxFaces: 100, smallestFacePx: 24, rightAngles: true };

export function iou(a: Rect, b: Rect): number {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.width, b.x + b.width);
  const y2 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/** Share of the smaller box covered by the larger: catches a face found whole and again cut by a tile edge. */
function containment(a: Rect, b: Rect): number {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.width, b.x + b.width);
  const y2 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  return inter / Math.min(a.width * a.height, b.width * b.height);
}

/** Whether two face boxes are one face: they overlap, or one lies mostly inside the other. */
export function overlapping(a: Rect, b: Rect): boolean {
  return iou(a, b) > 0.3 || containment(a, b) > 0.7;
}

/** Keeps the best-scoring box of each cluster of overlapping boxes. */
export function suppressOverlaps(faces: DetectedFace[]): DetectedFace[] {
  const sorted = [...faces].sort((a, b) => b.score - a.score);
  const kept: DetectedFace[] = [];
  for (const face of sorted) {
    if (!kept.some((k) => overlapping(k.box, face.box))) kept.push(face);
  }
  return kept;
}

/** Every face in the image, top to bottom then left to right, at most `maxFaces` (the most confident kept). */
export async function detectFaces(
  detector: FaceDetector,
  image: RgbImage,
  overrides: Partial<DetectOptions> = {},
  early?: EarlyFaces,
): Promise<DetectedFace[]> {
  const options = { ...DEFAULT_DETECT_OPTIONS, ...overrides };
  // A face is at least smallestFacePx across (and about as tall), so a thinner image holds none; a detector
  // would still tile its whole length with windows (a 1,000,000x1 PNG cost 8015 windows a pass).
  if (Math.min(image.width, image.height) < options.smallestFacePx) return [];
  return suppressOverlaps(await detector.findFaces(image, options, early))
    .slice(0, options.maxFaces)
    .sort((a, b) => a.box.y - b.box.y || a.box.x - b.box.x);
}
