import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { ApiClient } from './helpers/api.js';
import { S3_TEST_CREDENTIALS, TEST_DATABASE_URL, freshPostgresSchema } from './helpers/backends.js';
import { LoopbackServer } from './helpers/loopback.js';
import { ADMIN_KEY, ServiceProcess, freePort, tempDataDir } from './helpers/service.js';

// s3rver ships no types; only its constructor, run and close are used
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: Record<string, unknown>) => {
  run(): Promise<unknown>;
  close(): Promise<void>;
};

const skip = TEST_DATABASE_URL ? undefined : 'TEST_DATABASE_URL is not set';
if (skip) process.stdout.write(`storage outage test skipped: ${skip}\n`);

describe('a worker whose object storage is down', { skip }, () => {
  const outside = new LoopbackServer();
  const processes: ServiceProcess[] = [];
  let storage: { close(): Promise<void> } | undefined;
  before(() => outside.start());
  after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await storage?.close();
    await outside.stop();
  });

  test('gives its job back, backs off, and finishes it once the storage is back', async () => {
    const port = await freePort();
    const env = {
      DATABASE_URL: await freshPostgresSchema(),
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_BUCKET: 'outage',
      S3_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
      WORKER_CONCURRENCY: '1',
    };
    const api = new ServiceProcess(tempDataDir('outage-api'), env, ['serve', '--no-worker']);
    const worker = new ServiceProcess(tempDataDir('outage-worker'), env, ['worker']);
    processes.push(api, worker);
    const client = new ApiClient(await api.start(), ADMIN_KEY);
    await worker.start();
    const created = await client.create({ imageUrl: `${outside.url}/fixtures/faces/astronaut.png` });
    const id = (created.body as { id: string }).id;
    // nothing listens on the storage port yet: the worker must give the job back, not fail it
    const deadline = Date.now() + 20_000;
    while (!worker.output.includes('job given back: storage unreachable')) {
      assert.ok(Date.now() < deadline, `worker never reported the outage:\n${worker.output.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const during = (await client.get(id)).body as { status: string };
    assert.notEqual(during.status, 'failed');
    const server = new S3rver({
      port,
      address: '127.0.0.1',
      silent: true,
      directory: tempDataDir('outage-s3'),
      configureBuckets: [{ name: 'outage' }],
    });
    await server.run();
    storage = server;
    const done = await client.waitForStatus(id, ['succeeded', 'failed'], 60_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.equal((await fetch(done.results[0])).status, 200);
  });
});
