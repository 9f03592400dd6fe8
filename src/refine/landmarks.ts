import { centroid, type Point } from './geometry.js';
import type { Rect } from './image.js';

/** Face geometry in image pixels: closed polygons for the oval and the features that get their own treatment. */
export interface FaceLandmarks {
  oval: Point[];
  rightEye: Point[];
  leftEye: Point[];
  rightBrow: Point[];
  leftBrow: Point[];
  lips: Point[];
  /** The tip of the nose (mesh point 1); absent where the producer has none. Restorers' 5-point alignment uses it. */
  noseTip?: Point;
  /** True when the points come from the mesh model; false for the ellipse estimated from the box. */
  fromMesh: boolean;
}

type Annotations = Record<string, Array<[number, number, number?]> | undefined>;

const ring = (upper: Point[], lower: Point[]): Point[] => [...upper, ...[...lower].reverse()];

function points(annotations: Annotations, name: string): Point[] {
  const list = annotations[name];
  if (!list || list.length === 0) throw new Error(`face mesh has no ${name}`);
  return list.map(([x, y]) => ({ x, y }));
}

/**
 * Indices into MediaPipe's 468-point face mesh of the contours used here (MediaPipe's canonical face mesh
 * topology; the same lists @vladmandic/human names `silhouette`, `rightEyeUpper0`, …). "Right" is the person's.
 */
const MESH_INDEX = {
  silhouette: [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136,
    172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
  ],
  rightEyeUpper0: [246, 161, 160, 159, 158, 157, 173],
  rightEyeLower0: [33, 7, 163, 144, 145, 153, 154, 155, 133],
  leftEyeUpper0: [466, 388, 387, 386, 385, 384, 398],
  leftEyeLower0: [263, 249, 390, 373, 374, 380, 381, 382, 362],
  rightEyebrowUpper: [156, 70, 63, 105, 66, 107, 55, 193],
  rightEyebrowLower: [35, 124, 46, 53, 52, 65],
  leftEyebrowUpper: [383, 300, 293, 334, 296, 336, 285, 417],
  leftEyebrowLower: [265, 353, 276, 283, 282, 295],
  lipsUpperOuter: [185, 40, 39, 37, 0, 267, 269, 270, 409],
  lipsLowerOuter: [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291],
} as const;

/** The contours of a fitted 468-point mesh (points in image pixels). */
export function landmarksFromMeshPoints(mesh: Point[]): FaceLandmarks {
  const pick = (indices: readonly number[]): Point[] =>
    indices.map((i) => {
      const p = mesh[i];
      if (!p) throw new Error(`Expected a 468-point face mesh but received ${mesh.length} points`);
      return p;
    });
  return {
    oval: pick(MESH_INDEX.silhouette),
    rightEye: ring(pick(MESH_INDEX.rightEyeUpper0), pick(MESH_INDEX.rightEyeLower0)),
    leftEye: ring(pick(MESH_INDEX.leftEyeUpper0), pick(MESH_INDEX.leftEyeLower0)),
    rightBrow: ring(pick(MESH_INDEX.rightEyebrowUpper), pick(MESH_INDEX.rightEyebrowLower)),
    leftBrow: ring(pick(MESH_INDEX.leftEyebrowUpper), pick(MESH_INDEX.leftEyebrowLower)),
    lips: ring(pick(MESH_INDEX.lipsUpperOuter), pick(MESH_INDEX.lipsLowerOuter)),
    fromMesh: true,
  };
}

/** From the 468-point face mesh's named contours (MediaPipe's annotation names, as @vladmandic/human gives them). */
export function landmarksFromMesh(annotations: Annotations): FaceLandmarks {
  return {
    oval: points(annotations, 'silhouette'),
    rightEye: ring(points(annotations, 'rightEyeUpper0'), points(annotations, 'rightEyeLower0')),
    leftEye: ring(points(annotations, 'leftEyeUpper0'), points(annotations, 'leftEyeLower0')),
    rightBrow: ring(points(annotations, 'rightEyebrowUpper'), points(annotations, 'rightEyebrowLower')),
    leftBrow: ring(points(annotations, 'leftEyebrowUpper'), points(annotations, 'leftEyebrowLower')),
    lips: ring(points(annotations, 'lipsUpperOuter'), points(annotations, 'lipsLowerOuter')),
    ...(annotations.noseTip?.[0] ? { noseTip: { x: annotations.noseTip[0][0], y: annotations.noseTip[0][1] } } : {}),
    fromMesh: true,
  };
}

function ellipse(cx: number, cy: number, rx: number, ry: number, count: number): Point[] {
  return Array.from({ length: count }, (_, i) => {
    const t = (2 * Math.PI * i) / count;
    return { x: cx + rx * Math.cos(t), y: cy + ry * Math.sin(t) };
  });
}

/**
 * For faces too small for the mesh: an upright face laid out by the usual proportions of a detector box
 * (eyes at 40% of its height, the mouth at 75%), with an elliptical oval.
 */
export function landmarksFromBox(box: Rect): FaceLandmarks {
  const { x, y, width: w, height: h } = box;
  const eyeY = y + 0.4 * h;
  return {
    oval: ellipse(x + w / 2, y + 0.47 * h, 0.55 * w, 0.68 * h, 36),
    rightEye: ellipse(x + 0.3 * w, eyeY, 0.09 * w, 0.04 * h, 12),
    leftEye: ellipse(x + 0.7 * w, eyeY, 0.09 * w, 0.04 * h, 12),
    rightBrow: ellipse(x + 0.3 * w, eyeY - 0.12 * h, 0.12 * w, 0.03 * h, 12),
    leftBrow: ellipse(x + 0.7 * w, eyeY - 0.12 * h, 0.12 * w, 0.03 * h, 12),
    lips: ellipse(x + 0.5 * w, y + 0.78 * h, 0.18 * w, 0.06 * h, 16),
    fromMesh: false,
  };
}

/** The three anchors used for alignment: the two eye centres and the mouth centre. */
export function anchors(landmarks: FaceLandmarks): [Point, Point, Point] {
  return [centroid(landmarks.rightEye), centroid(landmarks.leftEye), centroid(landmarks.lips)];
}

export function mapLandmarks(landmarks: FaceLandmarks, f: (p: Point) => Point): FaceLandmarks {
  return {
    oval: landmarks.oval.map(f),
    rightEye: landmarks.rightEye.map(f),
    leftEye: landmarks.leftEye.map(f),
    rightBrow: landmarks.rightBrow.map(f),
    leftBrow: landmarks.leftBrow.map(f),
    lips: landmarks.lips.map(f),
    ...(landmarks.noseTip ? { noseTip: f(landmarks.noseTip) } : {}),
    fromMesh: landmarks.fromMesh,
  };
}
