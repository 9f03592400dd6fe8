import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Keeps a worker thread from being terminated while ONNX Runtime is inside a native call.
 *
 * Why: onnxruntime-node's `InferenceSession.create` and `session.run` run synchronously on the thread's JS thread
 * (inside a setImmediate) and build their results through N-API. If `worker.terminate()` lands meanwhile, those
 * N-API calls fail, the binding throws a C++ `Napi::Error` nobody catches, and `std::terminate` aborts the WHOLE
 * PROCESS ("terminate called after throwing an instance of 'Napi::Error'", SIGABRT) — not just the thread. The
 * refine pool terminates threads on cancel, on JOB_TIMEOUT and on lease loss (all go through RefinePool), so
 * every native ORT call goes through `nativeCall` here, and the pool terminates only once the gate is drained.
 *
 * The gate is two Int32 in a SharedArrayBuffer made by the pool for each task: [in flight, closing]. The thread
 * adds 1 to "in flight", then reads "closing"; the pool sets "closing", then waits for "in flight" to read 0. With
 * sequentially consistent atomics one of them always sees the other: either the pool sees the call in flight and
 * waits for it, or the thread sees "closing" and refuses to start the call. Nothing native starts after the pool
 * decided to terminate.
 */

const IN_FLIGHT = 0;
const CLOSING = 1;
const DRAIN_POLL_MS = 5;

/** A task's gate: `Int32Array` over a SharedArrayBuffer, [native calls in flight, closing flag]. */
export type NativeGate = Int32Array;

export function createNativeGate(): NativeGate {
  return new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
}

/** Thrown instead of starting a native call once the thread is about to be terminated. */
export class NativeGateClosedError extends Error {
  constructor(what: string) {
    super(`${what} was not started: this thread's job was canceled and the thread is about to be terminated`);
  }
}

// Thread side. One task at a time per refine thread, so the gate of the task being run is this thread's gate.
let current: NativeGate | undefined;

/** Sets (or, with undefined, clears) the gate that this thread's native calls go through: the running task's. */
export function useNativeGate(gate: NativeGate | undefined): void {
  current = gate;
}

/** The gate this thread's native calls go through now, to hand to a helper thread that makes calls for this task. */
export function currentNativeGate(): NativeGate | undefined {
  return current;
}

/**
 * Runs one native ONNX Runtime call (`what` names it for the error) unless the thread is closing. Without a gate
 * (the warm-up, or code outside a refine thread) the call just runs: nothing terminates such a thread mid-call.
 */
export async function nativeCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  const gate = current;
  if (!gate) return call();
  Atomics.add(gate, IN_FLIGHT, 1);
  try {
    if (Atomics.load(gate, CLOSING) !== 0) throw new NativeGateClosedError(what);
    return await call();
  } finally {
    Atomics.sub(gate, IN_FLIGHT, 1);
  }
}

/** Whether the pool has closed this gate: the task's job was canceled, whatever error the refused call became. */
export function isNativeGateClosed(gate: NativeGate): boolean {
  return Atomics.load(gate, CLOSING) !== 0;
}

// Pool side.

/** Refuses every native call from now on (the thread is to be terminated); calls in flight finish. */
export function closeNativeGate(gate: NativeGate): void {
  Atomics.store(gate, CLOSING, 1);
}

/**
 * Resolves once no native call is in flight on a closed gate, with how long that took (ms). Polls (every 5 ms: a
 * BlazeFace run takes a few ms, a restorer run hundreds) rather than blocking, so the main event loop keeps serving. There is no time limit on purpose: terminating mid-call kills the process,
 * which is worse than a thread that is replaced late.
 */
export async function nativeCallsDrained(gate: NativeGate): Promise<number> {
  const started = performance.now();
  while (Atomics.load(gate, IN_FLIGHT) !== 0) await sleep(DRAIN_POLL_MS);
  return performance.now() - started;
}
