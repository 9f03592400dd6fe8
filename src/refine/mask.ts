import { gaussianBlur } from './filters.js';
import type { Point } from './geometry.js';
import type { Plane } from './image.js';
import type { FaceLandmarks } from './landmarks.js';
import { lendPlane, takeBack } from './scratch.js';

/** Even-odd scanline fill of a polygon: 1 inside, 0 outside, sampled at pixel centres. */
export function fillPolygon(polygon: Point[], width: number, height: number): Plane {
  const out = new Float32Array(width * height);
  fillPolygonInto(polygon, out, width, height);
  return { data: out, width, height };
}

/** fillPolygon into `out`, whose pixels outside the polygon are left as they are (so fills into one plane add up). */
function fillPolygonInto(polygon: Point[], out: Float32Array, width: number, height: number): void {
  const crossings: number[] = [];
  for (let y = 0; y < height; y++) {
    const py = y + 0.5;
    crossings.length = 0;
    for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
      const a = polygon[i] as Point;
      const b = polygon[j] as Point;
      if (a.y > py !== b.y > py) crossings.push(a.x + ((py - a.y) * (b.x - a.x)) / (b.y - a.y));
    }
    crossings.sort((p, q) => p - q);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      const from = Math.max(0, Math.ceil((crossings[k] as number) - 0.5));
      const to = Math.min(width - 1, Math.floor((crossings[k + 1] as number) - 0.5));
      for (let x = from; x <= to; x++) out[y * width + x] = 1;
    }
  }
}

/**
 * A soft polygon mask: the filled polygon blurred, so it eases from 1 inside to exactly 0 a little outside
 * (the blur is built from box filters, so its reach is finite).
 */
export function polygonMask(polygon: Point[], width: number, height: number, feather: number): Plane {
  const sigma = feather / 2;
  if (sigma <= 0) return fillPolygon(polygon, width, height);
  // the filled polygon is needed only until it is blurred
  const filled = lendPlane(width * height);
  try {
    fillPolygonInto(polygon, filled, width, height);
    return gaussianBlur({ data: filled, width, height }, sigma);
  } finally {
    takeBack(filled);
  }
}

export interface RegionMasks {
  /** The whole face oval, feathered inwards: where the refinement is blended in. */
  face: Plane;
  /** Eyes, brows and lips: where detail is sharpened more. */
  features: Plane;
  /** The face minus its features: where skin is evened. */
  skin: Plane;
}

/** Region maps in the canonical crop (landmarks already in canonical coordinates; sizes scale with the crop). */
/** The whole face oval, feathered (RegionMasks.face): all a face needs when only its repair is blended in. */
export function faceMask(landmarks: FaceLandmarks, size: number): Plane {
  return polygonMask(landmarks.oval, size, size, 24 * (size / 384));
}

export function regionMasks(landmarks: FaceLandmarks, size: number): RegionMasks {
  const u = size / 384;
  const face = faceMask(landmarks, size);
  const featureWeight = new Float32Array(size * size);
  const skin = new Float32Array(size * size);
  // the features' union: every fill sets its pixels to 1 in one plane
  const features = lendPlane(size * size);
  const blurred = lendPlane(size * size);
  try {
    for (const part of [landmarks.rightEye, landmarks.leftEye, landmarks.rightBrow, landmarks.leftBrow, landmarks.lips]) {
      fillPolygonInto(part, features, size, size);
    }
    const soft = gaussianBlur({ data: features, width: size, height: size }, 6 * u, blurred);
    for (let i = 0; i < featureWeight.length; i++) {
      const f = Math.min(1, 1.5 * (soft.data[i] as number));
      featureWeight[i] = f * (face.data[i] as number);
      skin[i] = (1 - f) * (face.data[i] as number);
    }
  } finally {
    takeBack(features, blurred);
  }
  return {
    face,
    features: { data: featureWeight, width: size, height: size },
    skin: { data: skin, width: size, height: size },
  };
}
