import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Runs tasks 0..count-1 on several lanes at once (this thread and its helper threads), each lane taking the next
 * task as soon as it is free, so a lane on a busy core takes fewer. Results come in task order whoever ran them,
 * so the outcome is the same with one lane or many. After each task a lane lets the event loop turn: work done in
 * this thread is synchronous, and a helper's answer is only read (and its next task sent) between tasks.
 *
 * The first failure stops every lane from taking more and is what the returned promise rejects with, but only
 * once every lane's task in flight has ended: a helper still inside an ONNX Runtime call for this job must not
 * outlive it (its job's native-call gate would no longer count it, and a later cancel could terminate the
 * thread mid-call, which aborts the process).
 */
export async function shareWork<R>(count: number, lanes: Array<(index: number) => Promise<R> | R>): Promise<R[]> {
  const results = new Array<R>(count);
  let next = 0;
  let failure: { error: unknown } | undefined;
  await Promise.all(
    lanes.map(async (lane) => {
      while (!failure && next < count) {
        const index = next++;
        try {
          results[index] = await lane(index);
        } catch (error) {
          failure ??= { error };
          return;
        }
        await nextTurn();
      }
    }),
  );
  if (failure) throw failure.error;
  return results;
}
