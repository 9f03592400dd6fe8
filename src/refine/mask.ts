import type { Plane, Rect } from './image.js';

export interface FaceEllipse {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
}

/** The face oval around a detector box: wider than the box for the cheeks, taller for forehead and chin. */
export function ellipseForBox(box: Rect): FaceEllipse {
  return {
    cx: box.x + box.width / 2,
    cy: box.y + box.height * 0.45,
    rx: box.width * 0.62,
    ry: box.height * 0.78,
  };
}

/** The region a face's refinement reads and writes: the ellipse's bounding box. */
export function regionForEllipse(e: FaceEllipse): Rect {
  return { x: e.cx - e.rx, y: e.cy - e.ry, width: 2 * e.rx, height: 2 * e.ry };
}

/**
 * Alpha of the face inside `region`: 1 in the core, easing to exactly 0 at the ellipse's edge over a feather
 * that is a fixed share of the face size, so big and small faces blend alike.
 */
export function featheredEllipseMask(e: FaceEllipse, region: Rect, featherShare = 0.3): Plane {
  const out = new Float32Array(region.width * region.height);
  const inner = 1 - featherShare;
  for (let y = 0; y < region.height; y++) {
    const dy = (region.y + y + 0.5 - e.cy) / e.ry;
    for (let x = 0; x < region.width; x++) {
      const dx = (region.x + x + 0.5 - e.cx) / e.rx;
      const d = Math.sqrt(dx * dx + dy * dy);
      let alpha: number;
      if (d >= 1) alpha = 0;
      else if (d <= inner) alpha = 1;
      else {
        const t = (1 - d) / featherShare;
        alpha = t * t * (3 - 2 * t);
      }
      out[y * region.width + x] = alpha;
    }
  }
  return { data: out, width: region.width, height: region.height };
}
