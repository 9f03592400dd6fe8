import type { Point } from './geometry.js';
import type { RgbImage } from './image.js';

/**
 * MediaPipe mesh points of the nose, from between the eyes down to the nostrils' wings (not the lip below):
 * a photographed nose shades (bridge light, wings darker) whatever the lighting; a drawn face is flat there.
 */
const NOSE_POINTS = [168, 6, 197, 195, 5, 4, 1, 98, 327, 129, 358, 49, 279, 122, 351];

/** Andrew's monotone chain. */
function convexHull(points: Point[]): Point[] {
  const sorted = [...points].sort((a, b) => a.x - b.x || a.y - b.y);
  const cross = (o: Point, a: Point, b: Point): number => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  const half = (list: Point[]): Point[] => {
    const out: Point[] = [];
    for (const p of list) {
      while (out.length >= 2 && cross(out[out.length - 2] as Point, out[out.length - 1] as Point, p) <= 0) out.pop();
      out.push(p);
    }
    out.pop();
    return out;
  };
  return [...half(sorted), ...half([...sorted].reverse())];
}

function insidePolygon(p: Point, polygon: Point[]): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i] as Point;
    const b = polygon[j] as Point;
    if (a.y > p.y !== b.y > p.y && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

function lumaSpread(image: RgbImage, polygon: Point[]): number {
  const xs = polygon.map((p) => p.x);
  const ys = polygon.map((p) => p.y);
  const x0 = Math.max(0, Math.floor(Math.min(...xs)));
  const x1 = Math.min(image.width - 1, Math.ceil(Math.max(...xs)));
  const y0 = Math.max(0, Math.floor(Math.min(...ys)));
  const y1 = Math.min(image.height - 1, Math.ceil(Math.max(...ys)));
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (!insidePolygon({ x: x + 0.5, y: y + 0.5 }, polygon)) continue;
      const i = (y * image.width + x) * image.channels;
      const luma = 0.299 * (image.data[i] as number) + 0.587 * (image.data[i + 1] as number) + 0.114 * (image.data[i + 2] as number);
      n++;
      sum += luma;
      sumSq += luma * luma;
    }
  }
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
