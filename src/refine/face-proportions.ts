import { centroid, type Point } from './geometry.js';
import type { FaceLandmarks } from './landmarks.js';

/**
 * The distance from between the eyes down to the middle of the mouth, relative to the distance between the
 * eyes' centres. A human face keeps near 1 (the classical canon: the mouth sits about one eye spacing below the
 * eyes); a caricature or a figurine, with big eyes set wide over a short lower face, falls below.
 */
export function eyeToMouthRatio(landmarks: Pick<FaceLandmarks, 'rightEye' | 'leftEye' | 'lips'>): number {
  const right = centroid(landmarks.rightEye);
  const left = centroid(landmarks.leftEye);
  const between: Point = { x: (right.x + left.x) / 2, y: (right.y + left.y) / 2 };
  const mouth = centroid(landmarks.lips);
  const eyes = Math.hypot(left.x - right.x, left.y - right.y);
  return eyes > 0 ? Math.hypot(mouth.x - between.x, mouth.y - between.y) / eyes : 0;
}
