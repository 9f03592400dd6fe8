import { parentPort } from 'node:worker_threads';
import type { FaceJob } from './face-pool.js';
import { refineOneFace, type FaceWork } from './face-work.js';

// A helper thread of a refine thread: refines the faces it is sent, one at a time.
const port = parentPort;
if (!port) throw new Error('face-thread must run as a worker thread');

port.on('message', (message: { id: number; job: FaceJob }) => {
  const { crop, face, strength, tuning } = message.job;
  const work: FaceWork | null = refineOneFace(crop, face, strength, tuning);
  const buffers = work ? [work.delta.y, work.delta.cb, work.delta.cr, work.delta.alpha].map((p) => p.data.buffer as ArrayBuffer) : [];
  port.postMessage({ id: message.id, work }, buffers);
});
