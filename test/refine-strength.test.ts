import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { DEGRADATIONS, jpeg, loadRgb } from '../bench/lib/degrade.js';
import { meanGradient, psnr } from '../bench/lib/metrics.js';
import { benchPhotos } from '../bench/lib/photos.js';
import { diagnoseFace } from '../src/refine/analyze.js';
import { estimateJpegQuality } from '../src/refine/dct.js';
import { deconvolveGaussian } from '../src/refine/deconvolve.js';
import { detectFaces, type DetectedFace } from '../src/refine/detect.js';
import { DEFAULT_TUNING, defectsOf, enhancementCare } from '../src/refine/enhance.js';
import { MeshCheckedFaceDetector } from '../src/refine/face-detector.js';
import { gaussianBlur } from '../src/refine/filters.js';
import type { Plane, RgbImage } from '../src/refine/image.js';
import { estimateImageNoise } from '../src/refine/noise.js';
import { refineDetected } from '../src/refine/pipeline.js';
import { highToMidBand } from '../src/refine/spectrum.js';
import { turnImage } from '../src/refine/turn.js';
import { fixture } from './helpers/paths.js';

const MODEL = 'tengrai-20231128-m-d.safetensors' as const;
let clean: RgbImage;
let detector: MeshCheckedFaceDetector;

before(async () => {
  clean = await loadRgb(fixture('faces/astronaut.png'));
  detector = await MeshCheckedFaceDetector.create();
});

/** A committed photo of the tuning half, its faces, and the mask where level 3 refines the clean photo. */
async function tuningPhoto(name: string): Promise<{ photo: RgbImage; faces: DetectedFace[]; mask: Uint8Array }> {
  const entry = benchPhotos().photos.find((p) => p.name === name && p.half === 'tuning' && !p.devOnly);
  assert.ok(entry, `${name} is a committed photo of the tuning half`);
  const photo = await entry.load();
  const faces = await detectFaces(detector, photo);
  const reference = refineDetected(photo, faces, { model: MODEL, denoising: 3 }, DEFAULT_TUNING);
  return { photo, faces, mask: Uint8Array.from(reference.coverage, (c) => (c >= 0.5 ? 1 : 0)) };
}

const degrade = (name: string, image: RgbImage): Promise<RgbImage> => (DEGRADATIONS[name] as (i: RgbImage) => Promise<RgbImage>)(image);

const lumaOf = (image: RgbImage): Plane => ({
  data: Float32Array.from({ length: image.width * image.height }, (_, i) => {
    const o = i * image.channels;
    return 0.299 * (image.data[o] as number) + 0.587 * (image.data[o + 1] as number) + 0.114 * (image.data[o + 2] as number);
  }),
  width: image.width,
  height: image.height,
});

const rmsError = (a: Plane, b: Plane): number => Math.sqrt(a.data.reduce((s, v, i) => s + (v - (b.data[i] as number)) ** 2, 0) / a.data.length);

describe('deblurring', () => {
  test('the Wiener deconvolution undoes most of a known gaussian blur of a face', () => {
    const sharp = lumaOf(clean);
    const blurred = gaussianBlur(sharp, 1.2);
    const restored = deconvolveGaussian(blurred, 1.2, 0.015);
    const before = rmsError(blurred, sharp);
    const after = rmsError(restored, sharp);
    assert.ok(after < 0.7 * before, `RMS error to the sharp face: blurred ${before.toFixed(2)}, deconvolved ${after.toFixed(2)}`);
  });

  test('the quality a photo was saved at is read off its coefficients, and a quarter turn since is seen', async () => {
    // the search tries 172 tables (qualities 5 to 90, each as saved and turned by a quarter): the one the bytes
    // were saved with must come out, not a neighbour whose steps partly coincide. (Not every quality is told
    // apart: 49 and 50 have nearly the same steps, and above 80 the steps are so fine that 85 reads as 90.)
    for (const quality of [20, 35, 60, 80]) {
      const saved = await jpeg(clean, quality);
      assert.deepEqual(estimateJpegQuality(lumaOf(saved), 0, 0), { quality, transposed: false }, `saved at ${quality}`);
      assert.deepEqual(estimateJpegQuality(lumaOf(turnImage(saved, 1)), 0, 0), { quality, transposed: true }, `saved at ${quality}, turned`);
    }
  });

  test('a smooth face is not read as a JPEG of very low quality whose coarse steps its small coefficients happen to fit', () => {
    // a face blurred and flattened: its low-frequency coefficients are small, so the steps of quality 5 "fit"
    // them (rounded to zero), though it never was a JPEG
    const smooth = gaussianBlur(lumaOf(clean), 2.5);
    const flat = Uint8Array.from({ length: smooth.data.length * 3 }, (_, i) => Math.round(128 + 0.2 * ((smooth.data[Math.floor(i / 3)] as number) - 128)));
    const image: RgbImage = { data: flat, width: clean.width, height: clean.height, channels: 3 };
    const whole = { x: 0, y: 0, width: image.width, height: image.height };
    const fit = estimateJpegQuality(lumaOf(image), 0, 0);
    assert.ok(fit && fit.quality < 15, `the plain fit finds a very low quality: ${JSON.stringify(fit)}`);
    assert.equal(diagnoseFace(image, { x: 160, y: 60, width: 144, height: 144 }, whole, { x: 0, y: 0 }, estimateImageNoise(image)).jpegQuality, undefined);
  });
});

describe('blur told from resampling', () => {
  test('the spectrum above half the sampling rate: flat for white noise, emptied by a gaussian blur', () => {
    let state = 7;
    const noise: Plane = {
      data: Float32Array.from({ length: 128 * 128 }, () => {
        state = (state * 1103515245 + 12345) % 2147483648;
        return 128 + 40 * (state / 2147483648 - 0.5);
      }),
      width: 128,
      height: 128,
    };
    const white = highToMidBand(noise);
    const blurred = highToMidBand(gaussianBlur(noise, 1.5));
    assert.ok(white !== undefined && Math.abs(white) < 0.3, `white noise: ${white}`);
    assert.ok(blurred !== undefined && blurred < -5, `blurred noise: ${blurred}`);
    assert.equal(highToMidBand({ data: new Float32Array(20 * 20), width: 20, height: 20 }), undefined);
  });

  test('small faces blurred by 1.5 are deconvolved; the same faces shrunk 2x and enlarged again are left as they are', async () => {
    // the tuning half's grey Solvay faces (about 40 px): their blurred and resampled versions read the same edge
    // softness and fine-to-coarse ratio, which held the deblur back on both (2.0 dB)
    const { photo, faces, mask } = await tuningPhoto('solvay-gray-left');
    const gain = async (degradation: string): Promise<number> => {
      const degraded = await degrade(degradation, photo);
      const refined = refineDetected(degraded, faces, { model: MODEL, denoising: 3 }, DEFAULT_TUNING);
      return psnr(refined.image, photo, mask) - psnr(degraded, photo, mask);
    };
    const blurred = await gain('blur sigma 1.5');
    const resampled = await gain('2x down then up');
    assert.ok(blurred > 3.5, `blur 1.5: ${blurred.toFixed(2)} dB`);
    assert.ok(resampled >= -0.01, `2x down then up: ${resampled.toFixed(2)} dB`);
  });

  test('a face shrunk 2x and enlarged again is not enhanced even where its edges read sharp; a clean one still is', async () => {
    // faces of about 50 px resampled 2x (a montage of 25 px faces shown 2x, then 2x down-up) often keep edges
    // that read sharp (softness 0); the edge gate then gave them the full enhancement, which lost PSNR, and more
    // at level 5 than at level 3. Here the tuning half's sepia Solvay faces, measured as they are, with their
    // edges read as sharp as those faces' were: the spectrum alone must decide.
    const { photo, faces } = await tuningPhoto('solvay-sepia-left');
    const careWithSharpEdges = async (degradation: string): Promise<number[]> => {
      const degraded = await degrade(degradation, photo);
      const refined = refineDetected(degraded, faces, { model: MODEL, denoising: 3 }, DEFAULT_TUNING);
      return refined.faces.map((face) => enhancementCare({ ...defectsOf(face.diagnosis), softness: 0, noise: 0, blocking: 0 }, DEFAULT_TUNING));
    };
    const resampled = await careWithSharpEdges('2x down then up');
    const clean = await careWithSharpEdges('clean');
    assert.ok(resampled.length >= 8 && clean.length >= 8, `faces: ${resampled.length} resampled, ${clean.length} clean`);
    assert.deepEqual(resampled.filter((care) => care > 0), [], 'resampled faces given enhancement');
    assert.deepEqual(clean.filter((care) => care < 1), [], 'clean faces whose sharp edges were not believed');
  });
});

describe('strength', () => {
  test('a soft but clean face is enhanced like a sharp one: 10% crisper, within 35 dB of its input', async () => {
    // the sepia Solvay faces read as soft by their edges (an old photograph), but their spectrum reaches above
    // half the sampling rate as a resampled face's does not: they were given no enhancement (+3% gradient)
    const { photo, faces, mask } = await tuningPhoto('solvay-sepia-left');
    const refined = refineDetected(photo, faces, { model: MODEL, denoising: 3 }, DEFAULT_TUNING);
    const crisper = meanGradient(refined.image, mask) / meanGradient(photo, mask);
    assert.ok(crisper >= 1.1, `gradient ratio ${crisper.toFixed(3)}`);
    assert.ok(psnr(refined.image, photo, mask) >= 35, `PSNR to input ${psnr(refined.image, photo, mask).toFixed(2)}`);
  });

  test('on a JPEG quality 12 face, levels 4 and 5 gain at least as much as level 3 and change it visibly', async () => {
    const faces = await detectFaces(detector, clean);
    const reference = refineDetected(clean, faces, { model: MODEL, denoising: 3 }, DEFAULT_TUNING);
    const mask = Uint8Array.from(reference.coverage, (c) => (c >= 0.5 ? 1 : 0));
    const blocked = await jpeg(clean, 12);
    const at = (level: number): RgbImage => refineDetected(blocked, faces, { model: MODEL, denoising: level }, DEFAULT_TUNING).image;
    const [three, four, five] = [at(3), at(4), at(5)];
    const gain = (image: RgbImage): number => psnr(image, clean, mask) - psnr(blocked, clean, mask);
    assert.ok(gain(four) >= gain(three) && gain(five) >= gain(three), `gains ${[three, four, five].map((i) => gain(i).toFixed(3)).join(', ')}`);
    // level 5 moves the face about as far from level 3 as level 3 moved it from its input (44 dB)
    assert.ok(psnr(five, three, mask) < 46, `level 5 against level 3: ${psnr(five, three, mask).toFixed(2)} dB`);
  });
});
