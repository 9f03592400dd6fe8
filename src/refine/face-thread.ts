import { move, transferableSymbol, valueSymbol } from 'piscina';
import { BlazeFace } from './blazeface.js';
import type { HelperAnswer, HelperTask } from './face-pool.js';
import { refineOneFace } from './face-work.js';
import { FaceMesh } from './face-mesh.js';
import { useNativeGate, type NativeGate } from './native-gate.js';

/**
 * A model loaded on a helper's first task that needs it, once per file or directory (`key`); a load that failed
 * is tried again next time.
 */
function loadedOnce<T>(loaded: Map<string, Promise<T>>, key: string, load: (key: string) => Promise<T>): Promise<T> {
  let model = loaded.get(key);
  if (!model) {
    model = load(key);
    loaded.set(key, model);
    model.catch(() => loaded.delete(key));
  }
  return model;
}

const blazeFaces = new Map<string, Promise<BlazeFace>>();
const meshes = new Map<string, Promise<FaceMesh>>();
const blazeFaceFor = (modelPath: string): Promise<BlazeFace> => loadedOnce(blazeFaces, modelPath, (file) => BlazeFace.create(file));
const meshFor = (modelDir: string): Promise<FaceMesh> => loadedOnce(meshes, modelDir, (dir) => FaceMesh.create(dir));

/**
 * A helper thread of a refine thread (a piscina task): refines one face, runs BlazeFace on one window or the
 * mesh on one crop. Big buffers travel back moved, not copied: a face's delta planes, a window's or crop's input
 * (which its sender reuses).
 */
export default async function helperTask(task: HelperTask): Promise<HelperAnswer> {
  if (task.kind === 'window') {
    const candidates = await underGate(task.nativeGate, async () => (await blazeFaceFor(task.modelPath)).run(task.window, task.minScore));
    return move({ [transferableSymbol]: [task.window.buffer], [valueSymbol]: { candidates, window: task.window } }) as unknown as HelperAnswer;
  }
  if (task.kind === 'mesh') {
    const output = await underGate(task.nativeGate, async () => (await meshFor(task.modelDir)).run(task.input, 1));
    const buffers = [task.input.buffer, output.mesh.buffer, output.flags.buffer];
    return move({ [transferableSymbol]: buffers, [valueSymbol]: { ...output, input: task.input } }) as unknown as HelperAnswer;
  }
  const work = refineOneFace(task.crop, task.face, task.strength, task.tuning);
  if (!work) return null;
  const buffers = [work.delta.y, work.delta.cb, work.delta.cr, work.delta.alpha].map((plane) => plane.data.buffer);
  return move({ [transferableSymbol]: buffers, [valueSymbol]: work }) as unknown as HelperAnswer;
}

/** The sender's task gate: its pool terminates threads only once every native call under the gate is done. */
async function underGate<T>(gate: NativeGate | undefined, work: () => Promise<T>): Promise<T> {
  useNativeGate(gate);
  try {
    return await work();
  } finally {
    useNativeGate(undefined);
  }
}
