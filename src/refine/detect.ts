import type { Rect, RgbImage } from './image.js';
import type { FaceLandmarks } from './landmarks.js';

export interface DetectedFace {
  box: Rect;
  /** Detector confidence, 0..1. */
  score: number;
  /** From the face mesh; absent for faces too small for it. */
  landmarks?: FaceLandmarks;
  /** Identity embedding, when the detector was asked for one. */
  embedding?: number[];
}

/** Finds faces in one frame at the detector's own input scale. */
export interface FrameDetector {
  detectFrame(image: RgbImage, frame: Rect): Promise<DetectedFace[]>;
}

export interface DetectOptions {
  /** Tiles of this size find faces too small for a whole-image pass. */
  tileSize: number;
  /** Images whose longer side is at most this get the whole-image pass only. */
  tileAbove: number;
  maxFaces: number;
}

export const DEFAULT_DETECT_OPTIONS: DetectOptions = { tileSize: 256, tileAbove: 640, maxFaces: 100 };

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

/** Keeps the best-scoring box of each cluster of overlapping boxes. */
export function suppressOverlaps(faces: DetectedFace[]): DetectedFace[] {
  const sorted = [...faces].sort((a, b) => b.score - a.score);
  const kept: DetectedFace[] = [];
  for (const face of sorted) {
    if (!kept.some((k) => iou(k.box, face.box) > 0.3 || containment(k.box, face.box) > 0.7)) kept.push(face);
  }
  return kept;
}

/** Overlapping tiles covering the image, the last row and column flush with its edges. */
export function tilesFor(width: number, height: number, size: number): Rect[] {
  const stride = Math.round(size * 0.75);
  const starts = (length: number): number[] => {
    if (length <= size) return [0];
    const out: number[] = [];
    for (let p = 0; p + size < length; p += stride) out.push(p);
    out.push(length - size);
    return out;
  };
  const tiles: Rect[] = [];
  for (const y of starts(height)) {
    for (const x of starts(width)) {
      tiles.push({ x, y, width: Math.min(size, width), height: Math.min(size, height) });
    }
  }
  return tiles;
}

/**
 * Every face in the image: one whole-image pass for large faces, and on large images a pass over overlapping
 * tiles for faces too small to survive the detector's downscale; duplicates merged.
 */
export async function detectFaces(
  detector: FrameDetector,
  image: RgbImage,
  overrides: Partial<DetectOptions> = {},
): Promise<DetectedFace[]> {
  const options = { ...DEFAULT_DETECT_OPTIONS, ...overrides };
  const whole: Rect = { x: 0, y: 0, width: image.width, height: image.height };
  const found = await detector.detectFrame(image, whole);
  if (Math.max(image.width, image.height) > options.tileAbove) {
    for (const tile of tilesFor(image.width, image.height, options.tileSize)) {
      found.push(...(await detector.detectFrame(image, tile)));
    }
  }
  return suppressOverlaps(found)
    .slice(0, options.maxFaces)
    .sort((a, b) => a.box.y - b.box.y || a.box.x - b.box.x);
}
