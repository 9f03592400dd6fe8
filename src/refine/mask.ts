import { gaussianBlur } from './filters.js';
import type { Point } from './geometry.js';
import type { Plane } from './image.js';
import type { FaceLandmarks } from './landmarks.js';


/** Even-odd scanline fill of a polygon: 1 inside, 0 outside, sampled at pixel centres. */
export function fillPolygon(polygon: Point[], width: number, height: number): Plane {
  const out = new Float32Array(width * height);
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
  return { data: out, width, height };
}

/**
 * A soft polygon mask: the filled polygon blurred, so it eases from 1 inside to exactly 0 a little outside
 * (the blur is built from box filters, so its reach is finite).
 */
export function polygonMask(polygon: Point[], width: number, height: number, feather: number): Plane {
  return gaussianBlur(fillPolygon(polygon, width, height), feather / 2);
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
  const features = fillPolygon(landmarks.rightEye, size, size);
  for (const part of [landmarks.leftEye, landmarks.rightBrow, landmarks.leftBrow, landmarks.lips]) {
    const filled = fillPolygon(part, size, size);
    for (let i = 0; i < filled.data.length; i++) features.data[i] = Math.max(features.data[i] as number, filled.data[i] as number);
  }
  const soft = gaussianBlur(features, 6 * u);
  const featureWeight = new Float32Array(size * size);
  const skin = new Float32Array(size * size);
  for (let i = 0; i < featureWeight.length; i++) {
    const f = Math.min(1, 1.5 * (soft.data[i] as number));
    featureWeight[i] = f * (face.data[i] as number);
    skin[i] = (1 - f) * (face.data[i] as number);
  }
  return {
    face,
    features: { data: featureWeight, width: size, height: size },
    skin: { data: skin, width: size, height: size },
  };
}
