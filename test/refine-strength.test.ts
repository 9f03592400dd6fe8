import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { loadRgb } from '../bench/lib/degrade.js';
import { diagnoseFace } from '../src/refine/analyze.js';
import { estimateJpegQuality } from '../src/refine/dct.js';
import { deconvolveGaussian } from '../src/refine/deconvolve.js';
import { gaussianBlur } from '../src/refine/filters.js';
import type { Plane, RgbImage } from '../src/refine/image.js';
import { fixture } from './helpers/paths.js';

let clean: RgbImage;

before(async () => {
  clean = await loadRgb(fixture('faces/astronaut.png'));
});

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

  test('a smooth face is not read as a JPEG of very low quality whose coarse steps its small coefficients happen to fit', () => {
    // a face blurred and flattened: its low-frequency coefficients are small, so the steps of quality 5 "fit"
    // them (rounded to zero), though it never was a JPEG
    const smooth = gaussianBlur(lumaOf(clean), 2.5);
    const flat = Uint8Array.from({ length: smooth.data.length * 3 }, (_, i) => Math.round(128 + 0.2 * ((smooth.data[Math.floor(i / 3)] as number) - 128)));
    const image: RgbImage = { data: flat, width: clean.width, height: clean.height, channels: 3 };
    const whole = { x: 0, y: 0, width: image.width, height: image.height };
    const fit = estimateJpegQuality(lumaOf(image), 0, 0);
    assert.ok(fit && fit.quality < 15, `the plain fit finds a very low quality: ${JSON.stringify(fit)}`);
    assert.equal(diagnoseFace(image, { x: 160, y: 60, width: 144, height: 144 }, whole, { x: 0, y: 0 }).jpegQuality, undefined);
  });
});
