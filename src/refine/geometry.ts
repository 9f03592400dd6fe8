export interface Point {
  x: number;
  y: number;
}

/** x' = a*x - b*y + tx ; y' = b*x + a*y + ty: rotation, uniform scale and translation. */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

export function applySimilarity(t: Similarity, p: Point): Point {
  return { x: t.a * p.x - t.b * p.y + t.tx, y: t.b * p.x + t.a * p.y + t.ty };
}

export function invertSimilarity(t: Similarity): Similarity {
  const d = t.a * t.a + t.b * t.b;
  const a = t.a / d;
  const b = -t.b / d;
  return { a, b, tx: -(a * t.tx - b * t.ty), ty: -(b * t.tx + a * t.ty) };
}

/**
 * Math.hypot(x, y), to the bit, for loops over every pixel: Math.hypot gathers its arguments into a new array on
 * each call (1.2 MB a job in gradient magnitudes). The same steps as V8's (Node 20): scaled by the larger
 * magnitude, squares summed (its Kahan compensation is 0 for two terms), the root scaled back; checked equal to
 * Math.hypot on 20 million pairs of gradient-like and random values.
 */
export function hypot2(x: number, y: number): number {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  if (ax === Infinity || ay === Infinity) return Infinity;
  if (Number.isNaN(ax) || Number.isNaN(ay)) return NaN;
  const max = ax > ay ? ax : ay;
  if (max === 0) return 0;
  const nx = ax / max;
  const ny = ay / max;
  return Math.sqrt(nx * nx + ny * ny) * max;
}

export function similarityScale(t: Similarity): number {
  return Math.hypot(t.a, t.b);
}

/** Least-squares similarity taking `from` onto `to` (Umeyama's method in the complex plane). */
export function fitSimilarity(from: Point[], to: Point[]): Similarity {
  const n = from.length;
  const mean = (points: Point[]): Point => ({
    x: points.reduce((s, p) => s + p.x, 0) / n,
    y: points.reduce((s, p) => s + p.y, 0) / n,
  });
  const pf = mean(from);
  const pt = mean(to);
  let re = 0;
  let im = 0;
  let norm = 0;
  for (let i = 0; i < n; i++) {
    const fx = (from[i] as Point).x - pf.x;
    const fy = (from[i] as Point).y - pf.y;
    const qx = (to[i] as Point).x - pt.x;
    const qy = (to[i] as Point).y - pt.y;
    // (q) * conj(f)
    re += qx * fx + qy * fy;
    im += qy * fx - qx * fy;
    norm += fx * fx + fy * fy;
  }
  const a = re / norm;
  const b = im / norm;
  return { a, b, tx: pt.x - (a * pf.x - b * pf.y), ty: pt.y - (b * pf.x + a * pf.y) };
}

export function centroid(points: Point[]): Point {
  return {
    x: points.reduce((s, p) => s + p.x, 0) / points.length,
    y: points.reduce((s, p) => s + p.y, 0) / points.length,
  };
}

/** Andrew's monotone chain. */
export function convexHull(points: Point[]): Point[] {
  const sorted = [...points].sort((a, b) => a.x - b.x || a.y - b.y);
  const cross = (o: Point, a: Point, b: Point): number => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  const half = (list: Point[]): Point[] => {
    const out: Point[] = [];
    for (const p of list) {
      while (out.length >= 2 && cross(out[out.length - 2] as Point, out[out.length - 1] as Point, p) <= 0) out.pop();
      out.push(p);
    }
    out.pop();
    return out;
  };
  return [...half(sorted), ...half([...sorted].reverse())];
}
