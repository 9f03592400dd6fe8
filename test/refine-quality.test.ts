import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { DEGRADATIONS, loadRgb } from '../bench/lib/degrade.js';
import { maxChangeOutside, meanGradient, psnr } from '../bench/lib/metrics.js';
import { canonicalFrame } from '../src/refine/align.js';
import { detectFaces } from '../src/refine/detect.js';
import { DEFAULT_TUNING } from '../src/refine/enhance.js';
import { FacePool } from '../src/refine/face-pool.js';
import { MeshCheckedFaceDetector } from '../src/refine/face-detector.js';
import type { RgbImage } from '../src/refine/image.js';
import { landmarksFromBox } from '../src/refine/landmarks.js';
import { refineDetected, refineFaces, refineImage } from '../src/refine/pipeline.js';
import { CLEAN_NOISE_SIGMA } from '../src/refine/repair.js';
import { fixture } from './helpers/paths.js';

const MODEL = 'tengrai-20231128-m-d.safetensors' as const;
let detector: MeshCheckedFaceDetector;
let clean: RgbImage;
let mask: Uint8Array;

before(async () => {
  detector = await MeshCheckedFaceDetector.create();
  clean = await loadRgb(fixture('faces/astronaut.png'));
  const reference = await refineFaces(detector, clean, { model: MODEL, denoising: 3 });
  mask = Uint8Array.from(reference.coverage, (c) => (c >= 0.5 ? 1 : 0));
});

async function gainOn(degradation: string, denoising = 3): Promise<number> {
  const degraded = await (DEGRADATIONS[degradation] as (i: RgbImage) => Promise<RgbImage>)(clean);
  const refined = await refineFaces(detector, degraded, { model: MODEL, denoising });
  assert.equal(refined.faces.length, 1, `the face is found in the ${degradation} photo`);
  assert.equal(maxChangeOutside(refined.image, degraded, refined.coverage), 0);
  return psnr(refined.image, clean, mask) - psnr(degraded, clean, mask);
}

describe('refinement quality (face PSNR against the clean photo)', () => {
  test('noise sigma 10 is mostly removed', async () => {
    const gain = await gainOn('noise sigma 10');
    assert.ok(gain > 4.5, `gain ${gain.toFixed(2)} dB`);
  });

  test('JPEG quality 20 blocking is reduced', async () => {
    const gain = await gainOn('JPEG quality 20');
    assert.ok(gain > 0.5, `gain ${gain.toFixed(2)} dB`);
  });

  test('a gaussian blur of 1.5 is partly undone', async () => {
    const gain = await gainOn('blur sigma 1.5');
    assert.ok(gain > 2, `gain ${gain.toFixed(2)} dB`);
  });

  test('a level above 3 gains at least as much as level 3 on a degraded face; level 1 less', async () => {
    for (const degradation of ['noise sigma 10', 'JPEG quality 20']) {
      const [one, three, five] = [await gainOn(degradation, 1), await gainOn(degradation, 3), await gainOn(degradation, 5)];
      assert.ok(five >= three - 1e-9, `${degradation}: level 5 ${five.toFixed(2)} dB, level 3 ${three.toFixed(2)} dB`);
      assert.ok(one < three - 0.2, `${degradation}: level 1 ${one.toFixed(2)} dB, level 3 ${three.toFixed(2)} dB`);
    }
  });

  test('a 2x downscaled-then-upscaled face is not made worse', async () => {
    const gain = await gainOn('2x down then up');
    assert.ok(gain >= -0.05, `gain ${gain.toFixed(2)} dB`);
  });

  test('a clean face gets crisper but stays close to the input', async () => {
    const refined = await refineFaces(detector, clean, { model: MODEL, denoising: 3 });
    const crisper = meanGradient(refined.image, mask) / meanGradient(clean, mask);
    assert.ok(crisper > 1.08, `gradient ratio ${crisper.toFixed(3)}`);
    assert.ok(psnr(refined.image, clean, mask) >= 35);
    const subtle = await refineFaces(detector, clean, { model: MODEL, denoising: 1 });
    assert.ok(psnr(subtle.image, clean, mask) >= 40);
  });

  test('the diagnosis tells noise, blocking and blur apart', async () => {
    const faces = await detectFaces(detector, clean);
    const diagnose = async (name: string) =>
      refineDetected(await (DEGRADATIONS[name] as (i: RgbImage) => Promise<RgbImage>)(clean), faces, { model: MODEL, denoising: 3 }, DEFAULT_TUNING)
        .faces[0]?.diagnosis;
    const base = await diagnose('clean');
    const noisy = await diagnose('noise sigma 10');
    const blocky = await diagnose('JPEG quality 20');
    const blurred = await diagnose('blur sigma 1.5');
    assert.ok(base && noisy && blocky && blurred);
    assert.ok(noisy.noiseSigma > 2 * base.noiseSigma, JSON.stringify({ base, noisy }));
    assert.ok(blocky.blockiness > base.blockiness + 0.4, JSON.stringify({ base, blocky }));
    assert.ok(blurred.blurSigma > base.blurSigma + 0.7, JSON.stringify({ base, blurred }));
    // the JPEG quality is read from the coefficients themselves; the other photos do not look like JPEGs
    assert.equal(blocky.jpegQuality, 20);
    assert.deepEqual([base, noisy, blurred].map((d) => d.jpegQuality), [undefined, undefined, undefined]);
    // a resampled face keeps energy above half the sampling rate that a gaussian blur takes away: it must not be
    // sharpened as blurred, and the two read on either side of the ramp between them
    const resampled = await diagnose('2x down then up');
    assert.ok(resampled, 'the resampled face is diagnosed');
    assert.ok(blurred.highToMid <= DEFAULT_TUNING.blurredBelow, JSON.stringify(blurred));
    assert.ok(resampled.highToMid >= DEFAULT_TUNING.resampledFrom, JSON.stringify(resampled));
  });

  // shrunk 3x, grace-hopper's wrinkles and lashes are 1-2 px wide and fill the finest wavelet band: her face
  // alone read 7.2 (the photo 1.7) and was denoised into plastic
  test('a clean photo shrunk 3x: its small, detailed face is not read as noisy nor smoothed; with noise added it still reads noisy', async () => {
    const full = await sharp(fixture('faces/grace-hopper.jpg')).metadata();
    const small = await loadRgb(await sharp(fixture('faces/grace-hopper.jpg')).resize(Math.round((full.width) / 3)).png().toBuffer());
    const faces = await detectFaces(detector, small);
    assert.equal(faces.length, 1);
    const refined = refineDetected(small, faces, { model: MODEL, denoising: 3 }, DEFAULT_TUNING);
    const face = Uint8Array.from(refined.coverage, (c) => (c >= 0.5 ? 1 : 0));
    assert.ok((refined.faces[0]?.diagnosis.noiseSigma as number) <= CLEAN_NOISE_SIGMA, JSON.stringify(refined.faces[0]?.diagnosis));
    const kept = meanGradient(refined.image, face) / meanGradient(small, face);
    assert.ok(kept >= 1, `gradient ratio ${kept.toFixed(3)}: detail smoothed away`);
    const noisy = refineDetected(await (DEGRADATIONS['noise sigma 10'] as (i: RgbImage) => Promise<RgbImage>)(small), faces, { model: MODEL, denoising: 3 }, DEFAULT_TUNING);
    assert.ok((noisy.faces[0]?.diagnosis.noiseSigma as number) >= 6, JSON.stringify(noisy.faces[0]?.diagnosis));
  });

  test('on a photo the tuning never saw, the noise estimate is within 5% of the noise there, per channel', async () => {
    const photo = await loadRgb(fixture('faces/grace-hopper.jpg'));
    const faces = await detectFaces(detector, photo);
    const diagnose = (image: RgbImage) => refineDetected(image, faces, { model: MODEL, denoising: 3 }, DEFAULT_TUNING).faces[0]?.diagnosis;
    const own = diagnose(photo);
    const noisy = diagnose(await (DEGRADATIONS['noise sigma 10'] as (i: RgbImage) => Promise<RgbImage>)(photo));
    assert.ok(own && noisy);
    // the photo's own grain (about 3 levels) adds to the sigma 10 added, as independent noises do
    noisy.channelNoise.forEach((sigma, c) => {
      const expected = Math.hypot(10, own.channelNoise[c] as number);
      assert.ok(Math.abs(sigma - expected) <= 0.05 * expected, `channel ${c}: ${sigma.toFixed(2)}, expected ${expected.toFixed(2)}`);
    });
  });
});

describe('many faces', () => {
  test('refined side by side on helper threads: the same bytes as one after another', async () => {
    const group = await loadRgb(fixture('faces/solvay-1927-gray-1280.png'));
    const pool = new FacePool(2);
    try {
      const parallel = await refineFaces(detector, group, { model: MODEL, denoising: 3 }, pool);
      const serial = await refineFaces(detector, group, { model: MODEL, denoising: 3 });
      assert.ok(parallel.faces.length >= 27, `${parallel.faces.length} faces`);
      assert.equal(parallel.faces.length, serial.faces.length);
      assert.ok(Buffer.from(parallel.image.data).equals(Buffer.from(serial.image.data)));
    } finally {
      await pool.close();
    }
  });

  test('MAX_FACES keeps the most confident faces only', async () => {
    const group = await loadRgb(fixture('faces/solvay-1927-gray-1280.png'));
    const capped = await refineFaces(detector, group, { model: MODEL, denoising: 3, maxFaces: 5 });
    assert.equal(capped.faces.length, 5);
  });
});

describe('alignment and odd inputs', () => {
  test('every face is refined at a canonical scale: small faces upscaled (at most 4x), large ones never shrunk', () => {
    const small = canonicalFrame(landmarksFromBox({ x: 10, y: 10, width: 40, height: 40 }));
    const medium = canonicalFrame(landmarksFromBox({ x: 10, y: 10, width: 200, height: 200 }));
    const large = canonicalFrame(landmarksFromBox({ x: 10, y: 10, width: 1500, height: 1500 }));
    assert.ok(small.scale > 1 && small.scale <= 4.0001, `small ${small.scale}`);
    assert.ok(medium.scale > 1, `medium ${medium.scale}`);
    assert.ok(large.scale >= 1 && large.scale < 1.01 && large.size > 384, `large ${large.scale} ${large.size}`);
  });

  test('a CMYK JPEG comes out as a correct RGB image with the face refined', async () => {
    const cmyk = await sharp(fixture('faces/astronaut.png')).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
    assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
    const result = await refineImage(detector, cmyk, { model: MODEL, denoising: 3, outputFormat: 'png', maxPixels: 1e8 });
    assert.equal(result.faces.length, 1);
    const out = await loadRgb(result.body);
    // colours survive the CMYK round trip: the face region stays close to the RGB original
    assert.ok(psnr(out, clean, mask) > 25, `psnr ${psnr(out, clean, mask).toFixed(1)}`);
  });

  test('two models, same input: deterministic, and different from each other', async () => {
    const noisy = await (DEGRADATIONS['noise sigma 10'] as (i: RgbImage) => Promise<RgbImage>)(clean);
    const a = await refineFaces(detector, noisy, { model: MODEL, denoising: 3 });
    const b = await refineFaces(detector, noisy, { model: MODEL, denoising: 3 });
    const f = await refineFaces(detector, noisy, { model: 'tengrai-20240423-m-f.safetensors', denoising: 3 });
    assert.deepEqual(Buffer.from(a.image.data), Buffer.from(b.image.data));
    assert.notDeepEqual(Buffer.from(a.image.data), Buffer.from(f.image.data));
  });
});
