import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { MODELS } from '../src/artworks/artwork.js';
import { FaceRefinerClient, FaceRefinerError } from '../src/client/index.js';
import { LoopbackServer } from './helpers/loopback.js';
import { fixture } from './helpers/paths.js';
import { ADMIN_KEY, ServiceProcess, runCli, tempDataDir } from './helpers/service.js';

const outside = new LoopbackServer();
const service = new ServiceProcess(tempDataDir('production'));
let client: FaceRefinerClient;
let orgId: string;
let imageUrl: string;
let slowUrl: string;

before(async () => {
  await outside.start();
  const photo = fs.readFileSync(fixture('faces/astronaut.png'));
  outside.route('/slow.png', async (_req, res) => {
    await new Promise((resolve) => setTimeout(resolve, 2500));
    res.writeHead(200).end(photo);
  });
  outside.route('/hook', (_req, res) => res.writeHead(200).end());
  imageUrl = `${outside.url}/fixtures/faces/astronaut.png`;
  slowUrl = `${outside.url}/slow.png`;
  const url = await service.start();
  client = new FaceRefinerClient({ baseUrl: url, apiKey: ADMIN_KEY });
  orgId = ((await (await fetch(`${url}/v2/me`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json()) as { organizationId: string }).organizationId;
});
after(async () => {
  await service.stop();
  await outside.stop();
});

const admin = async (path: string, body: unknown): Promise<Response> =>
  fetch(`${service.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

async function refused(promise: Promise<unknown>): Promise<FaceRefinerError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FaceRefinerError, String(error));
    return error;
  }
  assert.fail('expected an error answer');
}

describe('Prefer: wait', () => {
  test('the POST answers with the final artwork when it finishes in time', async () => {
    const done = await client.create({ imageUrl, outputFormat: 'png' }, { waitSeconds: 30 });
    assert.equal(done.status, 'succeeded');
    assert.equal(done.results.length, 1);
    assert.equal(done.faces?.length, 1);
  });

  test('out of range is a 400', async () => {
    const error = await refused(client.create({ imageUrl }, { waitSeconds: 61 }));
    assert.equal(error.status, 400);
    assert.match(error.message, /wait must be from 1 to 60/);
  });
});

describe('Idempotency-Key', () => {
  test('the same key and body replay the first answer: same artwork, no second job', async () => {
    const before = (await client.list({ limit: 500 })).length;
    const first = await client.create({ imageUrl, denoising: 2 }, { idempotencyKey: 'replay-1' });
    const again = await client.create({ imageUrl, denoising: 2 }, { idempotencyKey: 'replay-1' });
    assert.equal(again.id, first.id);
    // one artwork more in all, not two
    assert.equal((await client.list({ limit: 500 })).length, before + 1);
  });

  test('the same key with another body is a 422', async () => {
    await client.create({ imageUrl, denoising: 4 }, { idempotencyKey: 'mismatch-1' });
    const error = await refused(client.create({ imageUrl, denoising: 5 }, { idempotencyKey: 'mismatch-1' }));
    assert.equal(error.status, 422);
    assert.equal(error.body.error, 'Unprocessable Entity');
  });

  test('while the first request is still running, a retry is a 409', async () => {
    const fetchesBefore = outside.received.filter((r) => r.url === '/slow.png').length;
    const first = client.create({ imageUrl: slowUrl }, { idempotencyKey: 'in-flight-1', waitSeconds: 10 });
    // the first request is running once its job is fetching the (slow) image
    await outside.waitFor((received) => received.filter((r) => r.url === '/slow.png').length > fetchesBefore);
    const error = await refused(client.create({ imageUrl: slowUrl }, { idempotencyKey: 'in-flight-1' }));
    assert.equal(error.status, 409);
    const done = await first;
    assert.equal(done.status, 'succeeded');
    const replay = await client.create({ imageUrl: slowUrl }, { idempotencyKey: 'in-flight-1' });
    assert.equal(replay.id, done.id);
  });

  test('a refused request leaves nothing behind: the same key then works', async () => {
    await refused(client.create({ imageUrl: 'nope' }, { idempotencyKey: 'refused-1' }));
    const ok = await client.create({ imageUrl }, { idempotencyKey: 'refused-1' });
    assert.equal(ok.status, 'starting');
  });

  test('keys belong to one organization: another organization may use the same key', async () => {
    const mine = await client.create({ imageUrl, denoising: 1 }, { idempotencyKey: 'shared-1' });
    const cli = runCli(['orgs', 'create', '--name', 'other'], { DATA_DIR: service.dataDir });
    assert.equal(cli.status, 0, cli.stderr);
    const other = new FaceRefinerClient({ baseUrl: service.url, apiKey: (JSON.parse(cli.stdout) as { secret: string }).secret });
    const theirs = await other.create({ imageUrl, denoising: 1 }, { idempotencyKey: 'shared-1' });
    assert.notEqual(theirs.id, mine.id);
    assert.deepEqual((await other.list()).map((a) => a.id), [theirs.id]);
  });
});

describe('credits', () => {
  test('each artwork costs one; at zero the answer is a 403 that says so; an admin tops up', async () => {
    const topped = await admin(`/v2/organizations/${orgId}/credits`, { add: 2 });
    assert.equal(topped.status, 200);
    assert.equal(((await topped.json()) as { credits: number }).credits, 2);
    await client.create({ imageUrl });
    await client.create({ imageUrl });
    const error = await refused(client.create({ imageUrl }));
    assert.equal(error.status, 403);
    assert.match(error.message, /no credits left/);
    assert.equal((await admin(`/v2/organizations/${orgId}/credits`, { add: 0 })).status, 400);
    assert.equal((await admin(`/v2/organizations/${orgId}/credits`, { unlimited: true })).status, 200);
    await client.create({ imageUrl });
  });
});

describe('limits', () => {
  test('a cap on unfinished artworks per organization is a 429', async () => {
    assert.equal((await admin(`/v2/organizations/${orgId}/limits`, { rateLimitPerMinute: null, maxUnfinishedArtworks: 1 })).status, 200);
    // let earlier artworks finish so only the one below is unfinished
    for (const a of await client.list({ limit: 500 })) if (a.status === 'starting' || a.status === 'processing') await client.waitForCompletion(a.id, { pollMs: 100 });
    const slow = await client.create({ imageUrl: slowUrl });
    const error = await refused(client.create({ imageUrl }));
    assert.equal(error.status, 429);
    assert.ok((error.retryAfterSeconds ?? 0) >= 1);
    await client.waitForCompletion(slow.id, { pollMs: 100 });
    await client.create({ imageUrl });
    assert.equal((await admin(`/v2/organizations/${orgId}/limits`, { rateLimitPerMinute: null, maxUnfinishedArtworks: null })).status, 200);
  });

  test('over the organization rate limit: 429 with Retry-After and RateLimit headers; the bucket refills', async () => {
    // 60 a minute for this organization: the bucket holds 60 and refills one a second
    assert.equal((await admin(`/v2/organizations/${orgId}/limits`, { rateLimitPerMinute: 60, maxUnfinishedArtworks: null })).status, 200);
    let limited: Response | undefined;
    for (let i = 0; i < 70 && !limited; i++) {
      const response = await fetch(`${service.url}/v2/me`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      assert.equal(response.headers.get('ratelimit-policy'), '"per-organization";q=60;w=60');
      assert.match(response.headers.get('ratelimit') ?? '', /^"per-organization";r=\d+;t=\d+$/);
      if (response.status === 429) limited = response;
    }
    assert.ok(limited, 'no 429 within 70 requests');
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 2, `retry-after ${retryAfter}`);
    const body = (await limited.json()) as { statusCode: number; message: string };
    assert.equal(body.statusCode, 429);
    assert.match(body.message, /Rate limit of 60 requests a minute/);
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 100));
    const after = await fetch(`${service.url}/v2/me`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(after.status, 200);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal((await admin(`/v2/organizations/${orgId}/limits`, { rateLimitPerMinute: null, maxUnfinishedArtworks: null })).status, 200);
    // back at 600 a minute the bucket refills ten a second
    await new Promise((resolve) => setTimeout(resolve, 500));
  });
});

describe('observability and documentation', () => {
  test('/metrics exposes requests, latency, queue depth, job stages, faces and webhook outcomes after a job', async () => {
    const done = await client.create({ imageUrl, webhook: `${outside.url}/hook` }, { waitSeconds: 30 });
    assert.equal(done.status, 'succeeded');
    await outside.waitFor((r) => r.some((x) => x.url === '/hook' && x.body.includes(done.id)));
    // the delivery is counted once the dispatcher has the receiver's answer, a moment after the receiver saw it
    const delivered = /face_refiner_webhook_attempts_total\{outcome="delivered"\} [1-9]/;
    let text = '';
    for (const deadline = Date.now() + 10_000; !delivered.test(text) && Date.now() < deadline; ) {
      if (text) await new Promise((resolve) => setTimeout(resolve, 50));
      text = await (await fetch(`${service.url}/metrics`)).text();
    }
    for (const series of [
      /face_refiner_http_requests_total\{route="\/v2\/artworks\/face-refiner",method="POST",status="202"\} \d+/,
      /face_refiner_http_request_duration_seconds_bucket\{le="0.01",route="\/v2\/me",method="GET"\} \d+/,
      /face_refiner_queue_depth \d+/,
      /face_refiner_job_stage_seconds_count\{stage="fetch"\} [1-9]/,
      /face_refiner_job_stage_seconds_count\{stage="detect"\} [1-9]/,
      /face_refiner_job_stage_seconds_count\{stage="refine"\} [1-9]/,
      /face_refiner_job_stage_seconds_count\{stage="encode"\} [1-9]/,
      /face_refiner_faces_per_job_count [1-9]/,
      /face_refiner_jobs_total\{status="succeeded"\} [1-9]/,
      /face_refiner_webhook_attempts_total\{outcome="delivered"\} [1-9]/,
    ]) {
      assert.match(text, series);
    }
  });

  test('/openapi.json matches the contract: fields, enums, bounds; /docs serves the page', async () => {
    const doc = (await (await fetch(`${service.url}/openapi.json`)).json());
    assert.equal(doc.openapi, '3.1.0');
    const create = doc.components.schemas.CreateArtwork;
    assert.deepEqual(create.required, ['imageUrl']);
    assert.deepEqual(Object.keys(create.properties).sort(), ['denoising', 'imageUrl', 'model', 'outputFormat', 'seed', 'webhook']);
    assert.equal(create.additionalProperties, false);
    const anyOfValues = (property: any): unknown[] =>
      JSON.stringify(property).match(/"enum":\[[^\]]*\]/g)?.flatMap((m) => JSON.parse(`{${m}}`).enum) ?? [];
    assert.deepEqual(anyOfValues(create.properties.model), [...MODELS]);
    assert.match(JSON.stringify(create.properties.denoising), /"minimum":1/);
    assert.match(JSON.stringify(create.properties.denoising), /"maximum":5/);
    const artwork = doc.components.schemas.Artwork;
    assert.deepEqual(artwork.properties.status.enum, ['starting', 'processing', 'succeeded', 'failed', 'canceled']);
    assert.deepEqual(artwork.properties.artworkType.enum, ['face_refiner']);
    for (const path of ['/v2/artworks/face-refiner', '/v2/artworks', '/v2/artworks/{id}', '/v2/artworks/{id}/cancel']) {
      assert.ok(doc.paths[path], path);
    }
    assert.ok(doc.paths['/v2/artworks/face-refiner'].post.responses['429']);
    const page = await fetch(`${service.url}/docs`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /swagger/i);
  });
});
