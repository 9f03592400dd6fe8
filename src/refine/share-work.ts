import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Helper threads that lanes run on, which may also be busy with work given to them outside a shareWork (faces
 * found early, refined while detection goes on). The lane for helper `slot` (1..size) of a shareWork is free while
 * at most size - slot of the threads hold such work: with k of them busy, only the first size - k helper lanes
 * take tasks, so none waits in the threads' queue behind a face while another lane could run it.
 */
export interface HelperThreads {
  readonly size: number;
  whenFree(slot: number): Promise<void>;
}

/**
 * Runs one task. A lane that may be busy with other work (a helper thread refining a face) says when it is free
 * again: it takes no task before that, rather than holding one while the other lanes could run it.
 */
export type Lane<R> = ((index: number) => Promise<R> | R) & { whenFree?: () => Promise<void> };

/**
 * Runs tasks 0..count-1 on several lanes at once (this thread and its helper threads), each lane taking the next
 * task as soon as it is free, so a lane on a busy core takes fewer. Results come in task order whoever ran them,
 * so the outcome is the same with one lane or many. After each task a lane lets the event loop turn: work done in
 * this thread is synchronous, and a helper's answer is only read (and its next task sent) between tasks. A lane
 * waiting to be free stops waiting once every task has been taken.
 *
 * The first failure stops every lane from taking more and is what the returned promise rejects with, but only
 * once every lane's task in flight has ended: a helper still inside an ONNX Runtime call for this job must not
 * outlive it (its job's native-call gate would no longer count it, and a later cancel could terminate the
 * thread mid-call, which aborts the process).
 */
export async function shareWork<R>(count: number, lanes: Array<Lane<R>>): Promise<R[]> {
  const results = new Array<R>(count);
  let next = 0;
  let failure: { error: unknown } | undefined;
  // resolved once no lane will take another task (all taken, or a failure): a lane waiting to be free stops
  let noMoreTasks = (): void => undefined;
  const noneLeft = new Promise<void>((resolve) => (noMoreTasks = resolve));
  await Promise.all(
    lanes.map(async (lane) => {
      while (!failure && next < count) {
        try {
          if (lane.whenFree) await Promise.race([lane.whenFree(), noneLeft]);
        } catch (error) {
          failure ??= { error };
          noMoreTasks();
          return;
        }
        if (failure || next >= count) return;
        const index = next++;
        if (next === count) noMoreTasks();
        try {
          results[index] = await lane(index);
        } catch (error) {
          failure ??= { error };
          noMoreTasks();
          return;
        }
        await nextTurn();
      }
    }),
  );
  if (failure) throw failure.error;
  return results;
}
