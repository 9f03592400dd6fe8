import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiClient, assertErrorBody } from './helpers/api.js';
import { LoopbackServer } from './helpers/loopback.js';
import { fixture } from './helpers/paths.js';
import { sendHeadOnly, sendHeadUntil } from './helpers/raw-http.js';
import { ADMIN_KEY, ServiceProcess, runCli, tempDataDir } from './helpers/service.js';

/**
 * The attacks of issue 10, each against the real service on loopback: a key of low scope, or none, and a
 * second organization. The API runs without workers (nothing here needs a refined image), so it starts fast.
 */
const grace = fs.readFileSync(fixture('faces/grace-hopper.jpg'));
const outside = new LoopbackServer();
const dataDir = tempDataDir('hardening');
const MAX_IMAGE_BYTES = 2_000_000;
const service = new ServiceProcess(
  dataDir,
  {
    REQUEST_TIMEOUT_MS: '1500',
    HEADERS_TIMEOUT_MS: '1500',
    MAX_IMAGE_BYTES: String(MAX_IMAGE_BYTES),
    // room for two uploads of the test image, not three
    UPLOAD_QUOTA_BYTES: String(grace.length * 2 + 1000),
    UPLOADS_IN_FLIGHT: '2',
    WEBHOOK_TIMEOUT_MS: '8000',
    WEBHOOK_RETRY_DELAYS_MS: '600000',
    RETENTION_SWEEP_SECONDS: '1',
  },
  ['serve', '--no-worker'],
);
/** A file an interrupted blob write left behind two hours ago, and one being written right now. */
const orphan = path.join(dataDir, 'blobs', 'uploads', 'interrupted', 'image.00000000-0000-4000-8000-000000000000.tmp');
const fresh = path.join(dataDir, 'blobs', 'uploads', 'writing', 'image.00000000-0000-4000-8000-000000000001.tmp');

let operator: ApiClient;
let generator: ApiClient;
let orgA: string;
let orgB: { organizationId: string; secret: string };
let adminB: ApiClient;

before(async () => {
  fs.mkdirSync(path.dirname(orphan), { recursive: true });
  fs.mkdirSync(path.dirname(fresh), { recursive: true });
  fs.writeFileSync(orphan, 'half an image');
  fs.writeFileSync(fresh, 'half an image');
  const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
  fs.utimesSync(orphan, twoHoursAgo, twoHoursAgo);
  await outside.start();
  outside.route('/hook/ok', (_req, res) => res.writeHead(200).end());
  outside.route('/hook/hang', () => {
    // never answers: the receiver of a slow organization
  });
  operator = new ApiClient(await service.start(), ADMIN_KEY);
  orgA = ((await operator.request('GET', '/v2/me')).body as { organizationId: string }).organizationId;
  const created = await operator.request('POST', `/v2/organizations/${orgA}/api-keys`, { name: 'gen', scope: 'generator' });
  generator = operator.withKey((created.body as { secret: string }).secret);
  const b = await operator.request('POST', '/v2/organizations', { name: 'tenant b' });
  assert.equal(b.status, 201, JSON.stringify(b.body));
  orgB = b.body as { organizationId: string; secret: string };
  adminB = operator.withKey(orgB.secret);
});
/** The admin key of a new organization: its upload quota untouched by the other tests. */
async function freshOrganizationKey(name: string): Promise<string> {
  const created = await operator.request('POST', '/v2/organizations', { name });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return (created.body as { secret: string }).secret;
}
after(async () => {
  await service.stop();
  await outside.stop();
});

const imageUrl = () => `${outside.url}/fixtures/faces/grace-hopper.jpg`;

describe('one request cannot freeze the server (High)', () => {
  test('a non-JSON body on a JSON route is a short 415, however large', async () => {
    const response = await generator.request('POST', '/v2/artworks/face-refiner', Buffer.alloc(8_000_000, 1).toString('latin1'), {
      'content-type': 'application/octet-stream',
    });
    assertErrorBody(response, 415, /Expected Content-Type application\/json but received "application\/octet-stream"/);
    assert.ok(JSON.stringify(response.body).length < 500);
    for (const type of ['image/png', 'text/plain', 'application/x-www-form-urlencoded']) {
      assertErrorBody(await generator.request('POST', '/v2/artworks/face-refiner', '{}', { 'content-type': type }), 415);
    }
    assert.equal((await fetch(`${service.url}/healthz`)).status, 200);
  });

  test('an empty body is no body, whatever its Content-Type (as fetch sends on POST .../cancel)', async () => {
    const created = (await generator.create({ imageUrl: imageUrl() })).body as { id: string };
    const canceled = await generator.request('POST', `/v2/artworks/${created.id}/cancel`, '', { 'content-type': 'text/plain;charset=UTF-8' });
    assert.equal(canceled.status, 200, JSON.stringify(canceled.body));
  });

  test("413 names the route's own limit: 64 KiB for JSON, MAX_IMAGE_BYTES for uploads", async () => {
    const json = await generator.request('POST', '/v2/artworks/face-refiner', JSON.stringify({ imageUrl: 'x'.repeat(70_000) }));
    assertErrorBody(json, 413, /larger than the accepted 65536 bytes/);
    const upload = await generator.request('POST', '/v2/uploads', Buffer.alloc(MAX_IMAGE_BYTES + 1, 1).toString('latin1'), {
      'content-type': 'image/png',
    });
    assertErrorBody(upload, 413, new RegExp(`larger than the accepted ${MAX_IMAGE_BYTES} bytes`));
  });

  test('without a key, the 401 comes before the body: the announced 30 MiB are never sent', async () => {
    for (const route of ['/v2/uploads', '/v2/artworks/face-refiner']) {
      const head = `POST ${route} HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 31457280\r\n\r\n`;
      const response = await sendHeadUntil(service.url, head, '"statusCode":401', 5_000);
      assert.match(response, /^HTTP\/1\.1 401 /, `${route}: ${response.slice(0, 200)}`);
      assert.match(response, /connection: close/i, 'the unread body is not worth receiving');
    }
  });

  test('error messages are capped in count and length whatever the input', async () => {
    const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`p${i}`, 0]));
    const response = await generator.create({ imageUrl: imageUrl(), ...many });
    assertErrorBody(response, 400, /property p0 should not exist/);
    const messages = (response.body as { message: string[] }).message;
    assert.ok(messages.length <= 21, `${messages.length} messages`);
    assert.match(messages.at(-1) ?? '', /and \d+ more problems/);
    const long = await generator.create({ imageUrl: imageUrl(), model: 'm'.repeat(30_000) });
    assertErrorBody(long, 400);
    assert.ok(JSON.stringify(long.body).length < 1000, 'a long value is not echoed whole');
  });
});

describe('malformed input is a 400 that names it (Medium, Low)', () => {
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

  test('5,000 nested arrays, as the body or a field, on every JSON route, with or without Idempotency-Key', async () => {
    const routes = [
      '/v2/artworks/face-refiner',
      `/v2/organizations/${orgA}/credits`,
      `/v2/organizations/${orgA}/limits`,
      `/v2/organizations/${orgA}/api-keys`,
    ];
    for (const route of routes) {
      for (const body of [deep(5000), `{"imageUrl":${deep(5000)}}`, `{"name":${deep(5000)}}`]) {
        for (const headers of [{}, { 'idempotency-key': 'deep-1' }] as Array<Record<string, string>>) {
          const response = await operator.request('POST', route, body, headers);
          assertErrorBody(response, 400, /nested at most 32 levels/);
        }
      }
    }
    assert.equal((await fetch(`${service.url}/healthz`)).status, 200);
  });

  test('imageUrl with NUL, a lone surrogate or invalid UTF-8 is refused; webhook with a leading space too', async () => {
    for (const body of ['{"imageUrl":"https://example.com/a\\u0000.png"}', '{"imageUrl":"https://example.com/\\ud800.png"}']) {
      assertErrorBody(await generator.create(body), 400, /imageUrl must be an absolute http or https URL/);
    }
    const invalidUtf8 = Buffer.concat([Buffer.from('{"imageUrl":"https://example.com/'), Buffer.from([0xff, 0xfe]), Buffer.from('.png"}')]);
    const response = await fetch(`${service.url}/v2/artworks/face-refiner`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: invalidUtf8,
    });
    assert.equal(response.status, 400);
    assertErrorBody(await generator.create({ imageUrl: imageUrl(), webhook: ` ${outside.url}/hook/ok` }), 400, /webhook must be/);
  });

  test("Fastify's own errors are in the error shape with the security headers and a request id", async () => {
    const badUrl = await fetch(`${service.url}/v2/artworks/%E0%A4%A`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    const body = (await badUrl.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['error', 'message', 'statusCode']);
    assert.equal(badUrl.status, 400);
    assert.equal(badUrl.headers.get('x-content-type-options'), 'nosniff');
    assert.match(badUrl.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const head = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    const tooBig = await sendHeadOnly(service.url, head, 5_000);
    assert.match(tooBig.response, /^HTTP\/1\.1 431 /);
    assert.match(tooBig.response, /x-content-type-options: nosniff/);
    assert.match(tooBig.response, /x-request-id: [0-9a-f-]{36}/);
    assert.match(tooBig.response, /\{"message":"Request headers are larger than the server accepts","statusCode":431,"error":"Request Header Fields Too Large"\}$/);
  });

  test('the upload route says what it accepts, and takes image types with parameters in any case', async () => {
    const json = await generator.request('POST', '/v2/uploads', '{}');
    assertErrorBody(json, 415, /Expected Content-Type image\/\* or application\/octet-stream/);
    const upper = await fetch(`${service.url}/v2/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'IMAGE/JPEG; charset=x' },
      body: grace,
    });
    assert.equal(upper.status, 201, await upper.clone().text());
  });

  test('a client X-Request-Id is kept only when short and safe', async () => {
    const safe = await fetch(`${service.url}/healthz`, { headers: { 'x-request-id': 'client-id.42' } });
    assert.equal(safe.headers.get('x-request-id'), 'client-id.42');
    for (const unsafe of ['<script>', 'a'.repeat(200), 'id with spaces']) {
      const response = await fetch(`${service.url}/healthz`, { headers: { 'x-request-id': unsafe } });
      assert.match(response.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, unsafe);
    }
  });

  test('query strings reach the log only with known-safe parameters', async () => {
    await generator.request('GET', '/v2/artworks?limit=1&token=sekrit-in-query');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.match(service.output, /"url":"\/v2\/artworks\?limit=1"/);
    assert.equal(service.output.includes('sekrit-in-query'), false);
  });

  test("a request's log lines name its own caller's organization and key, never another request's", async () => {
    const lines = async (send: () => Promise<Response>) => {
      const response = await send();
      const id = response.headers.get('x-request-id');
      await new Promise((resolve) => setTimeout(resolve, 200));
      return service.output
        .split('\n')
        .filter((line) => line.includes(`"reqId":"${id}"`))
        .map((line) => JSON.parse(line) as { orgId?: string; keyId?: string });
    };
    const meOf = async (key: string) => (await operator.withKey(key).request('GET', '/v2/me')).body as { organizationId: string; keyId: string };
    const [a, b] = [await meOf(generator.apiKey ?? ''), await meOf(orgB.secret)];
    const auth = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
    for (const [key, me] of [[generator.apiKey ?? '', a], [orgB.secret, b]] as const) {
      const logged = await lines(() => fetch(`${service.url}/v2/artworks?limit=1`, auth(key)));
      assert.ok(logged.some((line) => line.orgId !== undefined), 'the completed request is logged with its caller');
      for (const line of logged.filter((l) => l.orgId !== undefined)) assert.deepEqual([line.orgId, line.keyId], [me.organizationId, me.keyId]);
    }
    const anonymous = await lines(() => fetch(`${service.url}/healthz`));
    assert.ok(anonymous.length > 0);
    assert.ok(anonymous.every((line) => line.orgId === undefined && line.keyId === undefined), 'no caller carried over');
  });
});

describe('slow clients are closed (Medium)', () => {
  test('headers and a Content-Length, then nothing: closed with a 408 after REQUEST_TIMEOUT_MS', async () => {
    const head = `POST /v2/artworks/face-refiner HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`;
    const exchange = await sendHeadOnly(service.url, head, 10_000);
    assert.equal(exchange.closed, true, 'the server closed the connection');
    assert.match(exchange.response, /^HTTP\/1\.1 408 /);
    assert.match(exchange.response, /did not arrive within the server request timeout/);
  });
});

describe('tenants do not control their own limits; keys are listed and revoked (Medium)', () => {
  test("an organization's admin may not change its credits or limits; the operator may", async () => {
    const me = (await adminB.request('GET', '/v2/me')).body as { scope: string; organizationId: string };
    assert.equal(me.scope, 'admin');
    assertErrorBody(await adminB.request('POST', `/v2/organizations/${orgB.organizationId}/credits`, { unlimited: true }), 403, /needs operator/);
    const limits = { rateLimitPerMinute: 1_000_000, maxUnfinishedArtworks: 1_000_000 };
    assertErrorBody(await adminB.request('POST', `/v2/organizations/${orgB.organizationId}/limits`, limits), 403, /needs operator/);
    assertErrorBody(await adminB.request('POST', '/v2/organizations', { name: 'mine' }), 403, /needs operator/);
    const granted = await operator.request('POST', `/v2/organizations/${orgB.organizationId}/credits`, { add: 5 });
    assert.equal(granted.status, 200);
    assert.equal((granted.body as { credits: number }).credits, 5);
    assert.equal(((await adminB.request('GET', '/v2/me')).body as { credits: number }).credits, 5);
    assertErrorBody(await adminB.request('POST', `/v2/organizations/${orgB.organizationId}/api-keys`, { name: 'x', scope: 'operator' }), 400);
    assertErrorBody(await operator.request('POST', '/v2/organizations/00000000-0000-4000-8000-000000000000/credits', { add: 1 }), 404);
  });

  test('an admin lists its keys (never secrets) and revokes one: refused at once', async () => {
    const created = await adminB.request('POST', `/v2/organizations/${orgB.organizationId}/api-keys`, { name: 'ci', scope: 'generator' });
    const key = created.body as { id: string; secret: string };
    const ci = adminB.withKey(key.secret);
    assert.equal((await ci.request('GET', '/v2/artworks')).status, 200);
    const listed = await adminB.request('GET', `/v2/organizations/${orgB.organizationId}/api-keys`);
    assert.equal(listed.status, 200);
    const keys = listed.body as Array<Record<string, unknown>>;
    assert.deepEqual(keys.map((k) => k.name).sort(), ['admin', 'ci']);
    assert.ok(keys.every((k) => !('secret' in k) && !JSON.stringify(k).includes(key.secret)));
    assert.ok(keys.find((k) => k.id === key.id)?.lastUsedAt, 'last use is recorded');
    assertErrorBody(await adminB.request('GET', `/v2/organizations/${orgA}/api-keys`), 404);
    assertErrorBody(await adminB.request('DELETE', `/v2/organizations/${orgA}/api-keys/${key.id}`), 404);
    assertErrorBody(await ci.request('GET', `/v2/organizations/${orgB.organizationId}/api-keys`), 403);
    const revoked = await adminB.request('DELETE', `/v2/organizations/${orgB.organizationId}/api-keys/${key.id}`);
    assert.equal(revoked.status, 200);
    assert.ok((revoked.body as { revokedAt: string | null }).revokedAt);
    assertErrorBody(await ci.request('GET', '/v2/artworks'), 401, /revoked/);
  });

  test("a key cannot revoke a key of higher scope: an admin of the operator's organization cannot revoke the operator key", async () => {
    const created = await operator.request('POST', `/v2/organizations/${orgA}/api-keys`, { name: 'admin a', scope: 'admin' });
    const adminA = operator.withKey((created.body as { secret: string }).secret);
    const operatorKeyId = ((await operator.request('GET', '/v2/me')).body as { keyId: string }).keyId;
    const refused = await adminA.request('DELETE', `/v2/organizations/${orgA}/api-keys/${operatorKeyId}`);
    assertErrorBody(refused, 403, /Expected scope operator or higher to revoke a key of scope operator but this API key has scope admin/);
    assert.equal((await operator.request('GET', '/v2/me')).status, 200, 'the operator key still works');
    const listed = (await operator.request('GET', `/v2/organizations/${orgA}/api-keys`)).body as Array<{ id: string; revokedAt: string | null }>;
    assert.equal(listed.find((k) => k.id === operatorKeyId)?.revokedAt, null);
    // equal or lower scope may be revoked: an admin replaces a leaked admin key
    const other = await operator.request('POST', `/v2/organizations/${orgA}/api-keys`, { name: 'admin a2', scope: 'admin' });
    const otherId = (other.body as { id: string }).id;
    assert.equal((await adminA.request('DELETE', `/v2/organizations/${orgA}/api-keys/${otherId}`)).status, 200);
    assertErrorBody(await adminA.request('DELETE', `/v2/organizations/${orgA}/api-keys/00000000-0000-4000-8000-000000000000`), 404);
  });

  test("an organization's rate limit is one bucket shared by all its keys: more keys do not raise it", async () => {
    const c = (await operator.request('POST', '/v2/organizations', { name: 'tenant c' })).body as { organizationId: string; secret: string };
    // 4 a minute: one token back every 15 s, far longer than the 8 requests below take
    const limits = { rateLimitPerMinute: 4, maxUnfinishedArtworks: null };
    assert.equal((await operator.request('POST', `/v2/organizations/${c.organizationId}/limits`, limits)).status, 200);
    const adminC = operator.withKey(c.secret);
    const keys = [adminC];
    for (const name of ['second', 'third']) {
      const created = await adminC.request('POST', `/v2/organizations/${c.organizationId}/api-keys`, { name, scope: 'generator' });
      keys.push(adminC.withKey((created.body as { secret: string }).secret));
    }
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) {
      const response = await (keys[i % keys.length] as ApiClient).request('GET', '/v2/me');
      assert.equal(response.headers.get('ratelimit-policy'), '"per-organization";q=4;w=60');
      statuses.push(response.status);
    }
    // the two key creations spent two of the four tokens
    assert.deepEqual(statuses, [200, 200, 429, 429, 429, 429, 429, 429, 429]);
    assert.equal((await operator.request('GET', '/v2/me')).status, 200, "another organization's bucket is its own");
  });

  test('keys list and revoke on the command line; the running API refuses the key at once', async () => {
    const created = await adminB.request('POST', `/v2/organizations/${orgB.organizationId}/api-keys`, { name: 'cli-victim', scope: 'manager' });
    const key = created.body as { id: string; secret: string };
    const list = runCli(['keys', 'list', '--org', orgB.organizationId], { DATA_DIR: dataDir });
    assert.equal(list.status, 0, list.stderr);
    const lines = list.stdout.trim().split('\n').map((line) => JSON.parse(line) as { id: string; name: string });
    assert.ok(lines.some((k) => k.id === key.id && k.name === 'cli-victim'));
    assert.equal(list.stdout.includes(key.secret), false);
    assert.equal((await adminB.withKey(key.secret).request('GET', '/v2/me')).status, 200);
    const revoke = runCli(['keys', 'revoke', '--org', orgB.organizationId, key.id], { DATA_DIR: dataDir });
    assert.equal(revoke.status, 0, revoke.stderr);
    assertErrorBody(await adminB.withKey(key.secret).request('GET', '/v2/me'), 401);
    const missing = runCli(['keys', 'revoke', '--org', orgB.organizationId, '00000000-0000-4000-8000-000000000000'], { DATA_DIR: dataDir });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /not found/);
  });
});

describe('uploads (Medium, Low)', () => {
  test("count against the organization's quota, and are usable only by the organization that uploaded them", async () => {
    const upload = () =>
      fetch(`${service.url}/v2/uploads`, {
        method: 'POST',
        headers: { authorization: `Bearer ${orgB.secret}`, 'content-type': 'image/jpeg' },
        body: grace,
      });
    const first = await upload();
    assert.equal(first.status, 201);
    const { url } = (await first.json()) as { url: string };
    assert.equal((await upload()).status, 201);
    const third = await upload();
    assert.equal(third.status, 403);
    assert.match(((await third.json()) as { message: string }).message, /exceed its quota of \d+ bytes/);
    assertErrorBody(await generator.create({ imageUrl: url }), 400, /upload that this organization does not have/);
    assert.equal((await adminB.create({ imageUrl: url })).status, 202);
  });

  test('a declared Content-Length over the quota is refused on the headers, before the body is sent', async () => {
    const quota = grace.length * 2 + 1000;
    const key = generator.apiKey ?? '';
    const head = `POST /v2/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: image/jpeg\r\nContent-Length: ${quota + 1}\r\n\r\n`;
    const response = await sendHeadUntil(service.url, head, '"statusCode":403', 5_000);
    assert.match(response, /^HTTP\/1\.1 403 /, response.slice(0, 300));
    assert.match(response, /exceed its quota of \d+ bytes/);
    assert.match(response, /connection: close/i, 'the body is not received');
  });

  test('at most UPLOADS_IN_FLIGHT bodies are received at once: the next is a 503 with Retry-After before its body', async () => {
    const key = generator.apiKey ?? '';
    const headOf = (apiKey: string) =>
      `POST /v2/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${apiKey}\r\nContent-Type: image/jpeg\r\nContent-Length: ${grace.length}\r\n\r\n`;
    const head = headOf(key);
    // two clients of two organizations (each may hold half the slots) announce a body and stall: they hold both
    // slots until REQUEST_TIMEOUT_MS closes them
    const stalled = [sendHeadOnly(service.url, head, 10_000), sendHeadOnly(service.url, headOf(await freshOrganizationKey('stall')), 10_000)];
    await new Promise((resolve) => setTimeout(resolve, 500));
    const third = await sendHeadUntil(service.url, head, '"statusCode":503', 5_000);
    assert.match(third, /^HTTP\/1\.1 503 /, third.slice(0, 300));
    assert.match(third, /retry-after: 2\r\n/i);
    assert.match(third, /already receives 2 uploads at once/);
    for (const exchange of await Promise.all(stalled)) assert.match(exchange.response, /^HTTP\/1\.1 408 /);
    // the stalled bodies gave their slots back: the server sees their sockets close just after the clients do
    const upload = () =>
      fetch(`${service.url}/v2/uploads`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'image/jpeg' }, body: grace });
    let answer = await upload();
    for (const deadline = Date.now() + 5_000; answer.status === 503 && Date.now() < deadline; answer = await upload()) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(answer.status, 201, await answer.text());
  });

  test("one organization holds at most half the upload slots: its next body is a 429, another organization's is taken", async () => {
    const key = await freshOrganizationKey('share');
    const head = `POST /v2/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: image/jpeg\r\nContent-Length: ${grace.length}\r\n\r\n`;
    const stalled = sendHeadOnly(service.url, head, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const second = await sendHeadUntil(service.url, head, '"statusCode":429', 5_000);
    assert.match(second, /^HTTP\/1\.1 429 /, second.slice(0, 300));
    assert.match(second, /retry-after: 2\r\n/i);
    assert.match(second, /This organization already sends its share of this server's uploads at once \(1\)/);
    const other = await fetch(`${service.url}/v2/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await freshOrganizationKey('other')}`, 'content-type': 'image/jpeg' },
      body: grace,
    });
    assert.equal(other.status, 201, await other.text());
    assert.match((await stalled).response, /^HTTP\/1\.1 408 /);
  });

  test('files under DATA_DIR are owner-only; an orphaned temporary file is swept, a fresh one kept', async () => {
    const mode = (file: string) => fs.statSync(file).mode & 0o777;
    assert.equal(mode(dataDir), 0o700);
    for (const file of ['face-refiner.db', 'face-refiner.db-wal', 'rate-limits.db']) assert.equal(mode(path.join(dataDir, file)), 0o600, file);
    const uploads = fs.readdirSync(path.join(dataDir, 'blobs', 'uploads'), { recursive: true, withFileTypes: true });
    const image = uploads.find((entry) => entry.isFile() && entry.name === 'image');
    assert.ok(image);
    assert.equal(mode(path.join(image.parentPath, image.name)), 0o600);
    const deadline = Date.now() + 10_000;
    while (fs.existsSync(orphan) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(fs.existsSync(orphan), false, 'swept');
    assert.equal(fs.existsSync(fresh), true, 'a write in progress is left alone');
  });
});

describe('webhooks (Medium)', () => {
  test("one organization's hanging receiver does not delay another organization's webhook", async () => {
    const slow: string[] = [];
    for (let i = 0; i < 6; i++) {
      const created = await operator.create({ imageUrl: imageUrl(), webhook: `${outside.url}/hook/hang` });
      const id = (created.body as { id: string }).id;
      assert.equal((await operator.request('POST', `/v2/artworks/${id}/cancel`)).status, 200);
      slow.push(id);
    }
    await outside.waitFor((received) => received.filter((r) => r.url === '/hook/hang').length >= 4);
    const quick = (await adminB.create({ imageUrl: imageUrl(), webhook: `${outside.url}/hook/ok` })).body as { id: string };
    assert.equal((await adminB.request('POST', `/v2/artworks/${quick.id}/cancel`)).status, 200);
    await outside.waitFor((received) => received.some((r) => r.url === '/hook/ok' && r.body.includes(quick.id)), 20_000);
    // delivered while every attempt of the hanging organization is still waiting for its 8 s timeout
    for (const id of slow) assert.deepEqual((await operator.request('GET', `/v2/artworks/${id}/webhook-deliveries`)).body, [], id);
    assert.ok(outside.received.filter((r) => r.url === '/hook/hang').length <= 4, "the hanging organization holds only its own 4 slots");
  });
});

describe('start-up refuses what cannot work, and says why (Low)', () => {
  test('BOOTSTRAP_API_KEY must be a usable key', () => {
    for (const bad of ['a', 'a key with spaces in it that is long enough']) {
      const result = runCli(['migrate'], { DATA_DIR: tempDataDir('bootstrap'), BOOTSTRAP_API_KEY: bad });
      assert.equal(result.status, 2);
      assert.match(result.stderr, /Expected 32 to 256 letters, digits or \._~\+\/=- for BOOTSTRAP_API_KEY/);
    }
  });

  test('a corrupt database or rate-limit file is named, with what to do', () => {
    for (const [file, remedy] of [
      ['face-refiner.db', /restore it from a backup/],
      ['rate-limits.db', /only holds rate-limit buckets: delete it/],
    ] as const) {
      const dir = tempDataDir('corrupt');
      if (file === 'rate-limits.db') assert.equal(runCli(['migrate'], { DATA_DIR: dir }).status, 0);
      fs.writeFileSync(path.join(dir, file), 'this is not a database, it is a text file long enough to look like one'.repeat(100));
      const result = runCli(['migrate'], { DATA_DIR: dir });
      assert.equal(result.status, 1);
      assert.ok(result.stderr.includes(path.join(dir, file)), result.stderr);
      assert.match(result.stderr, remedy);
      assert.equal(/\n\s+at /.test(result.stderr), false, 'no stack trace');
    }
  });
});

describe('a crash does not strand an Idempotency-Key (Medium)', () => {
  test('SIGKILL during a Prefer: wait create: after restart the key replays the stored artwork, created once', async () => {
    const crashing = new ServiceProcess(tempDataDir('idempotency-crash'), {}, ['serve', '--no-worker']);
    try {
      let api = new ApiClient(await crashing.start(), ADMIN_KEY);
      const body = { imageUrl: 'https://example.com/never-fetched.png' };
      const headers = { 'idempotency-key': 'crash-1', prefer: 'wait=2' };
      const first = api.request('POST', '/v2/artworks/face-refiner', body, headers).catch((error: unknown) => error);
      // no worker runs, so the request waits its 2 s: the artwork is stored (and charged) while it does
      let stored: Array<{ id: string }> = [];
      while (stored.length === 0) stored = (await api.request('GET', '/v2/artworks')).body as Array<{ id: string }>;
      assert.equal(await crashing.kill('SIGKILL'), null);
      assert.ok((await first) instanceof Error, 'the first client never got its answer');

      api = new ApiClient(await crashing.start(), ADMIN_KEY);
      let retry = await api.request('POST', '/v2/artworks/face-refiner', body, { 'idempotency-key': 'crash-1' });
      const deadline = Date.now() + 20_000;
      while (retry.status === 409 && Date.now() < deadline) {
        // held for the first request's wait plus a margin: it might still be running on another process
        await new Promise((resolve) => setTimeout(resolve, 500));
        retry = await api.request('POST', '/v2/artworks/face-refiner', body, { 'idempotency-key': 'crash-1' });
      }
      assert.equal(retry.status, 202, JSON.stringify(retry.body));
      assert.equal((retry.body as { id: string }).id, stored[0]?.id);
      assert.equal(retry.headers.get('idempotent-replayed'), 'true');
      const again = await api.request('POST', '/v2/artworks/face-refiner', body, { 'idempotency-key': 'crash-1' });
      assert.equal((again.body as { id: string }).id, stored[0]?.id);
      assert.equal(((await api.request('GET', '/v2/artworks')).body as unknown[]).length, 1, 'created once');
    } finally {
      await crashing.stop();
    }
  });
});
