import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { ApiClient } from './helpers/api.js';
import { S3_TEST_CREDENTIALS, TEST_DATABASE_URL, TEST_S3_ENDPOINT, freshPostgresSchema } from './helpers/backends.js';
import { LoopbackServer } from './helpers/loopback.js';
import { fixture } from './helpers/paths.js';
import { ADMIN_KEY, ServiceProcess, tempDataDir } from './helpers/service.js';

const skip = !TEST_DATABASE_URL ? 'TEST_DATABASE_URL is not set' : !TEST_S3_ENDPOINT ? 'TEST_S3_ENDPOINT is not set' : undefined;
if (skip) process.stdout.write(`scale-out test skipped: ${skip}\n`);

const ARTWORKS = 200;

describe('scaled out: 2 API processes and 2 workers on PostgreSQL and S3', { skip }, () => {
  const outside = new LoopbackServer();
  const processes: ServiceProcess[] = [];
  let env: Record<string, string>;

  before(async () => {
    await outside.start();
    const small = await sharp(fs.readFileSync(fixture('faces/astronaut.png'))).resize(192).png().toBuffer();
    outside.route('/small.png', (_req, res) => res.writeHead(200).end(small));
    outside.route('/hook', (_req, res) => res.writeHead(200).end());
    const bucket = `fr-${randomUUID().slice(0, 8)}`;
    const s3 = new S3Client({ endpoint: TEST_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: S3_TEST_CREDENTIALS });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    s3.destroy();
    env = {
      DATABASE_URL: await freshPostgresSchema(),
      S3_ENDPOINT: TEST_S3_ENDPOINT as string,
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
      JOB_LEASE_SECONDS: '3',
      WORKER_CONCURRENCY: '1',
      // this test is about throughput and crashes, not about the per-organization limits
      MAX_UNFINISHED_ARTWORKS: '1000',
      RATE_LIMIT_PER_MINUTE: '100000',
    };
  });
  after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await outside.stop();
  });

  test(`${ARTWORKS} artworks through both APIs, one worker SIGKILLed mid-run: all succeed, each completed once`, async () => {
    const start = async (args: string[]): Promise<ServiceProcess> => {
      const p = new ServiceProcess(tempDataDir('scale'), env, args);
      processes.push(p);
      await p.start();
      return p;
    };
    const apiA = new ApiClient((await start(['serve', '--no-worker'])).url, ADMIN_KEY);
    const apiB = new ApiClient((await start(['serve', '--no-worker'])).url, ADMIN_KEY);
    const doomed = await start(['worker']);
    await start(['worker']);

    const started = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < ARTWORKS; i++) {
      const api = i % 2 === 0 ? apiA : apiB;
      const created = await api.create({ imageUrl: `${outside.url}/small.png`, webhook: `${outside.url}/hook` });
      assert.equal(created.status, 202, JSON.stringify(created.body));
      ids.push((created.body as { id: string }).id);
    }
    // kill one worker once the run is well under way
    const finished = async (): Promise<number> =>
      ((await apiA.request('GET', '/v2/artworks?limit=500')).body as Array<{ status: string }>).filter(
        (a) => a.status === 'succeeded',
      ).length;
    while ((await finished()) < ARTWORKS / 4) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(await doomed.kill('SIGKILL'), null);

    const deadline = Date.now() + 240_000;
    let list: Array<{ id: string; status: string; results: string[] }> = [];
    for (;;) {
      list = (await apiB.request('GET', '/v2/artworks?limit=500')).body;
      if (list.every((a) => a.status === 'succeeded' || a.status === 'failed')) break;
      assert.ok(Date.now() < deadline, `not finished: ${list.filter((a) => a.status !== 'succeeded').length} left`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const seconds = (Date.now() - started) / 1000;
    assert.equal(list.length, ARTWORKS);
    assert.deepEqual(list.filter((a) => a.status !== 'succeeded').map((a) => a.id), []);
    // any API process answers for any artwork; results are presigned object-storage URLs
    const sample = (await apiA.get(ids[1] as string)).body as { results: string[] };
    assert.match(sample.results[0] ?? '', /X-Amz-Signature=/);
    assert.equal((await fetch(sample.results[0] as string)).status, 200);

    // one completion per artwork = one webhook delivery id per artwork (a delivery may be retried, same id)
    await outside.waitFor((received) => new Set(received.filter((r) => r.url === '/hook').map((r) => JSON.parse(r.body.toString()).id)).size >= ARTWORKS, 60_000);
    const deliveryIds = new Map<string, Set<string>>();
    for (const r of outside.received.filter((x) => x.url === '/hook')) {
      const artworkId = (JSON.parse(r.body.toString()) as { id: string }).id;
      const set = deliveryIds.get(artworkId) ?? new Set<string>();
      set.add(String(r.headers['webhook-id']));
      deliveryIds.set(artworkId, set);
    }
    assert.equal(deliveryIds.size, ARTWORKS);
    assert.ok([...deliveryIds.values()].every((set) => set.size === 1), 'an artwork was completed twice');
    process.stdout.write(`scale-out: ${ARTWORKS} artworks in ${seconds.toFixed(1)} s with one worker killed\n`);
  });
});
