import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CANONICAL_SIZE, canonicalFrame } from '../src/refine/align.js';
import { defectsOf, DEFAULT_TUNING, enhancementCare } from '../src/refine/enhance.js';
import { landmarksFromBox } from '../src/refine/landmarks.js';
import { warmUpRefinement } from '../src/refine/warm-up.js';

/** The side of a face's canonical crop at the face's own resolution (what the crop is when nothing is resampled). */
function nativeSide(boxWidth: number): number {
  const frame = canonicalFrame(landmarksFromBox({ x: 100, y: 100, width: boxWidth, height: boxWidth * 1.2 }));
  return frame.size / frame.scale;
}

describe('the resolution a face is refined at', () => {
  test('a face whose crop at its own resolution is at least half the canonical size is refined at that resolution', () => {
    for (const width of [120, 160, 240]) {
      const frame = canonicalFrame(landmarksFromBox({ x: 100, y: 100, width, height: width * 1.2 }));
      const side = nativeSide(width);
      assert.ok(side >= CANONICAL_SIZE / 2, `a ${width} px face has a ${side.toFixed(0)} px crop at its own resolution`);
      assert.ok(Math.abs(frame.scale - 1) < 0.01, `a ${width} px face is refined at scale ${frame.scale}`);
      assert.ok(Math.abs(frame.size - side) <= 1, `a ${width} px face is refined in a ${frame.size} px crop, not ${side}`);
    }
  });

  test('smaller faces are upscaled into the full canonical crop, or 4x where that is less', () => {
    for (const width of [30, 60, 90]) {
      const frame = canonicalFrame(landmarksFromBox({ x: 100, y: 100, width, height: width * 1.2 }));
      assert.ok(nativeSide(width) < CANONICAL_SIZE / 2);
      assert.ok(frame.scale > 2, `a ${width} px face is upscaled ${frame.scale}x`);
      const fullCrop = frame.size === CANONICAL_SIZE;
      assert.ok(fullCrop ? frame.scale <= 4 : Math.abs(frame.scale - 4) < 0.02, `a ${width} px face: ${frame.size} px crop at ${frame.scale}x`);
    }
  });
});

describe('warming a refine thread up', () => {
  test('the synthetic faces take every path a real job can: enhancement, denoising and JPEG deblocking', async () => {
    const defects = (await warmUpRefinement()).map(defectsOf);
    assert.ok(defects.some((d) => enhancementCare(d, DEFAULT_TUNING) > 0.9), 'a clean face, fully enhanced');
    assert.ok(defects.some((d) => d.noise > 3), 'a noisy face');
    assert.ok(defects.some((d) => d.blocking > 0.5), 'a blocky JPEG face');
  });
});
