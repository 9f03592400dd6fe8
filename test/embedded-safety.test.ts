import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiClient, assertErrorBody } from './helpers/api.js';
import { LoopbackServer } from './helpers/loopback.js';
import { ADMIN_KEY, ServiceProcess, tempDataDir } from './helpers/service.js';

// The default, ALLOW_PRIVATE_NETWORKS off: what a service exposed to strangers does with local addresses.
const outside = new LoopbackServer();
const service = new ServiceProcess(tempDataDir('strict'), { ALLOW_PRIVATE_NETWORKS: 'false' });
let api: ApiClient;

before(async () => {
  await outside.start();
  api = new ApiClient(await service.start(), ADMIN_KEY);
});
after(async () => {
  await service.stop();
  await outside.stop();
});

describe('with private networks not allowed', () => {
  for (const host of ['127.0.0.1', 'localhost', '[::1]']) {
    test(`an imageUrl on ${host} fails as a blocked address, and nothing is fetched`, async () => {
      const port = new URL(outside.url).port;
      const before = outside.received.length;
      const created = await api.create({ imageUrl: `http://${host}:${port}/fixtures/faces/astronaut.png` });
      const done = await api.waitForStatus((created.body as { id: string }).id, ['succeeded', 'failed']);
      assert.equal(done.status, 'failed');
      assert.equal(done.error.code, 'FETCH_BLOCKED_ADDRESS', done.error.message);
      assert.equal(outside.received.length, before);
    });
  }

  test('a plain http webhook is refused with a 400', async () => {
    assertErrorBody(
      await api.create({ imageUrl: 'https://example.com/a.png', webhook: 'http://example.com/hook' }),
      400,
      /webhook must be an https URL/,
    );
    assertErrorBody(
      await api.create({ imageUrl: 'https://example.com/a.png', webhook: 'HTTP://example.com/hook' }),
      400,
      /webhook must be an https URL/,
    );
  });

  test('a webhook scheme in capitals is the scheme: HTTPS:// is accepted and delivered as https', async () => {
    // a host name: an IP literal on loopback is refused at create time (test/webhook-addresses.test.ts)
    const created = await api.create({ imageUrl: 'https://example.com/a.png', webhook: 'HTTPS://localhost:1/hook' });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const id = (created.body as { id: string }).id;
    // its final status (whichever: the image is not reachable from here) sends the webhook
    await api.waitForStatus(id, ['succeeded', 'failed', 'canceled']);
    let attempts: Array<{ error: string | null }> = [];
    const deadline = Date.now() + 10_000;
    while (attempts.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      attempts = (await api.request('GET', `/v2/artworks/${id}/webhook-deliveries`)).body as Array<{ error: string | null }>;
    }
    assert.equal(attempts.length, 1);
    // attempted (and refused by the address policy, as a loopback address), not dropped as "not https"
    assert.doesNotMatch(attempts[0]?.error ?? '', /https/);
    assert.match(attempts[0]?.error ?? '', /localhost resolves to a loopback, private or otherwise non-public address/);
  });
});
