import { convexHull, type Point } from './geometry.js';
import type { RgbImage } from './image.js';
import { luma } from './color.js';
import type { FaceLandmarks } from './landmarks.js';

/**
 * MediaPipe mesh points of the nose, from between the eyes down to the nostrils' wings (not the lip below):
 * a photographed nose shades (bridge light, wings darker) whatever the lighting; a drawn face is flat there.
 */
const NOSE_POINTS = [168, 6, 197, 195, 5, 4, 1, 98, 327, 129, 358, 49, 279, 122, 351];

/**
 * The pixels whose centres lie inside the polygon (even-odd rule), row by row: for each row the polygon's edge
 * crossings at the pixel centres' height, sorted, bound the spans inside. The same pixels as testing each centre
 * against every edge, in time proportional to the rows instead of the box's area times the edges.
 */
function forEachPixelInside(polygon: Point[], width: number, height: number, visit: (x: number, y: number) => void): void {
  const ys = polygon.map((p) => p.y);
  const y0 = Math.max(0, Math.floor(Math.min(...ys)));
  const y1 = Math.min(height - 1, Math.ceil(Math.max(...ys)));
  const crossings: number[] = [];
  for (let y = y0; y <= y1; y++) {
    const cy = y + 0.5;
    crossings.length = 0;
    for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
      const a = polygon[i] as Point;
      const b = polygon[j] as Point;
      if (a.y > cy !== b.y > cy) crossings.push(((b.x - a.x) * (cy - a.y)) / (b.y - a.y) + a.x);
    }
    crossings.sort((p, q) => p - q);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      // Centres x + 0.5 strictly left of the closing crossing, at or right of the opening one (as the even-odd test).
      const from = Math.max(0, Math.ceil((crossings[k] as number) - 0.5));
      const to = Math.min(width - 1, Math.ceil((crossings[k + 1] as number) - 0.5) - 1);
      for (let x = from; x <= to; x++) visit(x, y);
    }
  }
}

function lumaSpread(image: RgbImage, polygon: Point[]): number {
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  forEachPixelInside(polygon, image.width, image.height, (x, y) => {
    const i = (y * image.width + x) * image.channels;
    const value = luma(image.data[i] as number, image.data[i + 1] as number, image.data[i + 2] as number);
    n++;
    sum += value;
    sumSq += value * value;
  });
  if (n < 4) return 0;
  const mean = sum / n;
  return Math.sqrt(Math.max(0, sumSq / n - mean * mean));
}

/**
 * How much the nose region's brightness varies, relative to the whole face's (the oval): a photographed nose
 * has shading, a nose-less drawing (a smiley, a logo of two dots and a curve) is flat there. A ratio, so a
 * low-contrast photo is judged like a crisp one.
 */
export function noseShading(image: RgbImage, mesh: Point[], oval: Point[]): number {
  const face = lumaSpread(image, oval);
  return face > 0 ? lumaSpread(image, convexHull(NOSE_POINTS.map((i) => mesh[i] as Point))) / face : 0;
}

/** Mesh points on the forehead and on both cheeks: the skin the eyes are compared with. */
const FOREHEAD_POINTS = [151, 9, 108, 337, 69, 299];
const CHEEK_POINTS = [50, 280, 205, 425, 187, 411, 117, 346, 123, 352];

function meanLumaAt(image: RgbImage, points: Point[]): number {
  let sum = 0;
  for (const p of points) {
    const x = Math.max(0, Math.min(image.width - 1, Math.round(p.x)));
    const y = Math.max(0, Math.min(image.height - 1, Math.round(p.y)));
    const i = (y * image.width + x) * image.channels;
    sum += luma(image.data[i] as number, image.data[i + 1] as number, image.data[i + 2] as number);
  }
  return sum / points.length;
}

/**
 * How much brighter the mesh's eyes are than the skin around them (the mean of the forehead and the cheeks), in
 * luma levels: a photographed eye sits in shade (socket, iris, lashes), so this is negative on a face; on a
 * ring around a dot or a skull with skin-coloured eye holes the mesh's eyes land on bare skin and it is not.
 */
export function eyesAgainstSkin(image: RgbImage, mesh: Point[], landmarks: FaceLandmarks): number {
  const at = (indices: number[]): Point[] => indices.map((i) => mesh[i] as Point);
  const skin = (meanLumaAt(image, at(FOREHEAD_POINTS)) + meanLumaAt(image, at(CHEEK_POINTS))) / 2;
  return meanLumaAt(image, [...landmarks.rightEye, ...landmarks.leftEye]) - skin;
}
