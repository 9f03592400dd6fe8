import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { shareWork } from '../src/refine/share-work.js';

describe('work shared between lanes', () => {
  test('results come in task order whichever lane ran them', async () => {
    const ranBy: string[] = [];
    const slow = async (i: number): Promise<number> => {
      await sleep(5);
      ranBy[i] = 'slow';
      return i * 10;
    };
    const fast = (i: number): number => {
      ranBy[i] = 'fast';
      return i * 10;
    };
    assert.deepEqual(await shareWork(8, [fast, slow]), [0, 10, 20, 30, 40, 50, 60, 70]);
    assert.ok(ranBy.includes('slow') && ranBy.includes('fast'), ranBy.join());
  });

  test('a failure stops the lanes from taking more, and rejects only once the tasks in flight have ended', async () => {
    const started: number[] = [];
    let inFlightEnded = false;
    const failing = (i: number): never => {
      started.push(i);
      throw new Error(`task ${i} failed`);
    };
    const slow = async (i: number): Promise<number> => {
      started.push(i);
      await sleep(50);
      inFlightEnded = true;
      return i;
    };
    await assert.rejects(shareWork(10, [slow, failing]), /task 1 failed/);
    assert.ok(inFlightEnded, 'rejected while a lane was still running its task');
    assert.deepEqual(started, [0, 1]);
  });

  test('a lane busy with other work takes no task until it is free, and stops waiting once every task is taken', async () => {
    let free = (): void => undefined;
    const busy = Object.assign((i: number) => `busy lane ran ${i}`, { whenFree: () => new Promise<void>((resolve) => (free = resolve)) });
    const here = async (i: number): Promise<string> => {
      await sleep(2);
      return `here ran ${i}`;
    };
    // never freed: shareWork must not wait for it
    assert.deepEqual(await shareWork(3, [here, busy]), ['here ran 0', 'here ran 1', 'here ran 2']);
    // freed after the first task: it takes some of the rest
    const freedSoon = Object.assign((i: number) => `busy lane ran ${i}`, {
      whenFree: () => sleep(5),
    });
    const results = await shareWork(6, [here, freedSoon]);
    assert.ok(results.some((r) => r.startsWith('busy lane ran')), results.join());
    free();
  });

  test('a lane whose wait fails stops the work, and the failure comes once the other lanes have ended their tasks', async () => {
    let inFlightEnded = false;
    const slow = async (i: number): Promise<number> => {
      await sleep(30);
      inFlightEnded = true;
      return i;
    };
    const broken = Object.assign((i: number) => i, { whenFree: () => Promise.reject(new Error('the helper is gone')) });
    await assert.rejects(shareWork(10, [slow, broken]), /the helper is gone/);
    assert.ok(inFlightEnded, 'rejected while a lane was still running its task');
  });
});

