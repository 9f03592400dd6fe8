import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { newArtwork } from '../src/artworks/new-artwork.js';
import { MAX_JOB_ATTEMPTS } from '../src/jobs/queue.js';
import { openSqlite } from '../src/store/sqlite/database.js';
import { SqliteQueue } from '../src/store/sqlite/queue.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { tempDataDir } from './helpers/service.js';

async function setup() {
  const file = path.join(tempDataDir('queue'), 'q.db');
  const db = openSqlite(file);
  const store = new SqliteStore(db);
  const queue = new SqliteQueue(db);
  const org = await store.createOrganization('o', 'whsec_x');
  const artwork = newArtwork(org.id, { imageUrl: 'https://example.com/a.png', model: 'tengrai-20231128-m-d.safetensors', denoising: 3, outputFormat: 'png', webhook: 'https://example.com/hook' }, new Date(), 8);
  await store.insertArtwork(artwork);
  // a second connection to the same file, as a second process would have
  const otherQueue = new SqliteQueue(openSqlite(file));
  return { store, queue, otherQueue, artwork, org };
}

const success = { status: 'succeeded' as const, results: [{ key: 'k', contentType: 'image/png' }], faces: [], duration: 1 };

describe('SQLite job queue', () => {
  test('a claimed job is invisible to other claimers until its lease runs out', async () => {
    const { queue, otherQueue, store, artwork } = await setup();
    const now = Date.now();
    const job = await queue.claim(now, 10_000);
    assert.ok(job);
    assert.equal(job.artworkId, artwork.id);
    assert.equal((await store.getArtworkById(artwork.id))?.status, 'processing');
    assert.equal(await otherQueue.claim(now + 5_000, 10_000), null);
    const takeover = await otherQueue.claim(now + 10_001, 10_000);
    assert.ok(takeover, 'reclaimed after the lease');
    assert.equal(takeover.attempts, 2);
    // the first claimer lost the job: it can neither renew nor finish it
    assert.equal(await queue.renew(job, now + 10_002, 10_000), false);
    assert.equal(await queue.finish(job, success, new Date()), false);
    assert.equal((await store.getArtworkById(artwork.id))?.status, 'processing');
    assert.equal(await otherQueue.finish(takeover, success, new Date()), true);
    assert.equal((await store.getArtworkById(artwork.id))?.status, 'succeeded');
    assert.equal(await otherQueue.finish(takeover, success, new Date()), false, 'completes at most once');
    assert.equal(await queue.depth(), 0);
  });

  test('finishing writes exactly one pending webhook delivery', async () => {
    const { queue, store, artwork } = await setup();
    const job = await queue.claim(Date.now(), 10_000);
    assert.ok(job);
    await queue.finish(job, success, new Date());
    const due = await store.claimDueDeliveries(Date.now() + 1, 60_000, 10);
    assert.equal(due.length, 1);
    assert.equal(due[0]?.artworkId, artwork.id);
    assert.equal(due[0]?.url, 'https://example.com/hook');
    assert.equal((await store.claimDueDeliveries(Date.now() + 2, 60_000, 10)).length, 0, 'leased');
  });

  test('a job that keeps losing its worker fails after the attempt limit instead of looping', async () => {
    const { queue, store, artwork } = await setup();
    let now = Date.now();
    for (let i = 0; i < MAX_JOB_ATTEMPTS; i++) {
      assert.ok(await queue.claim(now, 1_000));
      now += 1_001;
    }
    assert.equal(await queue.claim(now, 1_000), null);
    const failed = await store.getArtworkById(artwork.id);
    assert.equal(failed?.status, 'failed');
    assert.equal(failed?.error?.code, 'WORKER_CRASHED');
  });

  test('cancel removes the job, so a running worker loses its lease', async () => {
    const { queue, store, artwork, org } = await setup();
    const job = await queue.claim(Date.now(), 10_000);
    assert.ok(job);
    assert.equal(await store.cancelArtwork(org.id, artwork.id, new Date()), 'canceled');
    assert.equal(await queue.renew(job, Date.now(), 10_000), false);
    assert.equal(await queue.finish(job, success, new Date()), false);
    assert.equal((await store.getArtworkById(artwork.id))?.status, 'canceled');
    assert.equal(await store.cancelArtwork(org.id, artwork.id, new Date()), 'already-final');
    assert.equal(await store.cancelArtwork('other-org', artwork.id, new Date()), 'not-found');
  });

  test('release gives a job back without spending an attempt', async () => {
    const { queue } = await setup();
    const job = await queue.claim(Date.now(), 60_000);
    assert.ok(job);
    await queue.release(job);
    const again = await queue.claim(Date.now(), 60_000);
    assert.equal(again?.attempts, 1);
  });
});
