import sharp from 'sharp';
import type { FaceDiagnosis } from './analyze.js';
import type { DetectedFace } from './detect.js';
import { DEFAULT_TUNING } from './enhance.js';
import { cropFor, refineOneFace } from './face-work.js';
import type { RgbImage } from './image.js';
import { landmarksFromBox } from './landmarks.js';
import { estimateImageNoise } from './noise.js';
import { strengthFor } from './profiles.js';

/** Side of the synthetic picture, px: its face is refined in a full-size canonical crop, as a portrait's is. */
const SIDE = 320;

/**
 * A deterministic textured picture: shading, a few hard edges and fine grain (a sharp photo's mix of
 * frequencies), plus gaussian-like noise of the given sigma. Not a face: the warm-up only needs the kernels to
 * run on realistic sizes and both sides of their branches.
 */
function syntheticPicture(noiseSigma: number): RgbImage {
  const data = new Uint8Array(SIDE * SIDE * 3);
  let seed = 0x9e3779b9;
  const random = (): number => {
    // xorshift32: repeatable, so every thread warms up on the same pixels
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const shade = 120 + 50 * Math.sin(x / 37) * Math.cos(y / 29);
      // edges off the 8x8 grid, so they are not read as JPEG blocking
      const edge = (Math.floor(x / 37) + Math.floor(y / 53)) % 2 === 0 ? 18 : -18;
      // the sum of three uniforms: close enough to a gaussian for a noise estimate to read its sigma
      const noise = noiseSigma * (random() + random() + random() - 1.5) * 2;
      const grain = 6 * (random() - 0.5);
      const value = shade + edge + grain + noise;
      const o = (y * SIDE + x) * 3;
      data[o] = Math.max(0, Math.min(255, value + 20));
      data[o + 1] = Math.max(0, Math.min(255, value));
      data[o + 2] = Math.max(0, Math.min(255, value - 15));
    }
  }
  return { data, width: SIDE, height: SIDE, channels: 3 };
}

/** The picture as it comes back from a JPEG saved at `quality`: blocks on the 8x8 grid for the JPEG paths. */
async function asJpeg(picture: RgbImage, quality: number): Promise<RgbImage> {
  const raw = { width: picture.width, height: picture.height, channels: 3 as const };
  const jpeg = await sharp(picture.data, { raw }).jpeg({ quality }).toBuffer();
  const { data } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  return { ...picture, data };
}

/**
 * Refines a synthetic face a few times, clean, noisy and saved as JPEG, so that V8 has compiled the
 * refinement's kernels before a thread's first job. Measured on the 800x532 one-face photo (a JPEG at quality
 * 90), two runs each: a fresh thread's first refinements took 136-142, 85-91 and 47-61 ms, then about 41;
 * after this warm-up 55-76, 58-67, then about 40. Run once by each refine thread, which the service waits for
 * before it listens. Not by the face helpers (FACE_THREADS): they start after the service is up, and their
 * warm-ups (about 1.7 s each, side by side) slowed the first jobs of a WORKER_CONCURRENCY=1 service from about
 * 150 to 600 ms; they get warm on their first faces instead. A replacement thread (after a crash, a cancel or JOB_TIMEOUT) pays it inside the next
 * job's deadline, with its model loading: about 2 s of CPU in all.
 */
export async function warmUpRefinement(): Promise<FaceDiagnosis[]> {
  const box = { x: SIDE * 0.3, y: SIDE * 0.25, width: SIDE * 0.4, height: SIDE * 0.5 };
  const face: DetectedFace = { box, score: 1, landmarks: landmarksFromBox(box) };
  const clean = syntheticPicture(0);
  const pictures = [clean, syntheticPicture(8), await asJpeg(clean, 90), await asJpeg(clean, 30)];
  const seen: FaceDiagnosis[] = [];
  // every kind at a middle and the strongest level, twice: V8 optimises a function after a few calls
  for (let round = 0; round < 2; round++) {
    for (const picture of pictures) {
      for (const denoising of [3, 5]) {
        const crop = cropFor(picture, face, estimateImageNoise(picture));
        const work = refineOneFace(crop, face, strengthFor('tengrai-20231128-m-d.safetensors', denoising), DEFAULT_TUNING);
        if (work && round === 0 && denoising === 3) seen.push(work.diagnosis);
      }
    }
  }
  // what the pictures were read as, so a test can tell that every path (enhancement, denoising, deblocking) ran
  return seen;
}
