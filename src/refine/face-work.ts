import { applySimilarity, canonicalFrame, warpToCanonical, type CanonicalFrame } from './align.js';
import { diagnoseFace, type FaceDiagnosis } from './analyze.js';
import { faceDelta, imageFootprint, unchangedDelta, withNative, type FaceDelta } from './blend.js';
import type { DetectedFace } from './detect.js';
import { defectsOf, enhancementCare, refineCanonical, type Tuning } from './enhance.js';
import type { Similarity } from './geometry.js';
import { clampRect, type Rect, type RgbImage } from './image.js';
import { landmarksFromBox, mapLandmarks, type FaceLandmarks } from './landmarks.js';
import { faceMask, regionMasks } from './mask.js';
import type { RefineStrength } from './profiles.js';
import { repairCrop } from './repair.js';

/** The pixels one face's work needs, cut from the image so it can travel to another thread. */
export interface FaceCrop {
  image: RgbImage;
  /** Where the crop sits in the image: a multiple of 8, so JPEG's 8x8 grid is the crop's grid too. */
  x: number;
  y: number;
  /** The face's landmarks and canonical frame (image coordinates), fitted once when the crop was cut. */
  landmarks: FaceLandmarks;
  frame: CanonicalFrame;
  /** The whole image's noise (estimateImageNoise), which bounds the face's own reading (faceNoiseCeiling). */
  imageNoise: number;
}

export interface FaceWork {
  frame: CanonicalFrame;
  landmarks: FaceLandmarks;
  diagnosis: FaceDiagnosis;
  delta: FaceDelta;
}

/** Side of the square where a face's own pixels are measured, as a share of its canonical crop: 1.8 eye distances. */
const MEASURED_SHARE = 0.45;
/** Its centre in the canonical crop: between the eyes (42%) and the mouth (69%), a little below the nose. */
const MEASURED_CENTRE = { x: 0.5, y: 0.55 };

/**
 * Where a face's noise, blocking and blur are measured: its own pixels (eyes, nose, cheeks, mouth; not hair or
 * background), found from its landmarks rather than the detector's box, whose size and padding vary between
 * detectors and even with how the picture is turned. A square, its side a multiple of 8, placed on the image's
 * 8x8 grid: turned by a right angle, the face is measured on the same pixels, in the same 8x8 tiles and 2x2
 * wavelet pairs (noise.ts), and in a JPEG those tiles are its blocks, so block edges are not read as noise.
 */
function measuredSquare(frame: CanonicalFrame): Rect {
  const extent = frame.size / frame.scale;
  const centre = applySimilarity(frame.toImage, { x: MEASURED_CENTRE.x * frame.size, y: MEASURED_CENTRE.y * frame.size });
  const side = Math.max(16, Math.round((MEASURED_SHARE * extent) / 8) * 8);
  return { x: Math.round((centre.x - side / 2) / 8) * 8, y: Math.round((centre.y - side / 2) / 8) * 8, width: side, height: side };
}

// literals rather than spreads, so frames and rectangles keep one shape (see withPixels in image.ts)
const shift = (t: Similarity, dx: number, dy: number): Similarity => ({ a: t.a, b: t.b, tx: t.tx + dx, ty: t.ty + dy });

/**
 * Cuts out what `face` needs: its canonical crop's footprint, plus the bicubic margin; `imageNoise` is the
 * source's (estimateImageNoise).
 */
export function cropFor(source: RgbImage, face: DetectedFace, imageNoise: number): FaceCrop {
  const landmarks = face.landmarks ?? landmarksFromBox(face.box);
  const frame = canonicalFrame(landmarks);
  const foot = imageFootprint(frame, source.width, source.height);
  const outer = clampRect(
    { x: Math.floor((foot.x - 2) / 8) * 8, y: Math.floor((foot.y - 2) / 8) * 8, width: foot.width + 12, height: foot.height + 12 },
    source.width,
    source.height,
  );
  const { channels } = source;
  const data = new Uint8Array(outer.width * outer.height * channels);
  for (let row = 0; row < outer.height; row++) {
    const from = ((outer.y + row) * source.width + outer.x) * channels;
    data.set(source.data.subarray(from, from + outer.width * channels), row * outer.width * channels);
  }
  return { image: { data, width: outer.width, height: outer.height, channels }, x: outer.x, y: outer.y, landmarks, frame, imageNoise };
}

/**
 * One face, start to finish short of blending: diagnose it and repair its defects at input resolution, warp
 * it into its canonical crop, enhance it there, and return its masked change. A face the diagnosis gives no
 * enhancement (enhancementCare 0: noisy, blocky, soft) is not warped at all: only its mask is drawn, for
 * blending its repair back. Pure computation on a crop, so it runs the same in this thread or another.
 */
export function refineOneFace(crop: FaceCrop, face: DetectedFace, strength: RefineStrength, tuning: Tuning): FaceWork | null {
  const { landmarks, frame } = crop;
  // the same frame, in the crop's coordinates
  const { toCanonical } = frame;
  const local: CanonicalFrame = {
    size: frame.size,
    toCanonical: {
      a: toCanonical.a,
      b: toCanonical.b,
      tx: toCanonical.tx + toCanonical.a * crop.x - toCanonical.b * crop.y,
      ty: toCanonical.ty + toCanonical.b * crop.x + toCanonical.a * crop.y,
    },
    toImage: shift(frame.toImage, -crop.x, -crop.y),
    scale: frame.scale,
    unit: frame.unit,
  };
  const toCrop = (r: Rect): Rect =>
    clampRect({ x: r.x - crop.x, y: r.y - crop.y, width: r.width, height: r.height }, crop.image.width, crop.image.height);
  const measured = toCrop(measuredSquare(frame));
  if (measured.width < 4 || measured.height < 4) return null;
  const origin = { x: crop.x, y: crop.y };
  // the JPEG quality on the whole crop: the face's oval and more, so more blocks and a surer fit
  const diagnosis = diagnoseFace(crop.image, measured, { x: 0, y: 0, width: crop.image.width, height: crop.image.height }, origin, crop.imageNoise);
  const repaired = repairCrop(crop.image, origin, diagnosis, strength, tuning);
  // the repair goes back at input resolution; only the enhancement travels through the canonical crop
  const native = repaired === crop.image ? undefined : { image: repaired, x: crop.x, y: crop.y };
  const canonical = mapLandmarks(landmarks, (p) => applySimilarity(frame.toCanonical, p));
  if (enhancementCare(defectsOf(diagnosis), tuning, strength.blockedCare) <= 0) {
    // refineCanonical would return the warped crop unchanged: no warp, no enhancement, only the mask
    return { frame, landmarks, diagnosis, delta: withNative(unchangedDelta(faceMask(canonical, frame.size), strength.blend), native) };
  }
  const start = warpToCanonical(repaired, local);
  const masks = regionMasks(canonical, frame.size);
  const refined = refineCanonical(start, masks, diagnosis, strength, frame, tuning);
  return { frame, landmarks, diagnosis, delta: withNative(faceDelta(start, refined, masks.face, strength.blend), native) };
}
