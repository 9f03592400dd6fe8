import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import sharp from 'sharp';
import { ApiClient } from './helpers/api.js';
import { TEST_DATABASE_URL, freshPostgresSchema } from './helpers/backends.js';
import { LoopbackServer } from './helpers/loopback.js';
import { fixture } from './helpers/paths.js';
import { ADMIN_KEY, ServiceProcess, tempDataDir } from './helpers/service.js';

const skip = TEST_DATABASE_URL ? undefined : 'TEST_DATABASE_URL is not set';
if (skip) process.stdout.write(`job wake-up test skipped: ${skip}\n`);

/**
 * The worker's polls, while listening or not, are this far apart, and each job below must be picked up in half
 * of it after the worker (re)started listening: only the announcement can explain the pickup.
 */
const POLL_MS = 120_000;
const PICKED_UP_WITHIN_MS = POLL_MS / 2;
const PICKED_UP = ['processing', 'succeeded', 'failed'];

const LISTENING = '"msg":"listening for new jobs"';

describe('a worker process on PostgreSQL is woken by jobs another process creates (LISTEN/NOTIFY)', { skip }, () => {
  const images = new LoopbackServer();
  const processes: ServiceProcess[] = [];
  // names the worker's connections in pg_stat_activity, so the test can cut its listening one
  const workerName = `fr-test-worker-${randomUUID().slice(0, 8)}`;
  let api: ApiClient;
  let worker: ServiceProcess;
  let imageUrl: string;

  before(async () => {
    await images.start();
    const small = await sharp(fs.readFileSync(fixture('faces/astronaut.png'))).resize(192).png().toBuffer();
    images.route('/small.png', (_req, res) => res.writeHead(200).end(small));
    imageUrl = `${images.url}/small.png`;
    const databaseUrl = await freshPostgresSchema();
    const workerUrl = new URL(databaseUrl);
    workerUrl.searchParams.set('application_name', workerName);
    // one blob directory for both: the worker reads what the API stored and writes what it serves
    const dataDir = tempDataDir('wakeup');
    const env = { JOB_POLL_MS: String(POLL_MS), JOB_POLL_LISTENING_MS: String(POLL_MS), WORKER_CONCURRENCY: '1' };
    const apiProcess = new ServiceProcess(dataDir, { ...env, DATABASE_URL: databaseUrl }, ['serve', '--no-worker']);
    worker = new ServiceProcess(dataDir, { ...env, DATABASE_URL: workerUrl.href }, ['worker']);
    processes.push(apiProcess, worker);
    await apiProcess.start();
    await worker.start();
    api = new ApiClient(apiProcess.url, ADMIN_KEY);
  });
  after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await images.stop();
  });

  const listened = (): number => worker.output.split(LISTENING).length - 1;

  async function createAndSeePickedUp(): Promise<string> {
    const created = await api.create({ imageUrl });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const { id } = created.body as { id: string };
    await api.waitForStatus(id, PICKED_UP, PICKED_UP_WITHIN_MS);
    return id;
  }

  test('a job created through the API process is claimed by the worker process without waiting for its poll', async () => {
    await worker.waitForOutput(/"msg":"listening for new jobs"/);
    const id = await createAndSeePickedUp();
    const done = (await api.waitForStatus(id, ['succeeded', 'failed'])) as { status: string; error: unknown };
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  });

  test('a listening connection cut by the server (pg_terminate_backend) is opened again, and announced jobs are still picked up', async () => {
    const before = listened();
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    try {
      const cut = await admin.query(
        "SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN %'",
        [workerName],
      );
      assert.deepEqual(cut.rows, [{ cut: true }]);
    } finally {
      await admin.end();
    }
    await worker.waitForOutput(/job listener lost its connection/);
    const deadline = Date.now() + 60_000;
    while (listened() === before) {
      assert.ok(Date.now() < deadline, `the worker did not listen again:\n${worker.output.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const id = await createAndSeePickedUp();
    const done = (await api.waitForStatus(id, ['succeeded', 'failed'])) as { status: string; error: unknown };
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  });
});
