import { centroid, type Point } from './geometry.js';
import type { Rect } from './image.js';
import type { FaceLandmarks } from './landmarks.js';

/**
 * Where the box's top edge sits between the top of the brows (0) and the mesh's forehead point (1), and how far
 * out its sides sit relative to the mesh's cheek-to-cheek width (1 = the mesh's outermost silhouette points).
 * Calibrated on the Solvay 1927 ground truth (faces/solvay-1927-gray-1280.ground-truth.txt), the common
 * face-dataset convention: brow/forehead to chin, cheek to cheek. Checked on the hand-labelled photos.
 */
export const BOX_FIT = { topTowardsForehead: 0.5, widthScale: 1 };

/** Positions in the mesh's silhouette ring (MediaPipe points 10 and 152). */
const OVAL_FOREHEAD_TOP = 0;
const OVAL_CHIN = 18;

/** The face's own axes: `across` from the person's right eye to their left, `down` from brow to chin. */
export function faceAxes(landmarks: FaceLandmarks): { across: Point; down: Point } {
  const right = centroid(landmarks.rightEye);
  const left = centroid(landmarks.leftEye);
  const length = Math.hypot(left.x - right.x, left.y - right.y) || 1;
  const across = { x: (left.x - right.x) / length, y: (left.y - right.y) / length };
  return { across, down: { x: -across.y, y: across.x } };
}

/** The face's extent along its own axes: `across` from `left` to `right`, `down` from `top` to `bottom`. */
export interface FaceExtent {
  across: Point;
  down: Point;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** Cheek to cheek across, brow/forehead to chin down, measured along the face's own axes. */
export function faceExtent(landmarks: FaceLandmarks, fit = BOX_FIT): FaceExtent {
  const { across, down } = faceAxes(landmarks);
  const along = (p: Point, axis: Point): number => p.x * axis.x + p.y * axis.y;
  const acrossValues = landmarks.oval.map((p) => along(p, across));
  const outer = { left: Math.min(...acrossValues), right: Math.max(...acrossValues) };
  const mid = (outer.left + outer.right) / 2;
  const point = (index: number): Point => landmarks.oval[index] as Point;
  const browTop = Math.min(...[...landmarks.rightBrow, ...landmarks.leftBrow].map((p) => along(p, down)));
  const foreheadTop = along(point(OVAL_FOREHEAD_TOP), down);
  return {
    across,
    down,
    left: mid + (outer.left - mid) * fit.widthScale,
    right: mid + (outer.right - mid) * fit.widthScale,
    top: browTop + (foreheadTop - browTop) * fit.topTowardsForehead,
    bottom: along(point(OVAL_CHIN), down),
  };
}

/** The tight face box from a fitted mesh: its extent along the face's axes, bounded in image axes. */
export function tightFaceBox(landmarks: FaceLandmarks, fit = BOX_FIT): Rect {
  const { across, down, left, right, top, bottom } = faceExtent(landmarks, fit);
  const corners = [
    [left, top],
    [right, top],
    [left, bottom],
    [right, bottom],
  ].map(([a, d]) => ({ x: (a as number) * across.x + (d as number) * down.x, y: (a as number) * across.y + (d as number) * down.y }));
  const xs = corners.map((c) => c.x);
  const ys = corners.map((c) => c.y);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y };
}
