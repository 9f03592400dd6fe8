import { move, transferableSymbol, valueSymbol } from 'piscina';
import { BlazeFace } from './blazeface.js';
import type { HelperAnswer, HelperTask } from './face-pool.js';
import { refineOneFace } from './face-work.js';
import { useNativeGate } from './native-gate.js';

/** Loaded on a helper's first window, once per model file (a load that failed is tried again next time). */
const blazeFaces = new Map<string, Promise<BlazeFace>>();

function blazeFaceFor(modelPath: string): Promise<BlazeFace> {
  let model = blazeFaces.get(modelPath);
  if (!model) {
    model = BlazeFace.create(modelPath);
    blazeFaces.set(modelPath, model);
    model.catch(() => blazeFaces.delete(modelPath));
  }
  return model;
}

/**
 * A helper thread of a refine thread (a piscina task): refines one face, or runs BlazeFace on one window. Big
 * buffers travel back moved, not copied: a face's delta planes, a window's input (which its sender reuses).
 */
export default async function helperTask(task: HelperTask): Promise<HelperAnswer> {
  if (task.kind === 'window') {
    // the sender's task gate: its pool terminates threads only once every native call under the gate is done
    useNativeGate(task.nativeGate);
    try {
      const candidates = await (await blazeFaceFor(task.modelPath)).run(task.window, task.minScore);
      return move({ [transferableSymbol]: [task.window.buffer], [valueSymbol]: { candidates, window: task.window } }) as unknown as HelperAnswer;
    } finally {
      useNativeGate(undefined);
    }
  }
  const work = refineOneFace(task.crop, task.face, task.strength, task.tuning);
  if (!work) return null;
  const buffers = [work.delta.y, work.delta.cb, work.delta.cr, work.delta.alpha].map((plane) => plane.data.buffer);
  return move({ [transferableSymbol]: buffers, [valueSymbol]: work }) as unknown as HelperAnswer;
}
