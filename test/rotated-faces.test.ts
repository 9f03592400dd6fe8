import assert from 'node:assert/strict';
import fc from 'fast-check';
import fs from 'node:fs';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { detectFaces, iou } from '../src/refine/detect.js';
import { MeshCheckedFaceDetector } from '../src/refine/face-detector.js';
import { centroid, type Point } from '../src/refine/geometry.js';
import type { Rect, RgbImage } from '../src/refine/image.js';
import { refineImage, type RefineOptions } from '../src/refine/pipeline.js';
import { turnImage, unturnPoint, type QuarterTurns } from '../src/refine/turn.js';
import { fixture } from './helpers/paths.js';
import { countChanged, decodePixels, type Pixels } from './helpers/pixels.js';

let detector: MeshCheckedFaceDetector;
before(async () => {
  detector = await MeshCheckedFaceDetector.create();
});

const options: RefineOptions = { model: 'tengrai-20231128-m-d.safetensors', denoising: 3, outputFormat: 'png', maxPixels: 40_000_000 };
const PHOTO = 'faces/grace-hopper.jpg';
/** Its labelled face (test/fixtures/faces/labels.json) in the upright photo, 512x600. */
const LABEL: Rect = { x: 160, y: 162, width: 205, height: 153 };
const WIDTH = 512;
const HEIGHT = 600;

/** The label's box in the photo turned clockwise by `degrees`. */
function turnedLabel(degrees: number): Rect {
  const { x, y, width: w, height: h } = LABEL;
  if (degrees === 90) return { x: HEIGHT - y - h, y: x, width: h, height: w };
  if (degrees === 180) return { x: WIDTH - x - w, y: HEIGHT - y - h, width: w, height: h };
  if (degrees === 270) return { x: y, y: WIDTH - x - w, width: h, height: w };
  return LABEL;
}

const grown = (r: Rect, factor: number) => (x: number, y: number): boolean =>
  Math.abs(x - (r.x + r.width / 2)) <= (r.width * factor) / 2 && Math.abs(y - (r.y + r.height / 2)) <= (r.height * factor) / 2;

function meanDifference(a: Pixels, b: Pixels, region: Rect): number {
  let sum = 0;
  let n = 0;
  for (let y = Math.round(region.y); y < region.y + region.height; y++) {
    for (let x = Math.round(region.x); x < region.x + region.width; x++) {
      const i = (y * a.width + x) * a.channels;
      for (let c = 0; c < 3; c++) sum += Math.abs((a.data[i + c] as number) - (b.data[i + c] as number));
      n += 3;
    }
  }
  return sum / n;
}

test('a turned image maps back: each pixel of the turned image is the original pixel its centre maps to', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.constantFrom<QuarterTurns>(0, 1, 2, 3), (width, height, turns) => {
      const data = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37) % 251);
      const image = { data, width, height, channels: 3 as const };
      const turned = turnImage(image, turns);
      for (let y = 0; y < turned.height; y++) {
        for (let x = 0; x < turned.width; x++) {
          const p = unturnPoint({ x: x + 0.5, y: y + 0.5 }, turns, width, height);
          const source = (Math.floor(p.y) * width + Math.floor(p.x)) * 3;
          const target = (y * turned.width + x) * 3;
          assert.deepEqual([...turned.data.subarray(target, target + 3)], [...data.subarray(source, source + 3)]);
        }
      }
    }),
  );
});

describe('faces at right angles (pixels turned, no EXIF orientation)', () => {
  let uprightRefined: Pixels;
  let uprightInput: Pixels;
  before(async () => {
    const upright = fs.readFileSync(fixture(PHOTO));
    uprightInput = await decodePixels(upright);
    uprightRefined = await decodePixels((await refineImage(detector, upright, options)).body);
  });

  for (const degrees of [90, 180, 270]) {
    test(`the portrait turned ${degrees} degrees: its face found, refined in place, same result as upright`, async () => {
      const turned = await sharp(fixture(PHOTO)).rotate(degrees).png().toBuffer();
      const result = await refineImage(detector, turned, options);
      const expected = turnedLabel(degrees);
      assert.equal(result.faces.length, 1, JSON.stringify(result.faces));
      const [x, y, width, height] = result.faces[0]?.box ?? [0, 0, 0, 0];
      assert.ok(iou({ x, y, width, height }, expected) >= 0.5, `box ${JSON.stringify(result.faces[0]?.box)} vs ${JSON.stringify(expected)}`);
      // The output keeps the input's orientation and size; only the face's surroundings change.
      const input = await decodePixels(turned);
      const output = await decodePixels(result.body);
      assert.deepEqual([output.width, output.height], [input.width, input.height]);
      const changed = countChanged(input, output, grown(expected, 2));
      assert.equal(changed.outside, 0);
      assert.ok(changed.inside > 5000, `changed ${changed.inside}`);
      // Turned back, it matches the upright photo's refinement where the face is (not the unrefined input).
      const back = await decodePixels(await sharp(result.body).rotate(360 - degrees).png().toBuffer());
      const toRefined = meanDifference(back, uprightRefined, LABEL);
      const refinementSize = meanDifference(uprightInput, uprightRefined, LABEL);
      assert.ok(toRefined < refinementSize / 2, `differs from the upright refinement by ${toRefined.toFixed(2)} grey levels, refinement itself ${refinementSize.toFixed(2)}`);
    });
  }
});

/**
 * An upside-down face once passed the upright look with the mesh fitted the wrong way up: turned back, its eyes
 * lay 86 px (0.95 of the eye distance) from the real ones. The mesh places the same face's eyes up to 0.13 of the
 * eye distance apart from crops of other sizes (the sideways face's crop is a smaller one), hence 0.15.
 */
const LANDMARK_TOLERANCE = 0.15;

describe('the landmarks of a turned face, mapped back, are where the upright face has them', () => {
  const eyesAndMouth = (face: { landmarks?: { rightEye: Point[]; leftEye: Point[]; lips: Point[] } } | undefined): Point[] => {
    assert.ok(face?.landmarks, 'a face with landmarks');
    return [centroid(face.landmarks.rightEye), centroid(face.landmarks.leftEye), centroid(face.landmarks.lips)];
  };
  let upright: RgbImage;
  let uprightPoints: Point[];
  before(async () => {
    const pixels = await decodePixels(fs.readFileSync(fixture(PHOTO)));
    upright = { data: pixels.data, width: pixels.width, height: pixels.height, channels: 3 };
    const faces = await detectFaces(detector, upright);
    assert.equal(faces.length, 1);
    uprightPoints = eyesAndMouth(faces[0]);
  });

  for (const turns of [1, 2, 3] as const) {
    test(`turned ${turns * 90} degrees: eyes and mouth within ${LANDMARK_TOLERANCE * 100}% of the eye distance of the upright ones`, async () => {
      const faces = await detectFaces(detector, turnImage(upright, turns));
      assert.equal(faces.length, 1, JSON.stringify(faces.map((f) => f.box)));
      const back = eyesAndMouth(faces[0]).map((p) => unturnPoint(p, turns, upright.width, upright.height));
      const [rightEye, leftEye] = uprightPoints as [Point, Point, Point];
      const eyeDistance = Math.hypot(leftEye.x - rightEye.x, leftEye.y - rightEye.y);
      back.forEach((p, i) => {
        const q = uprightPoints[i] as Point;
        const off = Math.hypot(p.x - q.x, p.y - q.y);
        assert.ok(off <= LANDMARK_TOLERANCE * eyeDistance, `${['right eye', 'left eye', 'mouth'][i]} at ${p.x.toFixed(0)},${p.y.toFixed(0)} mapped back, upright ${q.x.toFixed(0)},${q.y.toFixed(0)}: ${off.toFixed(1)} px off, eye distance ${eyeDistance.toFixed(1)}`);
      });
    });
  }
});
