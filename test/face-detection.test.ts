import assert from 'node:assert/strict';
import fs from 'node:fs';
import { before, describe, test } from 'node:test';
import { loadRgb } from '../bench/lib/degrade.js';
import { detectFaces, iou } from '../src/refine/detect.js';
import { HumanFrameDetector } from '../src/refine/human-detector.js';
import type { Rect } from '../src/refine/image.js';
import { FIXTURES, fixture } from './helpers/paths.js';

let detector: HumanFrameDetector;
before(async () => {
  detector = await HumanFrameDetector.create();
});

/** The ground truth lists each face as `detection_N` then four corners as `row column`. */
function groundTruth(file: string): Rect[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const boxes: Rect[] = [];
  lines.forEach((line, i) => {
    if (!line.startsWith('detection')) return;
    const corners = lines.slice(i + 1, i + 5).map((l) => l.trim().split(/\s+/).map(Number));
    const rows = corners.map((c) => c[0] as number);
    const cols = corners.map((c) => c[1] as number);
    boxes.push({
      x: Math.min(...cols),
      y: Math.min(...rows),
      width: Math.max(...cols) - Math.min(...cols),
      height: Math.max(...rows) - Math.min(...rows),
    });
  });
  return boxes;
}

describe('face detection', () => {
  test('finds at least 90% of the 30 small faces in the 1280 px group photo (IoU >= 0.4)', async () => {
    const truth = groundTruth(fixture('faces/solvay-1927-gray-1280.ground-truth.txt'));
    assert.equal(truth.length, 30);
    const found = await detectFaces(detector, await loadRgb(fixture('faces/solvay-1927-gray-1280.png')));
    const hits = truth.filter((t) => found.some((f) => iou(f.box, t) >= 0.4)).length;
    assert.ok(hits / truth.length >= 0.9, `recall ${hits}/${truth.length}`);
    const strays = found.filter((f) => !truth.some((t) => iou(f.box, t) >= 0.4));
    assert.ok(strays.length <= 1, `detections matching no face: ${JSON.stringify(strays.map((s) => s.box))}`);
    assert.ok(found.every((f) => f.landmarks?.fromMesh), 'every 40-50 px face has mesh landmarks');
  });

  for (const file of fs.readdirSync(`${FIXTURES}/negatives`)) {
    test(`no face in negatives/${file}`, async () => {
      const found = await detectFaces(detector, await loadRgb(fixture(`negatives/${file}`)));
      assert.deepEqual(found.map((f) => f.box), []);
    });
  }

  test('a grayscale face turned towards profile, and a portrait with glasses', async () => {
    for (const file of ['faces/camera-gray-turned.png', 'faces/grace-hopper.jpg']) {
      const found = await detectFaces(detector, await loadRgb(fixture(file)));
      assert.equal(found.length, 1, file);
    }
  });

  test('the sepia 2126 px group photo: most faces found', async () => {
    const found = await detectFaces(detector, await loadRgb(fixture('faces/solvay-1927-2126.jpg')));
    assert.ok(found.length >= 26 && found.length <= 31, `found ${found.length}`);
  });
});
