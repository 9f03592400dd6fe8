import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import sharp from 'sharp';
import { Webhook } from 'standardwebhooks';
import { ApiClient, assertErrorBody } from './helpers/api.js';
import { pngClaiming } from './helpers/images.js';
import { LoopbackServer } from './helpers/loopback.js';
import { fixture } from './helpers/paths.js';
import { ADMIN_KEY, ServiceProcess, tempDataDir } from './helpers/service.js';

const outside = new LoopbackServer();
const service = new ServiceProcess(tempDataDir('hostile'), {
  MAX_IMAGE_BYTES: '2000000',
  MAX_IMAGE_PIXELS: '40000000',
  FETCH_TIMEOUT_MS: '2000',
  WEBHOOK_TIMEOUT_MS: '1000',
  WEBHOOK_RETRY_DELAYS_MS: '200,300,400',
});
let api: ApiClient;
let orgId: string;
const astronaut = fs.readFileSync(fixture('faces/astronaut.png'));
const grace = fs.readFileSync(fixture('faces/grace-hopper.jpg'));

/** Every image format a user may send, made from the same portrait. */
const FORMATS: Record<string, () => Promise<Buffer>> = {
  'progressive JPEG': () => sharp(astronaut).jpeg({ progressive: true }).toBuffer(),
  'CMYK JPEG': () => sharp(astronaut).toColourspace('cmyk').jpeg().toBuffer(),
  'EXIF-rotated JPEG': () => sharp(astronaut).rotate(90).jpeg().withMetadata({ orientation: 8 }).toBuffer(),
  '16-bit PNG': () => sharp(astronaut).toColourspace('rgb16').png().toBuffer(),
  'palette PNG': () => sharp(astronaut).png({ palette: true }).toBuffer(),
  'PNG with alpha': () => sharp(astronaut).ensureAlpha(0.8).png().toBuffer(),
  'grayscale PNG': () => sharp(astronaut).grayscale().png().toBuffer(),
  WebP: () => sharp(astronaut).webp().toBuffer(),
  AVIF: () => sharp(astronaut).avif({ quality: 60 }).toBuffer(),
  TIFF: () => sharp(astronaut).tiff().toBuffer(),
  'GIF (first frame)': () => sharp(astronaut).gif().toBuffer(),
};

const HOSTILE_IMAGES: Array<[string, () => Promise<Buffer> | Buffer, string, string]> = [
  ['a 100000x100000 PNG header', () => pngClaiming(100_000, 100_000), 'image/png', 'IMAGE_TOO_MANY_PIXELS'],
  ['a 1000000x1 PNG header', () => pngClaiming(1_000_000, 1), 'image/png', 'IMAGE_TOO_ELONGATED'],
  [
    'a 21:1 strip of a portrait',
    () => sharp(astronaut).resize(840, 40, { fit: 'fill' }).png().toBuffer(),
    'image/png',
    'IMAGE_TOO_ELONGATED',
  ],
  ['a truncated JPEG', () => grace.subarray(0, grace.length / 2), 'image/jpeg', 'IMAGE_DECODE_FAILED'],
  ['HTML served as image/png', () => Buffer.from('<!doctype html><html><body>hi</body></html>'), 'image/png', 'NOT_AN_IMAGE'],
  [
    'an SVG',
    () => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="30"/></svg>'),
    'image/svg+xml',
    'UNSUPPORTED_IMAGE_FORMAT',
  ],
  ['empty bytes', () => Buffer.alloc(0), 'image/png', 'NOT_AN_IMAGE'],
  ['a body over MAX_IMAGE_BYTES', () => Buffer.alloc(2_500_000, 7), 'image/png', 'FETCH_TOO_LARGE'],
];

let failingHookCalls = 0;
let thinStrip: Buffer;

before(async () => {
  await outside.start();
  for (const [name, make] of Object.entries(FORMATS)) {
    const bytes = await make();
    outside.route(`/format/${encodeURIComponent(name)}`, (_req, res) => res.writeHead(200).end(bytes));
  }
  HOSTILE_IMAGES.forEach(([, make, type], i) => {
    outside.route(`/hostile/${i}`, async (_req, res) => res.writeHead(200, { 'content-type': type }).end(await make()));
  });
  thinStrip = await sharp(astronaut).resize(460, 23, { fit: 'fill' }).png().toBuffer();
  outside.route('/thin-strip', (_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(thinStrip));
  outside.route('/trickle', (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/jpeg' });
    const timer = setInterval(() => res.write('x'), 1000);
    res.on('close', () => clearInterval(timer));
  });
  outside.route('/loop', (_req, res) => res.writeHead(302, { location: '/loop' }).end());
  outside.route('/hook/ok', (_req, res) => res.writeHead(200).end());
  outside.route('/hook/fails-twice', (_req, res) => {
    failingHookCalls++;
    res.writeHead(failingHookCalls <= 2 ? 500 : 200).end();
  });
  outside.route('/hook/redirects', (_req, res) => res.writeHead(302, { location: '/hook/ok' }).end());
  outside.route('/hook/silent', () => {
    // never answers
  });
  api = new ApiClient(await service.start(), ADMIN_KEY);
  orgId = ((await api.request('GET', '/v2/me')).body as { organizationId: string }).organizationId;
});
after(async () => {
  await service.stop();
  await outside.stop();
});

async function finalOf(imageUrl: string, extra: Record<string, unknown> = {}): Promise<any> {
  const created = await api.create({ imageUrl, ...extra });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  return api.waitForStatus((created.body as { id: string }).id, ['succeeded', 'failed', 'canceled'], 30_000);
}

describe('every kind of image decodes', () => {
  for (const name of Object.keys(FORMATS)) {
    test(`${name}: succeeds with the face found, same size`, async () => {
      const done = await finalOf(`${outside.url}/format/${encodeURIComponent(name)}`, { outputFormat: 'png' });
      assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
      assert.equal(done.faces.length, 1);
      const result = Buffer.from(await (await fetch(done.results[0])).arrayBuffer());
      const meta = await sharp(result).metadata();
      assert.deepEqual([meta.width, meta.height], [512, 512]);
    });
  }
});

describe('hostile and faulty images fail with an error that says why', () => {
  HOSTILE_IMAGES.forEach(([name, , , code], i) => {
    test(`${name}: ${code}`, async () => {
      const done = await finalOf(`${outside.url}/hostile/${i}`);
      assert.equal(done.status, 'failed');
      assert.equal(done.error.code, code, done.error.message);
      assert.ok(done.error.message.length > 10);
    });
  });
  test('a strip thinner than the smallest face: succeeds with no face, its pixels unchanged', async () => {
    const done = await finalOf(`${outside.url}/thin-strip`, { outputFormat: 'png' });
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.deepEqual(done.faces, []);
    const result = Buffer.from(await (await fetch(done.results[0])).arrayBuffer());
    const [input, output] = await Promise.all([thinStrip, result].map((bytes) => sharp(bytes).removeAlpha().raw().toBuffer()));
    assert.ok(input && output && input.equals(output), 'the output has the input pixels');
  });
  test('a server that trickles a byte a second: FETCH_TIMEOUT', async () => {
    const done = await finalOf(`${outside.url}/trickle`);
    assert.equal(done.error.code, 'FETCH_TIMEOUT');
  });
  test('a redirect loop: FETCH_TOO_MANY_REDIRECTS', async () => {
    const done = await finalOf(`${outside.url}/loop`);
    assert.equal(done.error.code, 'FETCH_TOO_MANY_REDIRECTS');
  });
});

describe('webhook deliveries', () => {
  type Attempt = { statusCode: number | null; error: string | null; deliveryId: string };
  const attemptsOf = async (id: string): Promise<Attempt[]> =>
    (await api.request('GET', `/v2/artworks/${id}/webhook-deliveries`)).body;
  /** The artwork's delivery attempts once there are at least `count` (or all there are after 10 s). */
  const awaitAttempts = async (id: string, count: number): Promise<Attempt[]> => {
    const deadline = Date.now() + 10_000;
    let attempts = await attemptsOf(id);
    while (attempts.length < count && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      attempts = await attemptsOf(id);
    }
    return attempts;
  };

  test('a receiver that fails twice then succeeds gets the artwork once more each time, with the same id', async () => {
    const done = await finalOf(`${outside.url}/format/WebP`, { webhook: `${outside.url}/hook/fails-twice` });
    await outside.waitFor((r) => r.filter((x) => x.url === '/hook/fails-twice' && x.body.includes(done.id)).length >= 3);
    const calls = outside.received.filter((x) => x.url === '/hook/fails-twice' && x.body.includes(done.id));
    assert.equal(new Set(calls.map((c) => c.headers['webhook-id'])).size, 1);
    // the 200 is recorded with the delivery marked delivered: from then on no attempt can follow
    const attempts = await awaitAttempts(done.id, 3);
    assert.deepEqual(attempts.map((a) => a.statusCode), [500, 500, 200]);
    assert.equal(outside.received.filter((x) => x.url === '/hook/fails-twice' && x.body.includes(done.id)).length, 3);
  });

  test('a redirecting receiver is not followed: each attempt fails, retries run out', async () => {
    const done = await finalOf(`${outside.url}/format/WebP`, { webhook: `${outside.url}/hook/redirects` });
    const attempts = await awaitAttempts(done.id, 4);
    assert.equal(attempts.length, 4, 'first attempt and three retries');
    assert.ok(attempts.every((a) => a.statusCode === 302));
    assert.equal(outside.received.filter((x) => x.url === '/hook/ok' && x.body.includes(done.id)).length, 0);
  });

  test('a receiver that never answers times out and is retried', async () => {
    const done = await finalOf(`${outside.url}/format/WebP`, { webhook: `${outside.url}/hook/silent` });
    const attempts = await awaitAttempts(done.id, 2);
    assert.ok(attempts.length >= 2);
    assert.equal(attempts[0]?.statusCode, null);
    assert.match(attempts[0]?.error ?? '', /timeout|abort/i);
  });

  test('after a rotation, deliveries verify with the new secret and, for the grace period, the old one', async () => {
    const first = (await api.request('POST', `/v2/organizations/${orgId}/webhook-secret`)).body as { secret: string };
    const second = (await api.request('POST', `/v2/organizations/${orgId}/webhook-secret`)).body as {
      secret: string;
      previousSecretValidUntil: string;
    };
    assert.ok(Date.parse(second.previousSecretValidUntil) > Date.now());
    const done = await finalOf(`${outside.url}/format/WebP`, { webhook: `${outside.url}/hook/ok` });
    await outside.waitFor((r) => r.some((x) => x.url === '/hook/ok' && x.body.includes(done.id)));
    const delivery = outside.received.find((x) => x.url === '/hook/ok' && x.body.includes(done.id));
    assert.ok(delivery);
    const headers = delivery.headers as Record<string, string>;
    for (const secret of [first.secret, second.secret]) {
      assert.equal((new Webhook(secret).verify(delivery.body.toString(), headers) as { id: string }).id, done.id);
    }
    assert.throws(() => new Webhook('whsec_' + Buffer.alloc(32, 1).toString('base64')).verify(delivery.body.toString(), headers));
  });
});

describe('malformed requests never get a 500', () => {
  test('deep nesting, huge strings, invalid UTF-8, wrong content types', async () => {
    const deep = `{"imageUrl":${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
    assert.ok([400, 413].includes((await api.create(deep)).status));
    assertErrorBody(await api.create({ imageUrl: 'x'.repeat(60_000) }), 400);
    const invalidUtf8 = Buffer.concat([Buffer.from('{"imageUrl":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
    const response = await fetch(`${api.baseUrl}/v2/artworks/face-refiner`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: invalidUtf8,
    });
    assert.equal(response.status, 400);
    for (const type of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x']) {
      const wrong = await api.request('POST', '/v2/artworks/face-refiner', '{}', { 'content-type': type });
      assert.ok([400, 415].includes(wrong.status), `${type}: ${wrong.status}`);
    }
    // each refusal is logged with its code from the catalogue (the body carries only the status)
    await service.waitForOutput(/"code":"VALIDATION_FAILED","statusCode":400,"msg":"request refused"/);
  });

  test('random JSON bodies always get a 202 or a 4xx in the error shape (property test)', async () => {
    const field = fc.constantFrom('imageUrl', 'model', 'denoising', 'webhook', 'seed', 'outputFormat', '__proto__', 'constructor', 'x');
    const body = fc.oneof(
      fc.jsonValue(),
      fc.dictionary(field, fc.jsonValue()),
      fc.record({ imageUrl: fc.oneof(fc.webUrl(), fc.string()), denoising: fc.oneof(fc.integer(), fc.double(), fc.string()) }),
    );
    await fc.assert(
      fc.asyncProperty(body, async (value) => {
        const response = await api.create(JSON.stringify(value));
        if (response.status === 202) return true;
        assert.ok(response.status >= 400 && response.status < 500, `status ${response.status} for ${JSON.stringify(value)}`);
        assertErrorBody(response, response.status);
        return true;
      }),
      { numRuns: 300 },
    );
    const health = await api.request('GET', '/healthz');
    assert.equal(health.status, 200, 'still up');
  });
});

describe('secrets stay out of the logs', () => {
  test('no API key, webhook secret or result signature appears in the service output', async () => {
    const done = await finalOf(`${outside.url}/format/WebP`);
    const signature = new URL(done.results[0]).searchParams.get('signature') ?? 'missing';
    assert.equal((await fetch(done.results[0])).status, 200);
    const rotated = await api.request('POST', `/v2/organizations/${orgId}/webhook-secret`);
    // the rotation's own log lines are written by the time its request is logged as completed
    const requestId = rotated.headers.get('x-request-id') ?? 'missing';
    await service.waitForOutput(new RegExp(`"reqId":"${requestId}"[^\n]*"msg":"request completed"`));
    for (const secret of [ADMIN_KEY, (rotated.body as { secret: string }).secret, signature]) {
      assert.equal(service.output.includes(secret), false, `a secret reached the log: ${secret.slice(0, 8)}...`);
    }
    assert.match(service.output, /"reqId":"[0-9a-f-]{36}"/);
  });
});
