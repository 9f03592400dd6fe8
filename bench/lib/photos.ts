import { existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { RgbImage } from '../../src/refine/image.js';
import { FIXTURES } from '../../test/helpers/paths.js';
import { loadRgb } from './degrade.js';

/**
 * The benchmark's face photos, split once into a half the engine's constants were tuned on and a half they
 * never saw (the targets are judged there). Split by person, not by picture: the Solvay group is cut into its
 * left half (tuning) and right half (held back), at both resolutions, so no face is in both halves.
 */
export type Half = 'tuning' | 'held back';

export interface BenchPhoto {
  name: string;
  half: Half;
  /** What the photo adds to the set. */
  about: string;
  load(): Promise<RgbImage>;
  /** Not committable: only on a machine that has the shared dev-only folder. */
  devOnly?: boolean;
}

async function cut(file: string, left: number, top: number, width: number, height: number): Promise<RgbImage> {
  return loadRgb(await sharp(file).extract({ left, top, width, height }).png().toBuffer());
}

const face = (name: string): string => path.join(FIXTURES, 'faces', name);

const COMMITTED: BenchPhoto[] = [
  { name: 'astronaut.png', half: 'tuning', about: 'colour, frontal, face ~95 px', load: () => loadRgb(face('astronaut.png')) },
  {
    name: 'solvay-gray-left',
    half: 'tuning',
    about: 'grey group, left half, 14 faces ~45 px',
    load: () => cut(face('solvay-1927-gray-1280.png'), 0, 0, 640, 926),
  },
  {
    name: 'solvay-sepia-left',
    half: 'tuning',
    about: 'sepia JPEG group, left half, faces ~75 px',
    load: () => cut(face('solvay-1927-2126.jpg'), 0, 0, 1064, 1463),
  },
  { name: 'grace-hopper.jpg', half: 'held back', about: 'colour JPEG, glasses, face ~230 px', load: () => loadRgb(face('grace-hopper.jpg')) },
  {
    name: 'camera-gray-turned.png',
    half: 'held back',
    about: 'grey, turned near profile, face ~75 px',
    load: () => loadRgb(face('camera-gray-turned.png')),
  },
  {
    name: 'solvay-gray-right',
    half: 'held back',
    about: 'grey group, right half, 15 faces ~45 px',
    load: () => cut(face('solvay-1927-gray-1280.png'), 640, 0, 640, 926),
  },
  {
    name: 'solvay-sepia-right',
    half: 'held back',
    about: 'sepia JPEG group, right half, faces ~75 px',
    load: () => cut(face('solvay-1927-2126.jpg'), 1064, 0, 1062, 1463),
  },
];

/** The shared dev-only photos: no recorded licence, so they are read in place and never copied in. */
function devOnly(folder: string): BenchPhoto[] {
  const at = (name: string): string => path.join(folder, name);
  const photo = (name: string, half: Half, about: string, load?: () => Promise<RgbImage>): BenchPhoto => ({
    name,
    half,
    about,
    devOnly: true,
    load: load ?? (() => loadRgb(at(name))),
  });
  return [
    photo('group-1.jpg', 'tuning', 'colour group, varied skin tones'),
    photo('portrait-three-quarter.jpg', 'tuning', 'colour portrait, three-quarter view'),
    photo('group-4.jpg', 'held back', 'colour group, varied skin tones'),
    photo('portrait-goatee.jpg', 'held back', 'colour portrait, beard'),
    photo('lfw-25px-montage.png', 'held back', '100 grey LFW faces of 25 px, shown 2x', async () =>
      loadRgb(await sharp(at('lfw-25px-montage.png')).resize(500, 500, { kernel: 'lanczos3' }).png().toBuffer()),
    ),
  ];
}

/** Where the shared dev-only photos live when this checkout sits in the project's workspace. */
export const DEV_ONLY = process.env.BENCH_DEV_ONLY ?? path.resolve(FIXTURES, '..', '..', '..', 'shared', 'fixtures', 'dev-only');

export function benchPhotos(): { photos: BenchPhoto[]; devOnlyUsed: boolean } {
  const useDev = existsSync(DEV_ONLY);
  return { photos: useDev ? [...COMMITTED, ...devOnly(DEV_ONLY)] : COMMITTED, devOnlyUsed: useDev };
}
