import { existsSync } from 'node:fs';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import type { RgbImage } from '../../src/refine/image.js';
import { detectFaces } from '../../src/refine/detect.js';
import { MeshCheckedFaceDetector } from '../../src/refine/face-detector.js';
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

const rawImage = (image: RgbImage): Sharp =>
  sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } });

/** Side of a montage tile, px, and how much the montage is enlarged: the held-back LFW montage's 25 px shown 2x. */
const TILE = 25;
const SHOWN = 2;

/**
 * A tuning-half stand-in for the held-back LFW montage (100 grey faces of 25 px shown 2x), which behaves unlike
 * any whole tuning photo (its faces are about 50 px, and every one of them was resampled): the faces the detector
 * finds in the committed tuning photos, each cut square (1.15 times its box), shrunk to 25 px, made grey, tiled
 * with its mirror image on mid grey and the montage enlarged 2x, all with Lanczos like the LFW one.
 */
async function tuningFacesMontage(sources: (() => Promise<RgbImage>)[]): Promise<RgbImage> {
  const detector = await MeshCheckedFaceDetector.create();
  const tiles: Buffer[] = [];
  for (const load of sources) {
    const image = await load();
    for (const found of await detectFaces(detector, image)) {
      const { x, y, width, height } = found.box;
      const side = Math.min(image.width, image.height, Math.round(1.15 * Math.max(width, height)));
      const left = Math.max(0, Math.min(image.width - side, Math.round(x + width / 2 - side / 2)));
      const top = Math.max(0, Math.min(image.height - side, Math.round(y + 0.4 * height - side / 2)));
      const tile = await rawImage(image)
        .extract({ left, top, width: side, height: side })
        .resize(TILE, TILE, { kernel: 'lanczos3' })
        .grayscale()
        .toColourspace('srgb')
        .png()
        .toBuffer();
      tiles.push(tile, await sharp(tile).flop().png().toBuffer());
    }
  }
  const across = Math.ceil(Math.sqrt(tiles.length));
  const montage = await sharp({ create: { width: across * TILE, height: across * TILE, channels: 3, background: '#808080' } })
    .composite(tiles.map((input, i) => ({ input, left: (i % across) * TILE, top: Math.floor(i / across) * TILE })))
    .png()
    .toBuffer();
  const side = across * TILE * SHOWN;
  return loadRgb(await sharp(montage).resize(side, side, { kernel: 'lanczos3' }).png().toBuffer());
}

const loadAstronaut = (): Promise<RgbImage> => loadRgb(face('astronaut.png'));
const loadSolvayGrayLeft = (): Promise<RgbImage> => cut(face('solvay-1927-gray-1280.png'), 0, 0, 640, 926);
const loadSolvaySepiaLeft = (): Promise<RgbImage> => cut(face('solvay-1927-2126.jpg'), 0, 0, 1064, 1463);

const COMMITTED: BenchPhoto[] = [
  { name: 'astronaut.png', half: 'tuning', about: 'colour, frontal, face ~95 px', load: loadAstronaut },
  {
    name: 'solvay-gray-left',
    half: 'tuning',
    about: 'grey group, left half, 14 faces ~45 px',
    load: loadSolvayGrayLeft,
  },
  {
    name: 'solvay-sepia-left',
    half: 'tuning',
    about: 'sepia JPEG group, left half, faces ~75 px',
    load: loadSolvaySepiaLeft,
  },
  {
    name: 'tuning-faces-25px-montage',
    half: 'tuning',
    about: 'the three photos above: their faces cut to 25 px, grey, tiled, shown 2x (stand-in for the LFW montage)',
    load: () => tuningFacesMontage([loadAstronaut, loadSolvaySepiaLeft]),
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
