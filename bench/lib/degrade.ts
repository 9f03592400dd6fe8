import sharp, { type Sharp } from 'sharp';
import type { RgbImage } from '../../src/refine/image.js';

const toSharp = (image: RgbImage) =>
  sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: image.channels } });

async function fromSharp(pipeline: Sharp): Promise<RgbImage> {
  const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
}

/** A seeded generator (mulberry32), so every run degrades the photos identically. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Gaussian noise of `sigma` on every channel, drawn from `seed` (the benchmark's draw by default). */
export function gaussianNoise(image: RgbImage, sigma: number, seed = 1234): RgbImage {
  const next = random(seed);
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i++) {
    const u = Math.max(1e-12, next());
    const n = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    data[i] = Math.max(0, Math.min(255, Math.round((image.data[i] as number) + sigma * n)));
  }
  return { ...image, data };
}

/** The image saved as a JPEG at `quality` (sharp's defaults: libjpeg tables, 4:2:0 chroma) and decoded again. */
export async function jpeg(image: RgbImage, quality: number): Promise<RgbImage> {
  return fromSharp(sharp(await toSharp(image).jpeg({ quality }).toBuffer()));
}

export const DEGRADATIONS: Record<string, (image: RgbImage) => Promise<RgbImage>> = {
  clean: async (image) => image,
  'noise sigma 10': async (image) => gaussianNoise(image, 10),
  'JPEG quality 20': (image) => jpeg(image, 20),
  'blur sigma 1.5': async (image) => fromSharp(toSharp(image).blur(1.5)),
  '2x down then up': async (image) =>
    fromSharp(
      sharp(await toSharp(image).resize(Math.round(image.width / 2), Math.round(image.height / 2), { kernel: 'lanczos3' }).png().toBuffer()).resize(
        image.width,
        image.height,
        { kernel: 'lanczos3' },
      ),
    ),
};

export async function loadRgb(file: string | Buffer): Promise<RgbImage> {
  return fromSharp(sharp(file).rotate());
}
