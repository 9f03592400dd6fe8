import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ApiClient, assertErrorBody } from './helpers/api.js';
import { ADMIN_KEY, ServiceProcess, tempDataDir } from './helpers/service.js';

/**
 * Webhook URLs whose host is an IP literal go through the same address rule as images, against the real service
 * on loopback. The "receiver" is a plain TCP listener on loopback (IPv4 and IPv6) that counts connections: a
 * refused delivery must never reach it. Deliveries to literals are stored while ALLOW_PRIVATE_NETWORKS is on
 * (as a deployment that switches it off, or upgrades, has them), then the service restarts with it off.
 */
const dataDir = tempDataDir('webhook-addresses');
const env = { WEBHOOK_TIMEOUT_MS: '3000', WEBHOOK_RETRY_DELAYS_MS: '600000' };
const open = new ServiceProcess(dataDir, env, ['serve', '--no-worker']);
const closed = new ServiceProcess(dataDir, { ...env, ALLOW_PRIVATE_NETWORKS: 'false' }, ['serve', '--no-worker']);

let connections = 0;
const listener = net.createServer((socket) => {
  connections++;
  socket.destroy();
});
let port = 0;
/** Every spelling of a loopback address that a URL parser turns into an IP literal. */
const literals = () => [
  `https://127.0.0.1:${port}/hook`,
  `https://2130706433:${port}/hook`,
  `https://0x7f.1:${port}/hook`,
  `https://[::1]:${port}/hook`,
  `https://[::ffff:127.0.0.1]:${port}/hook`,
  `https://[::127.0.0.1]:${port}/hook`,
];
/** Artworks created while private networks were allowed, one per literal webhook. */
const stored: Array<{ id: string; webhook: string }> = [];

async function attemptsOf(api: ApiClient, id: string): Promise<Array<{ statusCode: number | null; error: string | null }>> {
  const response = await api.request('GET', `/v2/artworks/${id}/webhook-deliveries`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body as Array<{ statusCode: number | null; error: string | null }>;
}

async function firstAttempt(api: ApiClient, id: string): Promise<{ statusCode: number | null; error: string | null }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const [attempt] = await attemptsOf(api, id);
    if (attempt) return attempt;
    if (Date.now() > deadline) throw new Error(`no delivery attempt for ${id} in 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

before(async () => {
  await new Promise<void>((resolve) => listener.listen(0, '::', resolve));
  port = (listener.address() as net.AddressInfo).port;
});
after(async () => {
  await open.stop();
  await closed.stop();
  await new Promise<void>((resolve) => listener.close(() => resolve()));
});

describe('ALLOW_PRIVATE_NETWORKS=true: literal loopback webhooks are taken and delivered to', () => {
  test('created, and the delivery connects to the loopback receiver', async () => {
    const api = new ApiClient(await open.start(), ADMIN_KEY);
    for (const webhook of literals()) {
      const created = await api.create({ imageUrl: 'https://example.com/never-fetched.png', webhook });
      assert.equal(created.status, 202, `${webhook}: ${JSON.stringify(created.body)}`);
      stored.push({ id: (created.body as { id: string }).id, webhook });
    }
    const first = stored.shift();
    assert.ok(first);
    assert.equal((await api.request('POST', `/v2/artworks/${first.id}/cancel`)).status, 200);
    const attempt = await firstAttempt(api, first.id);
    assert.ok(connections > 0, `the receiver was reached (${JSON.stringify(attempt)})`);
    await open.stop();
  });
});

describe('ALLOW_PRIVATE_NETWORKS=false: literal private webhooks are refused', () => {
  let api: ApiClient;
  before(async () => {
    api = new ApiClient(await closed.start(), ADMIN_KEY);
  });

  test('at create time, a 400 naming the webhook, for every spelling of a loopback address', async () => {
    for (const webhook of literals()) {
      const created = await api.create({ imageUrl: 'https://example.com/never-fetched.png', webhook });
      assertErrorBody(created, 400, /Expected a public address for webhook but received .+ \(a loopback, private or otherwise non-public address\)/);
    }
    const named = await api.create({ imageUrl: 'https://example.com/never-fetched.png', webhook: 'https://example.com/hook' });
    assert.equal(named.status, 202, 'a host name is checked when the delivery connects, not at create time');
  });

  test('at delivery time, a stored literal is refused and recorded as failed without connecting', async () => {
    const before = connections;
    assert.equal(stored.length, literals().length - 1);
    for (const { id } of stored) assert.equal((await api.request('POST', `/v2/artworks/${id}/cancel`)).status, 200);
    for (const { id, webhook } of stored) {
      const attempt = await firstAttempt(api, id);
      assert.equal(attempt.statusCode, null, webhook);
      assert.match(attempt.error ?? '', /Expected a public address for webhook but received .+ \(a loopback, private or otherwise non-public address\)/, webhook);
    }
    assert.equal(connections, before, 'no delivery connected to the receiver');
  });

  test('a host name resolving to loopback is refused when the delivery connects, without naming the address', async () => {
    const before = connections;
    const webhook = `https://localhost:${port}/hook`;
    const created = await api.create({ imageUrl: 'https://example.com/never-fetched.png', webhook });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const { id } = created.body as { id: string };
    assert.equal((await api.request('POST', `/v2/artworks/${id}/cancel`)).status, 200);
    const attempt = await firstAttempt(api, id);
    assert.equal(attempt.statusCode, null);
    assert.match(attempt.error ?? '', /localhost resolves to a loopback, private or otherwise non-public address/);
    assert.doesNotMatch(attempt.error ?? '', /127\.0\.0\.1|::1/, 'the resolved address is not told');
    assert.equal(connections, before);
  });
});
