import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { ApiClient } from './helpers/api.js';
import { LoopbackServer } from './helpers/loopback.js';
import { fixture } from './helpers/paths.js';
import { ADMIN_KEY, ServiceProcess, tempDataDir } from './helpers/service.js';

const outside = new LoopbackServer();
let slowRequests = 0;

before(async () => {
  await outside.start();
  outside.route('/slow/astronaut.png', async (_req, res) => {
    slowRequests++;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    res.writeHead(200, { 'content-type': 'image/png' }).end(fs.readFileSync(fixture('faces/astronaut.png')));
  });
  outside.route('/hook', (_req, res) => {
    res.writeHead(200).end('ok');
  });
  outside.route('/flaky-hook', (_req, res) => {
    res.writeHead(receiverUp ? 200 : 503).end();
  });
});
let receiverUp = false;
after(() => outside.stop());

const hooksFor = (id: string): number => outside.received.filter((r) => r.url === '/hook' && r.body.includes(id)).length;

describe('a process killed mid-job', () => {
  test('SIGKILL while processing, then restart: the job finishes once, nothing stuck', async () => {
    const dataDir = tempDataDir('sigkill');
    const env = { JOB_LEASE_SECONDS: '2' };
    const first = new ServiceProcess(dataDir, env);
    const api = new ApiClient(await first.start(), ADMIN_KEY);
    const created = await api.create({ imageUrl: `${outside.url}/slow/astronaut.png`, webhook: `${outside.url}/hook` });
    const id = (created.body as { id: string }).id;
    await api.waitForStatus(id, ['processing']);
    const before = slowRequests;
    assert.equal(await first.kill('SIGKILL'), null);

    const second = new ServiceProcess(dataDir, env);
    const api2 = new ApiClient(await second.start(), ADMIN_KEY);
    try {
      const stuck = await api2.get(id);
      assert.equal((stuck.body as { status: string }).status, 'processing');
      const done = await api2.waitForStatus(id, ['succeeded', 'failed'], 30_000);
      assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
      assert.equal(done.faces.length, 1);
      assert.ok(slowRequests > before, 'the restarted process fetched the image again');
      await outside.waitFor(() => hooksFor(id) >= 1);
      // Once the job row is gone nothing can complete the artwork again, and each completion writes its webhook
      // delivery in the same transaction: so the rows are final, with no waiting for a second one to show up.
      const db = new Database(path.join(dataDir, 'face-refiner.db'), { readonly: true });
      try {
        const count = (sql: string): unknown => db.prepare(sql).pluck().get(id);
        assert.equal(count('SELECT count(*) FROM jobs WHERE artwork_id = ?'), 0);
        assert.equal(count('SELECT count(*) FROM webhook_deliveries WHERE artwork_id = ?'), 1, 'completed exactly once');
      } finally {
        db.close();
      }
      assert.equal(hooksFor(id), 1, 'the webhook was sent exactly once');
      const list = await api2.request('GET', '/v2/artworks');
      assert.equal((list.body as Array<{ status: string }>).filter((a) => a.status === 'processing').length, 0);
    } finally {
      await second.stop();
    }
  });

  test('SIGTERM drains: the running job finishes before the process exits 0', async () => {
    const dataDir = tempDataDir('sigterm');
    const service = new ServiceProcess(dataDir);
    const api = new ApiClient(await service.start(), ADMIN_KEY);
    const created = await api.create({ imageUrl: `${outside.url}/slow/astronaut.png` });
    const id = (created.body as { id: string }).id;
    await api.waitForStatus(id, ['processing']);
    assert.equal(await service.kill('SIGTERM'), 0);
    const restarted = new ServiceProcess(dataDir);
    const api2 = new ApiClient(await restarted.start(), ADMIN_KEY);
    try {
      const artwork = await api2.get(id);
      assert.equal((artwork.body as { status: string }).status, 'succeeded');
    } finally {
      await restarted.stop();
    }
  });
});

describe('webhook deliveries survive a restart', () => {
  test('a delivery pending a retry when the process is killed is sent by the next process, same id', async () => {
    const dataDir = tempDataDir('pending-webhook');
    const env = { WEBHOOK_RETRY_DELAYS_MS: '2000,2000' };
    const first = new ServiceProcess(dataDir, env);
    const api = new ApiClient(await first.start(), ADMIN_KEY);
    const created = await api.create({ imageUrl: `${outside.url}/fixtures/faces/astronaut.png`, webhook: `${outside.url}/flaky-hook` });
    const id = (created.body as { id: string }).id;
    const calls = () => outside.received.filter((r) => r.url === '/flaky-hook' && r.body.includes(id));
    await outside.waitFor(() => calls().length >= 1);
    // wait until the failed attempt is on record (a crash before that only means the attempt is made again)
    const deadline = Date.now() + 10_000;
    while (((await api.request('GET', `/v2/artworks/${id}/webhook-deliveries`)).body as unknown[]).length < 1) {
      assert.ok(Date.now() < deadline, 'first attempt recorded');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await first.kill('SIGKILL');
    receiverUp = true;
    const second = new ServiceProcess(dataDir, env);
    const api2 = new ApiClient(await second.start(), ADMIN_KEY);
    try {
      await outside.waitFor(() => calls().length >= 2);
      const [failed, delivered] = calls();
      assert.equal(failed?.headers['webhook-id'], delivered?.headers['webhook-id']);
      const attempts = (await api2.request('GET', `/v2/artworks/${id}/webhook-deliveries`)).body as Array<{ statusCode: number }>;
      assert.deepEqual(attempts.map((a) => a.statusCode), [503, 200]);
    } finally {
      await second.stop();
    }
  });
});

describe('retention', () => {
  test('an artwork past RETENTION_DAYS is deleted with its files; GET is then 404', async () => {
    const dataDir = tempDataDir('retention');
    // 0.00005 days is 4.3 s
    const service = new ServiceProcess(dataDir, { RETENTION_DAYS: '0.00005', RETENTION_SWEEP_SECONDS: '0.5' });
    const api = new ApiClient(await service.start(), ADMIN_KEY);
    try {
      const created = await api.create({ imageUrl: `${outside.url}/fixtures/faces/astronaut.png` });
      const id = (created.body as { id: string }).id;
      const done = await api.waitForStatus(id, ['succeeded']);
      const blobDir = path.join(dataDir, 'blobs', 'artworks', id);
      assert.ok(fs.existsSync(blobDir), 'result stored');
      assert.equal((await fetch(done.results[0])).status, 200);
      const deadline = Date.now() + 15_000;
      while ((await api.get(id)).status !== 404) {
        assert.ok(Date.now() < deadline, 'artwork not deleted within 15 s');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.equal(fs.existsSync(blobDir), false, 'files deleted');
      assert.notEqual((await fetch(done.results[0])).status, 200);
    } finally {
      await service.stop();
    }
  });
});
