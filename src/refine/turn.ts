import type { Point } from './geometry.js';
import type { RgbImage } from './image.js';

/** Quarter turns clockwise: 0, 1 (90°), 2 (180°), 3 (270°). */
export type QuarterTurns = 0 | 1 | 2 | 3;

/** The image turned clockwise by `turns` quarter turns (pixels copied exactly; no resampling). */
export function turnImage(image: RgbImage, turns: QuarterTurns): RgbImage {
  if (turns === 0) return image;
  const { width: w, height: h, channels, data } = image;
  const sideways = turns % 2 === 1;
  const outWidth = sideways ? h : w;
  const outHeight = sideways ? w : h;
  const out = new Uint8Array(data.length);
  let dst = 0;
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const sx = turns === 1 ? y : turns === 2 ? w - 1 - x : w - 1 - y;
      const sy = turns === 1 ? h - 1 - x : turns === 2 ? h - 1 - y : x;
      let src = (sy * w + sx) * channels;
      for (let c = 0; c < channels; c++) out[dst++] = data[src++] as number;
    }
  }
  return { data: out, width: outWidth, height: outHeight, channels };
}

/** Maps a point of the image turned by `turns` back to the unturned image of size `width` x `height`. */
export function unturnPoint(p: Point, turns: QuarterTurns, width: number, height: number): Point {
  switch (turns) {
    case 0:
      return p;
    case 1:
      return { x: p.y, y: height - p.x };
    case 2:
      return { x: width - p.x, y: height - p.y };
    case 3:
      return { x: width - p.y, y: p.x };
  }
}
