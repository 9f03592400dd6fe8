import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertErrorBody, type ApiClient } from './helpers/api.js';
import { InProcessApi } from './helpers/in-process.js';
import { tempDataDir } from './helpers/service.js';

// The route table against what the API says of itself; HTTP only, so the API runs in this process.
const service = new InProcessApi(tempDataDir('routes'));
let api: ApiClient;

before(async () => {
  api = await service.start();
});
after(() => service.stop());

/** `/v2/artworks/:id` as OpenAPI writes it. */
const asOpenApi = (path: string) => path.replace(/:(\w+)/g, '{$1}');
/**
 * Every route Fastify registered (its onRoute hook, in buildApi), but the documentation page's own assets:
 * @fastify/swagger-ui serves its scripts, styles and a copy of the document under /docs/.
 */
const servedRoutes = () => service.app.registeredRoutes.filter((route) => !route.url.startsWith('/docs/'));

describe('the route table, the OpenAPI document and GET / agree', () => {
  test('every registered route is in /openapi.json with its method, and nothing else is', async () => {
    const document = (await api.request('GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const served = servedRoutes().map(({ method, url }) => `${method} ${asOpenApi(url)}`);
    assert.ok(served.length >= 26, `${served.length} routes`);
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    assert.deepEqual(served.filter((route) => !documented.includes(route)), [], 'registered but not documented');
    assert.deepEqual(documented.filter((route) => !served.includes(route)), [], 'documented but not registered');
    for (const route of ['POST /v2/uploads', 'GET /v2/artworks/{id}/webhook-deliveries', 'GET /v2/artworks/{id}/results/{n}', 'GET /docs']) {
      assert.ok(documented.includes(route), route);
    }
  });

  test('each operation declares its path parameters, a success answer and the error shape', async () => {
    const document = (await api.request('GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; responses: Record<string, unknown> }>>;
    };
    for (const [path, operations] of Object.entries(document.paths)) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      for (const [method, operation] of Object.entries(operations)) {
        const declared = (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
        assert.deepEqual(declared, inPath, `${method} ${path}`);
        assert.ok(Object.keys(operation.responses).some((status) => /^2\d\d$/.test(status)), `${method} ${path}: no success`);
        assert.ok(operation.responses['500'], `${method} ${path}: no 500`);
      }
    }
  });

  test('GET / lists exactly the documented routes', async () => {
    const document = (await api.request('GET', '/openapi.json')).body as { paths: Record<string, Record<string, { summary: string }>> };
    const documented = Object.entries(document.paths)
      .flatMap(([path, operations]) => Object.entries(operations).map(([method, { summary }]) => `${method.toUpperCase()} ${path}: ${summary}`))
      .sort();
    const root = await api.withKey(undefined).request('GET', '/');
    const listed = (root.body as { routes: Array<{ method: string; path: string; description: string }> }).routes
      .map(({ method, path, description }) => `${method} ${asOpenApi(path)}: ${description}`)
      .sort();
    assert.deepEqual(listed, documented);
  });
});

describe('the onRequest hook checks every route by its declared scope', () => {
  test('every route that declares a scope is a 401 without a key; the public ones are not', async () => {
    const anonymous = api.withKey(undefined);
    const someId = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
    for (const { method, url, contract } of servedRoutes()) {
      const path = url.replace(/:\w+/g, someId);
      const response = await anonymous.request(method, path);
      if (contract?.scope) assertErrorBody(response, 401, /Missing Authorization/);
      else assert.notEqual(response.status, 401, `${method} ${url} is public`);
    }
  });

  test("a route that acts on an organization is a 404 for another organization's admin", async () => {
    const other = await api.request('POST', '/v2/organizations', { name: 'other' });
    const otherAdmin = api.withKey((other.body as { secret: string }).secret);
    const mine = ((await api.request('GET', '/v2/me')).body as { organizationId: string }).organizationId;
    const ownedByOrganization = servedRoutes().filter(({ contract }) => contract?.ownOrganization);
    assert.ok(ownedByOrganization.length >= 6);
    for (const { method, url, contract } of ownedByOrganization) {
      const response = await otherAdmin.request(method, url.replace(':orgId', mine).replace(/:\w+/g, 'x'), method === 'GET' ? undefined : {});
      // below the route's scope the key is refused first (403); at or above it, the organization is not its own (404)
      if (contract?.scope === 'operator') assertErrorBody(response, 403, /needs operator/);
      else assertErrorBody(response, 404, new RegExp(`Organization ${mine} not found`));
    }
  });
});

describe('the /app page and the API contract', () => {
  test("the denoising slider offers exactly the create route's range and default from /openapi.json", async () => {
    const document = (await api.request('GET', '/openapi.json')).body as {
      components: { schemas: { CreateArtwork: { properties: { denoising: { anyOf: Array<{ type: string; minimum?: number; maximum?: number }>; default: number } } } } };
    };
    const field = document.components.schemas.CreateArtwork.properties.denoising;
    const integer = field.anyOf.find((option) => option.type === 'integer');
    assert.ok(integer?.minimum !== undefined && integer.maximum !== undefined, JSON.stringify(field));
    const page = await (await service.fetch('/app')).text();
    const slider = /<input type="range" id="denoising" min="([^"]*)" max="([^"]*)" step="1" value="([^"]*)">/.exec(page);
    const shown = /<output id="denoising-value" for="denoising">([^<]*)<\/output>/.exec(page);
    assert.ok(slider && shown, 'the page has no denoising slider and value');
    assert.deepEqual(
      { min: slider[1], max: slider[2], value: slider[3], shown: shown[1] },
      { min: String(integer.minimum), max: String(integer.maximum), value: String(field.default), shown: String(field.default) },
    );
  });
});
