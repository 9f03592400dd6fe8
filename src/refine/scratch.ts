/**
 * Float planes for intermediate results, reused within a thread instead of allocated per call.
 *
 * A one-face 800x532 job allocated about 18 MB of typed arrays in about 80 pieces, most of them a filter's
 * intermediate planes dropped a moment later; V8 counts such memory against the heap's limit until it is collected.
 * Planes lent from here are taken back when their borrower is done, and the next borrower gets the same memory:
 * that job now allocates 6.7 MB in 21 pieces (the image copies, warped crop, masks and deltas that outlive a call).
 *
 * A lent plane is zeroed, as a new Float32Array would be, so nothing of one face or job reaches the next; the only
 * rule is the borrower's: keep no scratch plane, or anything viewing it, once it is taken back. Each thread
 * (refine thread, face helper) has its own pool, and every borrower lends and takes back within one synchronous
 * call, so no two faces share a plane.
 */

/** The most memory the pool holds while idle: a big face's planes (16 MB at 2000x2000) are not kept. */
const MAX_KEPT_BYTES = 24 * 1024 * 1024;
/** The most planes it holds: a job borrows at most nine at once (enhanceSteps' five, then guidedFilter's four). */
const MAX_KEPT = 16;

const kept: ArrayBuffer[] = [];
let keptBytes = 0;

function take(length: number): Float32Array {
  const bytes = length * Float32Array.BYTES_PER_ELEMENT;
  // the smallest kept buffer that fits, so a small plane does not take a big one from a later, bigger borrower
  let best = -1;
  for (let i = 0; i < kept.length; i++) {
    const size = (kept[i] as ArrayBuffer).byteLength;
    if (size >= bytes && (best < 0 || size < (kept[best] as ArrayBuffer).byteLength)) best = i;
  }
  if (best < 0) return new Float32Array(length);
  const [buffer] = kept.splice(best, 1) as [ArrayBuffer];
  keptBytes -= buffer.byteLength;
  return new Float32Array(buffer, 0, length).fill(0);
}

function give(plane: Float32Array): void {
  const { buffer } = plane;
  // a plane handed back twice (two names for one plane) must not be lent to two borrowers
  if (kept.includes(buffer as ArrayBuffer)) return;
  if (kept.length >= MAX_KEPT || keptBytes + buffer.byteLength > MAX_KEPT_BYTES) return;
  kept.push(buffer as ArrayBuffer);
  keptBytes += buffer.byteLength;
}

/**
 * A zeroed plane of `length` floats, to be handed back with takeBack once its borrower is done, in a `finally`
 * (one that is never handed back is only garbage, as a new plane would be). Lent and taken back in the same
 * function rather than through a callback: with the hot loops inside a closure made per call, a refine thread's
 * heap allocation per job doubled (less optimized code boxing its numbers).
 */
export function lendPlane(length: number): Float32Array {
  return take(length);
}

/** Gives lent planes back; their borrower must hold no reference to them, or to views of them, afterwards. */
export function takeBack(...planes: Float32Array[]): void {
  for (const plane of planes) give(plane);
}
