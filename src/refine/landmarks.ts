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
