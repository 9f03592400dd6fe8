import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { JobError } from '../src/errors.js';
import { MAX_ASPECT_RATIO, WEBP_MAX_SIDE } from '../src/limits.js';
import { MeshCheckedFaceDetector } from '../src/refine/face-detector.js';
import { refineImage, type RefineOptions } from '../src/refine/pipeline.js';

/**
 * An image wider than WebP allows (issue 10: it passed the pixel cap, then failed with INTERNAL after the whole
 * refinement). A 16,400 x 820 strip: one side too long, as elongated as MAX_ASPECT_RATIO lets an image be.
 */
const WIDE = WEBP_MAX_SIDE + 17;
const HIGH = Math.ceil(WIDE / MAX_ASPECT_RATIO);
let detector: MeshCheckedFaceDetector;
let strip: Buffer;
const options: RefineOptions = { model: 'tengrai-20231128-m-d.safetensors', denoising: 3, outputFormat: 'auto', maxPixels: 50_000_000 };

before(async () => {
  detector = await MeshCheckedFaceDetector.create();
  strip = await sharp({ create: { width: WIDE, height: HIGH, channels: 3, background: '#808080' } }).png().toBuffer();
});

test('outputFormat webp on an image too wide for WebP fails at once with a code that says so', async () => {
  await assert.rejects(refineImage(detector, strip, { ...options, outputFormat: 'webp' }), (error: unknown) => {
    assert.ok(error instanceof JobError, String(error));
    assert.equal(error.code, 'IMAGE_TOO_LARGE_FOR_WEBP');
    assert.match(error.message, /at most 16383 pixels a side for outputFormat webp but the image is 16400x820/);
    return true;
  });
});

test('outputFormat auto on an image too wide for WebP is a PNG, and the result says so', async () => {
  const result = await refineImage(detector, strip, options);
  assert.equal(result.contentType, 'image/png');
  assert.equal(result.extension, 'png');
  const meta = await sharp(result.body).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', WIDE, HIGH]);
});
