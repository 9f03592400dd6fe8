import sharp from 'sharp';

export interface Pixels {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

export async function decodePixels(input: Buffer | string): Promise<Pixels> {
  const { data, info } = await sharp(input).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Counts pixels that differ, split by whether `inside(x, y)` holds. */
export function countChanged(a: Pixels, b: Pixels, inside: (x: number, y: number) => boolean): { inside: number; outside: number; maxOutside: number } {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`sizes differ: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  let changedInside = 0;
  let changedOutside = 0;
  let maxOutside = 0;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const i = (y * a.width + x) * a.channels;
      let diff = 0;
      for (let c = 0; c < 3; c++) diff = Math.max(diff, Math.abs((a.data[i + c] as number) - (b.data[i + c] as number)));
      if (diff === 0) continue;
      if (inside(x, y)) changedInside++;
      else {
        changedOutside++;
        maxOutside = Math.max(maxOutside, diff);
      }
    }
  }
  return { inside: changedInside, outside: changedOutside, maxOutside };
}

/** True inside the box grown by `factor` around its centre: the most a face's refinement may reach. */
export function nearBox(box: [number, number, number, number], factor: number): (x: number, y: number) => boolean {
  const [bx, by, bw, bh] = box;
  const cx = bx + bw / 2;
  const cy = by + bh / 2;
  return (x, y) => Math.abs(x + 0.5 - cx) <= (bw * factor) / 2 && Math.abs(y + 0.5 - cy) <= (bh * factor) / 2;
}
