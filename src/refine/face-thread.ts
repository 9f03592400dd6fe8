import { move, transferableSymbol, valueSymbol } from 'piscina';
import type { FaceJob } from './face-pool.js';
import { refineOneFace, type FaceWork } from './face-work.js';

/** A helper thread of a refine thread (a piscina task): refines one face; its delta planes travel back moved, not copied. */
export default function refineFace(job: FaceJob): FaceWork | null {
  const work = refineOneFace(job.crop, job.face, job.strength, job.tuning);
  if (!work) return null;
  const buffers = [work.delta.y, work.delta.cb, work.delta.cr, work.delta.alpha].map((plane) => plane.data.buffer);
  return move({ [transferableSymbol]: buffers, [valueSymbol]: work }) as unknown as FaceWork;
}
