import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Runs tasks 0..count-1 on several lanes at once (this thread and its helper threads), each lane taking the next
 * task as soon as it is free, so a lane on a busy core takes fewer. Results come in task order whoever ran them,
 * so the outcome is the same with one lane or many. After each task a lane lets the event loop turn: work done in
 * this thread is synchronous, and a helper's answer is only read (and its next task sent) between tasks.
 * The first failure stops every lane from taking more and is what the returned promise rejects with.
 */
export async function shareWork<R>(count: number, lanes: Array<(index: number) => Promise<R> | R>): Promise<R[]> {
  const results = new Array<R>(count);
  let next = 0;
  let failed = false;
  await Promise.all(
    lanes.map(async (lane) => {
      while (!failed && next < count) {
        const index = next++;
        try {
          results[index] = await lane(index);
        } catch (error) {
          failed = true;
          throw error;
        }
        await nextTurn();
      }
    }),
  );
  return results;
}
