import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertErrorBody, type ApiClient } from './helpers/api.js';
import { InProcessApi } from './helpers/in-process.js';
import { runCli, tempDataDir } from './helpers/service.js';

// The HTTP contract alone: no worker runs, so no image is ever fetched from this URL.
const imageUrl = 'https://images.example/astronaut.png';
const dataDir = tempDataDir('contract');
const service = new InProcessApi(dataDir);
let api: ApiClient;

before(async () => {
  api = await service.start();
});
after(() => service.stop());

describe('POST /v2/artworks/face-refiner', () => {
  test('202 with the published artwork shape and defaults filled in', async () => {
    const response = await api.create({ imageUrl });
    assert.equal(response.status, 202);
    const body = response.body as Record<string, any>;
    assert.match(body.id, /^[0-9a-f-]{36}$/);
    assert.equal(body.artworkType, 'face_refiner');
    assert.deepEqual(body.parameters, {
      imageUrl,
      model: 'tengrai-20231128-m-d.safetensors',
      denoising: 3,
      outputFormat: 'auto',
    });
    assert.equal(body.duration, 0);
    assert.deepEqual(body.results, []);
    assert.equal(body.status, 'starting');
    assert.ok(!Number.isNaN(Date.parse(body.createdAt)));
    assert.equal(response.headers.get('location'), `/v2/artworks/${body.id}`);
  });

  test('echoes every given field', async () => {
    const given = {
      imageUrl,
      model: 'tengrai-20240423-m-f.safetensors',
      denoising: 5,
      webhook: 'https://example.com/hook',
      seed: 42,
      outputFormat: 'png',
    };
    const response = await api.create(given);
    assert.equal(response.status, 202);
    assert.deepEqual((response.body as { parameters: unknown }).parameters, given);
  });

  test('null optional fields count as not given', async () => {
    const response = await api.create({ imageUrl, model: null, denoising: null, webhook: null, seed: null });
    assert.equal(response.status, 202);
    assert.deepEqual((response.body as { parameters: unknown }).parameters, {
      imageUrl,
      model: 'tengrai-20231128-m-d.safetensors',
      denoising: 3,
      outputFormat: 'auto',
    });
  });

  const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
    ['missing imageUrl', {}, /imageUrl must be an absolute http or https URL.*required/],
    ['imageUrl not a URL', { imageUrl: 'not a url' }, /imageUrl must be an absolute http or https URL/],
    ['imageUrl ftp', { imageUrl: 'ftp://example.com/a.png' }, /imageUrl must be an absolute http or https URL/],
    ['imageUrl relative', { imageUrl: '/a.png' }, /imageUrl must be/],
    ['imageUrl a number', { imageUrl: 5 }, /imageUrl must be/],
    ['imageUrl huge', { imageUrl: `https://example.com/${'a'.repeat(5000)}` }, /imageUrl must be/],
    ['unknown model', { model: 'sdxl' }, /model must be one of the following values: tengrai-20231128-m-d.safetensors, tengrai-20240423-m-f.safetensors/],
    ['denoising 0', { denoising: 0 }, /denoising must be an integer between 1 and 5 \(received 0\)/],
    ['denoising 6', { denoising: 6 }, /denoising must be an integer between 1 and 5/],
    ['denoising 2.5', { denoising: 2.5 }, /denoising must be an integer between 1 and 5/],
    ['denoising string', { denoising: '3' }, /denoising must be an integer between 1 and 5/],
    ['webhook not a URL', { webhook: 'nope' }, /webhook must be an absolute http or https URL/],
    ['seed 0', { seed: 0 }, /seed must be an integer between 1 and 2147483647/],
    ['seed too big', { seed: 2147483648 }, /seed must be an integer/],
    ['outputFormat gif', { outputFormat: 'gif' }, /outputFormat must be one of the following values: auto, png, webp, jpeg/],
    ['unknown field', { prompt: 'x' }, /property prompt should not exist/],
  ];
  for (const [name, fields, pattern] of invalid) {
    test(`400 for ${name}`, async () => {
      const body = name === 'missing imageUrl' ? fields : { imageUrl, ...fields };
      assertErrorBody(await api.create(body), 400, pattern);
    });
  }

  test('several wrong fields give an array naming each', async () => {
    const response = await api.create({ imageUrl: 'x', denoising: 9, extra: true });
    assertErrorBody(response, 400);
    const messages = (response.body as { message: string[] }).message;
    assert.ok(Array.isArray(messages));
    assert.equal(messages.length, 3);
    assert.ok(messages.some((m) => m.startsWith('imageUrl')));
    assert.ok(messages.some((m) => m.startsWith('denoising')));
    assert.ok(messages.some((m) => m === 'property extra should not exist'));
  });

  test('400 for malformed JSON, a non-object body, and a missing body', async () => {
    assertErrorBody(await api.create('{"imageUrl":'), 400, /Malformed JSON/);
    assertErrorBody(await api.create('[1,2]'), 400, /Expected a JSON object/);
    assertErrorBody(await api.request('POST', '/v2/artworks/face-refiner'), 400, /Expected a JSON object/);
  });

  test('415 for a body that is not JSON', async () => {
    const response = await api.request('POST', '/v2/artworks/face-refiner', 'imageUrl=x', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    assertErrorBody(response, 415);
  });

  test('413 for a body over the limit', async () => {
    assertErrorBody(await api.create({ imageUrl, pad: 'x'.repeat(200_000) }), 413);
  });

  test('400, not 500, for __proto__ and constructor keys', async () => {
    assertErrorBody(await api.create(`{"imageUrl":"${imageUrl}","__proto__":{"admin":true}}`), 400);
    assertErrorBody(await api.create(`{"imageUrl":"${imageUrl}","constructor":{"prototype":{}}}`), 400);
  });
});

describe('authentication and scopes', () => {
  test('401 without Authorization, with a non-Bearer scheme, with an unknown key', async () => {
    assertErrorBody(await api.withKey(undefined).create({ imageUrl }), 401, /Missing Authorization/);
    const basic = await api.withKey(undefined).request('GET', '/v2/artworks', undefined, { authorization: 'Basic abc' });
    assertErrorBody(basic, 401, /Bearer/);
    assertErrorBody(await api.withKey('fr_nope').request('GET', '/v2/artworks'), 401, /Invalid or revoked/);
  });

  test('a generator key can create artworks but not keys (403)', async () => {
    const me = await api.request('GET', '/v2/me');
    assert.equal(me.status, 200);
    const orgId = (me.body as { organizationId: string }).organizationId;
    assert.equal((me.body as { scope: string }).scope, 'admin');
    const created = await api.request('POST', `/v2/organizations/${orgId}/api-keys`, { name: 'gen', scope: 'generator' });
    assert.equal(created.status, 201);
    const secret = (created.body as { secret: string }).secret;
    assert.match(secret, /^fr_/);
    const generator = api.withKey(secret);
    assert.equal((await generator.create({ imageUrl })).status, 202);
    const meGen = await generator.request('GET', '/v2/me');
    assert.equal((meGen.body as { scope: string }).scope, 'generator');
    assertErrorBody(
      await generator.request('POST', `/v2/organizations/${orgId}/api-keys`, { name: 'x', scope: 'admin' }),
      403,
      /scope generator/,
    );
    assertErrorBody(await generator.request('POST', `/v2/organizations/${orgId}/webhook-secret`), 403);
  });

  test('key creation validates its body', async () => {
    const orgId = ((await api.request('GET', '/v2/me')).body as { organizationId: string }).organizationId;
    assertErrorBody(
      await api.request('POST', `/v2/organizations/${orgId}/api-keys`, { name: 'x', scope: 'root' }),
      400,
      /scope must be one of the following values: generator, manager, admin/,
    );
  });
});

describe('organizations are isolated', () => {
  test("another organization's artworks are 404, never listed, never canceled", async () => {
    const cli = runCli(['orgs', 'create', '--name', 'other'], { DATA_DIR: dataDir });
    assert.equal(cli.status, 0, cli.stderr);
    const other = JSON.parse(cli.stdout) as { organizationId: string; secret: string };
    const otherApi = api.withKey(other.secret);
    const mine = (await api.create({ imageUrl })).body as { id: string };
    assertErrorBody(await otherApi.get(mine.id), 404, /not found/);
    assertErrorBody(await otherApi.request('POST', `/v2/artworks/${mine.id}/cancel`), 404);
    assertErrorBody(await otherApi.request('GET', `/v2/artworks/${mine.id}/results/0`), 404);
    const list = await otherApi.request('GET', '/v2/artworks');
    assert.deepEqual(list.body, []);
    const myOrg = ((await api.request('GET', '/v2/me')).body as { organizationId: string }).organizationId;
    assertErrorBody(await otherApi.request('POST', `/v2/organizations/${myOrg}/api-keys`, { name: 'x', scope: 'admin' }), 404);
  });

  test('keys create on the command line makes a working key', async () => {
    const orgId = ((await api.request('GET', '/v2/me')).body as { organizationId: string }).organizationId;
    const made = runCli(['keys', 'create', '--org', orgId, '--scope', 'manager', '--name', 'from-cli'], { DATA_DIR: dataDir });
    assert.equal(made.status, 0, made.stderr);
    const me = await api.withKey((JSON.parse(made.stdout) as { secret: string }).secret).request('GET', '/v2/me');
    assert.equal(me.status, 200);
    assert.deepEqual([me.body.organizationId, me.body.scope, me.body.name], [orgId, 'manager', 'from-cli']);

    const bad = runCli(['keys', 'create', '--org', 'nope', '--scope', 'generator'], { DATA_DIR: dataDir });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Organization nope not found/);
    const badScope = runCli(['keys', 'create', '--org', 'x', '--scope', 'god'], { DATA_DIR: dataDir });
    assert.match(badScope.stderr, /Expected one of generator, manager, admin for --scope but received god/);
  });
});

describe('listing and reading', () => {
  test('GET /v2/artworks is newest first with offset and limit', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(((await api.create({ imageUrl })).body as { id: string }).id);
    const page = await api.request('GET', '/v2/artworks?limit=2');
    assert.equal(page.status, 200);
    assert.deepEqual((page.body as Array<{ id: string }>).map((a) => a.id), [ids[11], ids[10]]);
    const next = await api.request('GET', '/v2/artworks?limit=1&offset=2');
    assert.deepEqual((next.body as Array<{ id: string }>).map((a) => a.id), [ids[9]]);
    const all = await api.request('GET', '/v2/artworks');
    assert.deepEqual((all.body as Array<{ id: string }>).map((a) => a.id), ids.slice(2).reverse());
  });

  test('400 for a bad limit or offset', async () => {
    assertErrorBody(await api.request('GET', '/v2/artworks?limit=0'), 400, /limit must be an integer between 1 and 500/);
    assertErrorBody(await api.request('GET', '/v2/artworks?limit=501'), 400, /limit/);
    assertErrorBody(await api.request('GET', '/v2/artworks?offset=-1'), 400, /offset must be an integer/);
    assertErrorBody(await api.request('GET', '/v2/artworks?limit=abc'), 400, /limit/);
  });

  test('404 for an unknown artwork, route or method, in the error shape', async () => {
    assertErrorBody(await api.get('3fa85f64-5717-4562-b3fc-2c963f66afa6'), 404, /not found/);
    assertErrorBody(await api.request('GET', '/v2/nothing-here'), 404, /Cannot GET \/v2\/nothing-here/);
    assertErrorBody(await api.request('DELETE', '/v2/artworks/face-refiner'), 404, /Cannot DELETE/);
  });

  test('GET / lists the routes; health and readiness answer', async () => {
    const root = await api.withKey(undefined).request('GET', '/');
    assert.equal(root.status, 200);
    const paths = (root.body as { routes: Array<{ path: string }> }).routes.map((r) => r.path);
    assert.ok(paths.includes('/v2/artworks/face-refiner'));
    assert.equal((await api.withKey(undefined).request('GET', '/healthz')).status, 200);
    assert.equal((await api.withKey(undefined).request('GET', '/readyz')).status, 200);
  });

  test('security headers and a request id on every response', async () => {
    const response = await api.request('GET', '/v2/nothing');
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.match(response.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });
});
