import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { ApiClient, assertErrorBody } from './helpers/api.js';
import { LoopbackServer } from './helpers/loopback.js';
import { fixture } from './helpers/paths.js';
import { countChanged, decodePixels, nearBox } from './helpers/pixels.js';
import { ADMIN_KEY, ServiceProcess, tempDataDir } from './helpers/service.js';

const service = new ServiceProcess(tempDataDir('lifecycle'));
const outside = new LoopbackServer();
let api: ApiClient;
let orgId: string;

before(async () => {
  await outside.start();
  // An image server that answers after a delay, to hold a job in `processing` past the first lease renewal
  // (JOB_LEASE_SECONDS / 3 = 3.3 s): the refinement after it takes well under a second now.
  outside.route('/slow/astronaut.png', async (_req, res) => {
    await new Promise((resolve) => setTimeout(resolve, 6000));
    res.writeHead(200, { 'content-type': 'image/png' }).end(fs.readFileSync(fixture('faces/astronaut.png')));
  });
  outside.route('/not-an-image.png', (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' }).end('<html><body>hello</body></html>');
  });
  outside.route('/hook', (_req, res) => {
    res.writeHead(204).end();
  });
  api = new ApiClient(await service.start(), ADMIN_KEY);
  orgId = ((await api.request('GET', '/v2/me')).body as { organizationId: string }).organizationId;
});
after(async () => {
  await service.stop();
  await outside.stop();
});

const url = (path: string): string => `${outside.url}${path}`;

async function fetchResult(resultUrl: string): Promise<{ status: number; type: string | null; body: Buffer }> {
  const response = await fetch(resultUrl);
  return { status: response.status, type: response.headers.get('content-type'), body: Buffer.from(await response.arrayBuffer()) };
}

describe('an artwork from request to refined image', () => {
  test('succeeds; the face pixels change and nothing away from the face does', async () => {
    const created = await api.create({ imageUrl: url('/fixtures/faces/astronaut.png'), outputFormat: 'png' });
    assert.equal(created.status, 202);
    const done = await api.waitForStatus((created.body as { id: string }).id, ['succeeded', 'failed']);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.equal(done.faces.length, 1);
    assert.ok(done.duration > 0 && done.duration < 60, `duration ${done.duration}`);
    assert.ok(done.startedAt && done.completedAt);
    assert.equal(done.results.length, 1);
    assert.ok(done.results[0].startsWith(`${api.baseUrl}/v2/artworks/${done.id}/results/0?`));

    // the signed URL works without the API key
    const result = await fetchResult(done.results[0]);
    assert.equal(result.status, 200);
    assert.equal(result.type, 'image/png');
    const before = await decodePixels(fixture('faces/astronaut.png'));
    const afterPixels = await decodePixels(result.body);
    assert.equal(afterPixels.width, before.width);
    assert.equal(afterPixels.height, before.height);
    const box = done.faces[0].box as [number, number, number, number];
    const changed = countChanged(before, afterPixels, nearBox(box, 2));
    assert.equal(changed.outside, 0, `pixels changed away from the face: ${changed.outside}`);
    const [, , width, height] = box;
    assert.ok(changed.inside > width * height * 0.3, `only ${changed.inside} face pixels changed`);
  });

  test('a tampered or expired result URL is refused', async () => {
    const created = await api.create({ imageUrl: url('/fixtures/faces/grace-hopper.jpg') });
    const done = await api.waitForStatus((created.body as { id: string }).id, ['succeeded', 'failed']);
    assert.equal(done.status, 'succeeded');
    const signed = new URL(done.results[0]);
    const tampered = new URL(signed);
    tampered.searchParams.set('signature', `${signed.searchParams.get('signature')?.slice(0, -2)}xx`);
    assert.equal((await fetchResult(tampered.href)).status, 403);
    const expired = new URL(signed);
    expired.searchParams.set('expires', '1000');
    assert.equal((await fetchResult(expired.href)).status, 403);
    const other = new URL(signed.href.replace(`/results/0?`, `/results/1?`));
    assert.equal((await fetchResult(other.href)).status, 403);
    // with the API key instead of a signature
    const withKey = await api.request('GET', `/v2/artworks/${done.id}/results/0`);
    assert.equal(withKey.status, 200);
    assert.equal(withKey.headers.get('content-type'), 'image/webp');
  });

  test('default output is WebP of the same size', async () => {
    const created = await api.create({ imageUrl: url('/fixtures/faces/grace-hopper.jpg'), denoising: 1 });
    const done = await api.waitForStatus((created.body as { id: string }).id, ['succeeded', 'failed']);
    const result = await fetchResult(done.results[0]);
    assert.equal(result.type, 'image/webp');
    const pixels = await decodePixels(result.body);
    assert.deepEqual([pixels.width, pixels.height], [512, 600]);
  });

  test('an image without a face succeeds unchanged, with faces: []', async () => {
    const created = await api.create({ imageUrl: url('/fixtures/negatives/coffee.png'), outputFormat: 'png' });
    const done = await api.waitForStatus((created.body as { id: string }).id, ['succeeded', 'failed']);
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(done.faces, []);
    const result = await fetchResult(done.results[0]);
    const changed = countChanged(await decodePixels(fixture('negatives/coffee.png')), await decodePixels(result.body), () => false);
    assert.equal(changed.outside, 0);
  });

  test('an unreachable or non-image URL fails with an error that says why', async () => {
    const missing = await api.create({ imageUrl: url('/fixtures/nope.png') });
    const failed = await api.waitForStatus((missing.body as { id: string }).id, ['succeeded', 'failed']);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'FETCH_HTTP_STATUS');
    assert.match(failed.error.message, /404/);
    assert.deepEqual(failed.results, []);

    const html = await api.create({ imageUrl: url('/not-an-image.png') });
    const notImage = await api.waitForStatus((html.body as { id: string }).id, ['succeeded', 'failed']);
    assert.equal(notImage.status, 'failed');
    assert.equal(notImage.error.code, 'NOT_AN_IMAGE');
  });
});

describe('cancel', () => {
  test('stops a processing artwork; it stays canceled; a second cancel is 409', async () => {
    const created = await api.create({ imageUrl: url('/slow/astronaut.png') });
    const id = (created.body as { id: string }).id;
    await api.waitForStatus(id, ['processing']);
    const canceled = await api.request('POST', `/v2/artworks/${id}/cancel`);
    assert.equal(canceled.status, 200);
    assert.equal((canceled.body as { status: string }).status, 'canceled');
    // the running job notices (its lease renewal fails) and stops, rather than finishing after the slow image
    await service.waitForOutput(new RegExp(`"artworkId":"${id}"[^\n]*"msg":"job stopped: canceled or lease lost"`));
    const later = await api.get(id);
    assert.equal((later.body as { status: string }).status, 'canceled');
    assert.deepEqual((later.body as { results: unknown[] }).results, []);
    assertErrorBody(await api.request('POST', `/v2/artworks/${id}/cancel`), 409, /already canceled/);
  });

  test('a finished artwork cannot be canceled (409)', async () => {
    const created = await api.create({ imageUrl: url('/fixtures/negatives/coffee.png') });
    const id = (created.body as { id: string }).id;
    await api.waitForStatus(id, ['succeeded']);
    assertErrorBody(await api.request('POST', `/v2/artworks/${id}/cancel`, ''), 409, /already succeeded/);
  });
});

describe('webhook', () => {
  test('the final artwork is POSTed to the webhook, signed with the organization secret', async () => {
    const rotated = await api.request('POST', `/v2/organizations/${orgId}/webhook-secret`);
    assert.equal(rotated.status, 200);
    const secret = (rotated.body as { secret: string }).secret;
    assert.match(secret, /^whsec_/);
    const created = await api.create({ imageUrl: url('/fixtures/faces/astronaut.png'), webhook: url('/hook') });
    const id = (created.body as { id: string }).id;
    await outside.waitFor((received) => received.some((r) => r.url === '/hook' && r.body.includes(id)));
    const delivery = outside.received.find((r) => r.url === '/hook' && r.body.includes(id));
    assert.ok(delivery);
    assert.equal(delivery.method, 'POST');
    const payload = new Webhook(secret).verify(delivery.body.toString(), delivery.headers as Record<string, string>) as {
      id: string;
      status: string;
      results: string[];
    };
    assert.equal(payload.id, id);
    assert.equal(payload.status, 'succeeded');
    assert.equal(payload.results.length, 1);
    const attempts = await api.request('GET', `/v2/artworks/${id}/webhook-deliveries`);
    assert.equal(attempts.status, 200);
    assert.equal((attempts.body as Array<{ statusCode: number }>)[0]?.statusCode, 204);
  });
});
