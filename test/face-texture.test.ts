import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noseShading } from '../src/refine/face-texture.js';
import { convexHull, type Point } from '../src/refine/geometry.js';
import type { RgbImage } from '../src/refine/image.js';

const NOSE_POINTS = [168, 6, 197, 195, 5, 4, 1, 98, 327, 129, 358, 49, 279, 122, 351];

/** The plain definition: every pixel whose centre passes the even-odd test against every edge. */
function spreadByPixel(image: RgbImage, polygon: Point[]): number {
  const inside = (p: Point): boolean => {
    let odd = false;
    for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
      const a = polygon[i] as Point;
      const b = polygon[j] as Point;
      if (a.y > p.y !== b.y > p.y && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) odd = !odd;
    }
    return odd;
  };
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      if (!inside({ x: x + 0.5, y: y + 0.5 })) continue;
      const i = (y * image.width + x) * 3;
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

test('nose shading counts exactly the pixels whose centres lie inside the nose and the oval', () => {
  let seed = 7;
  const random = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const width = 90;
  const height = 70;
  const image: RgbImage = { data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(random() * 256)), width, height, channels: 3 };
  for (let trial = 0; trial < 300; trial++) {
    const mesh = Array.from({ length: 468 }, () => ({ x: random() * 100 - 5, y: random() * 80 - 5 }));
    const cx = random() * width;
    const cy = random() * height;
    const r = 4 + random() * 40;
    // Every third oval has its corners on pixel centres' heights and half-pixel columns: the rule's edge cases.
    const snap = trial % 3 === 0;
    const oval = Array.from({ length: 36 }, (_, k) => {
      const x = cx + r * Math.cos((k / 36) * 2 * Math.PI) * (0.5 + random());
      const y = cy + r * Math.sin((k / 36) * 2 * Math.PI);
      return snap ? { x: Math.round(x) + 0.5, y: Math.round(y) } : { x, y };
    });
    const face = spreadByPixel(image, oval);
    const expected = face > 0 ? spreadByPixel(image, convexHull(NOSE_POINTS.map((i) => mesh[i] as Point))) / face : 0;
    assert.equal(noseShading(image, mesh, oval), expected, `trial ${trial}`);
  }
});
