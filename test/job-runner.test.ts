import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { newArtwork } from '../src/artworks/new-artwork.js';
import type { BlobStore } from '../src/blobs/blobs.js';
import type { RefinePool } from '../src/jobs/pool.js';
import { JobRunner } from '../src/jobs/runner.js';
import { sqliteUnderTest } from './helpers/backends.js';

/** Parts a job would use once it runs: the test's job must never get that far. */
const neverUsed = (what: string): never => {
  throw new Error(`${what} was used: a job ran on a runner that was stopping`);
};

test('a job claimed while the runner stops goes back to the queue, and stop() waits for that claim', async () => {
  const backend = await sqliteUnderTest();
  try {
    const org = await backend.store.createOrganization('o', 'whsec_a');
    const artwork = newArtwork(org.id, { imageUrl: 'https://example.com/a.png', model: 'tengrai-20231128-m-d.safetensors', denoising: 3, outputFormat: 'png' }, new Date(), 8);
    await backend.store.insertArtwork(artwork);
    // the real SQLite queue, its claim held until the test lets it go, so that stop() comes while it is under way
    let claimStarted = (): void => undefined;
    const started = new Promise<void>((resolve) => (claimStarted = resolve));
    let letGo = (): void => undefined;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    const queue = new Proxy(backend.queue, {
      get(target, property) {
        if (property === 'claim') {
          return async (now: number, leaseMs: number) => {
            claimStarted();
            await held;
            return target.claim(now, leaseMs);
          };
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const runner = new JobRunner({
      queue,
      store: backend.store,
      blobs: new Proxy({}, { get: () => () => neverUsed('the blob store') }) as BlobStore,
      pool: new Proxy({}, { get: () => () => neverUsed('the refine pool') }) as RefinePool,
      fetchInput: () => neverUsed('the input fetch'),
      logger: pino({ level: 'silent' }),
      concurrency: 1,
      leaseMs: 60_000,
      jobTimeoutMs: 60_000,
      pollMs: 60_000,
      listeningPollMs: 60_000,
    });
    runner.start();
    await started;
    const stopped = runner.stop(5_000);
    letGo();
    await stopped;
    assert.equal(runner.active, 0);
    // given back whole: claimable at once (no lease left on it), its attempt not counted
    const again = await backend.queue.claim(Date.now(), 60_000);
    assert.equal(again?.artworkId, artwork.id);
    assert.equal(again?.attempts, 1);
  } finally {
    await backend.close();
  }
});
