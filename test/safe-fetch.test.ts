import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { JobError } from '../src/errors.js';
import { fetchImage } from '../src/ingest/fetch-image.js';
import { isPublicAddress } from '../src/net/address-policy.js';
import { createOutboundAgent } from '../src/net/guarded-agent.js';
import { LoopbackServer } from './helpers/loopback.js';

const server = new LoopbackServer();
const strict = createOutboundAgent({ allowPrivateNetworks: false, connectTimeoutMs: 2000 });
const open = createOutboundAgent({ allowPrivateNetworks: true, connectTimeoutMs: 2000 });

before(async () => {
  await server.start();
  server.route('/loop', (_req, res) => {
    res.writeHead(302, { location: '/loop' }).end();
  });
  server.route('/big', (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' });
    res.end(Buffer.alloc(300_000));
  });
  server.route('/trickle', (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' });
    const timer = setInterval(() => res.write('x'), 500);
    res.on('close', () => clearInterval(timer));
  });
});
after(async () => {
  await server.stop();
  await strict.close();
  await open.close();
});

async function expectJobError(promise: Promise<unknown>, code: string): Promise<JobError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof JobError, `expected a JobError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}`);
}

describe('address policy', () => {
  const cases: Array<[string, boolean]> = [
    ['8.8.8.8', true],
    ['2606:4700:4700::1111', true],
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['255.255.255.255', false],
    ['::1', false],
    ['::', false],
    ['fe80::1', false],
    ['fc00::1', false],
    ['fd00:ec2::254', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:8.8.8.8', true],
    ['not an ip', false],
  ];
  for (const [address, expected] of cases) {
    test(`${address} is ${expected ? 'public' : 'refused'}`, () => assert.equal(isPublicAddress(address), expected));
  }
});

describe('fetching imageUrl', () => {
  const base = { maxBytes: 100_000, timeoutMs: 2000 };

  test('loopback by IP literal, by name and IPv4-mapped IPv6 is refused unless allowed', async () => {
    const port = new URL(server.url).port;
    const options = { ...base, dispatcher: strict, allowPrivateNetworks: false };
    await expectJobError(fetchImage(`http://127.0.0.1:${port}/fixtures/faces/astronaut.png`, options), 'FETCH_BLOCKED_ADDRESS');
    await expectJobError(fetchImage(`http://localhost:${port}/fixtures/faces/astronaut.png`, options), 'FETCH_BLOCKED_ADDRESS');
    await expectJobError(fetchImage(`http://[::ffff:127.0.0.1]:${port}/x`, options), 'FETCH_BLOCKED_ADDRESS');
    await expectJobError(fetchImage(`http://2130706433:${port}/x`, options), 'FETCH_BLOCKED_ADDRESS');
    const bytes = await fetchImage(`${server.url}/fixtures/faces/grace-hopper.jpg`, { ...base, dispatcher: open, allowPrivateNetworks: true });
    assert.equal(bytes.length, 61306);
  });

  test('only http and https', async () => {
    await expectJobError(fetchImage('file:///etc/passwd', { ...base, dispatcher: open, allowPrivateNetworks: true }), 'FETCH_BAD_URL');
  });

  test('a redirect loop stops after a few hops', async () => {
    await expectJobError(fetchImage(`${server.url}/loop`, { ...base, dispatcher: open, allowPrivateNetworks: true }), 'FETCH_TOO_MANY_REDIRECTS');
  });

  test('a body over the byte cap stops at the cap', async () => {
    await expectJobError(fetchImage(`${server.url}/big`, { ...base, dispatcher: open, allowPrivateNetworks: true }), 'FETCH_TOO_LARGE');
  });

  test('a server that trickles bytes hits the total deadline', async () => {
    const error = await expectJobError(
      fetchImage(`${server.url}/trickle`, { ...base, timeoutMs: 1500, dispatcher: open, allowPrivateNetworks: true }),
      'FETCH_TIMEOUT',
    );
    assert.match(error.message, /1500 ms/);
  });

  test('an unreachable host says so', async () => {
    await expectJobError(fetchImage('http://127.0.0.1:1/x.png', { ...base, dispatcher: open, allowPrivateNetworks: true }), 'FETCH_UNREACHABLE');
  });
});
