import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { after, before, describe, test } from 'node:test';
import { JobError } from '../src/errors.js';
import { fetchImage, type FetchImageOptions } from '../src/ingest/fetch-image.js';
import { isPublicAddress } from '../src/net/address-policy.js';
import { addressPolicy, createOutboundAgent, type AddressPolicy } from '../src/net/guarded-agent.js';
import { LoopbackServer } from './helpers/loopback.js';

/**
 * The hostile side runs on 127.0.0.1. To test the address rules without leaving this machine, the tests use a
 * policy in which 127.0.0.1 plays "the public internet" and everything else keeps the production rule, and a
 * resolver with a few made-up names; the fetch code, the agent and its connect-time lookup are the real ones.
 */
const NAMES: Record<string, LookupAddress[]> = {
  'public.test': [{ address: '127.0.0.1', family: 4 }],
  'private.test': [{ address: '10.0.0.5', family: 4 }],
  'metadata.test': [{ address: '169.254.169.254', family: 4 }],
  'mixed.test': [
    { address: '127.0.0.1', family: 4 },
    { address: '192.168.1.10', family: 4 },
  ],
  'mapped.test': [{ address: '::ffff:10.0.0.1', family: 6 }],
};
const testPolicy: AddressPolicy = {
  isAllowed: (address) => address === '127.0.0.1' || isPublicAddress(address),
  resolve: (hostname, callback) => {
    const found = NAMES[hostname];
    if (found) callback(null, found);
    else callback(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
  },
};
const productionPolicy = addressPolicy(false);

const server = new LoopbackServer();
const testAgent = createOutboundAgent(testPolicy, 2000);
const productionAgent = createOutboundAgent(productionPolicy, 2000);
let port = '';

before(async () => {
  await server.start();
  port = new URL(server.url).port;
  server.route('/image.png', (_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(1000, 1)));
  server.route('/loop', (_req, res) => res.writeHead(302, { location: '/loop' }).end());
  server.route('/to-private', (_req, res) => res.writeHead(302, { location: `http://127.0.0.2:${port}/image.png` }).end());
  server.route('/to-private-name', (_req, res) => res.writeHead(301, { location: `http://private.test:${port}/image.png` }).end());
  server.route('/to-file', (_req, res) => res.writeHead(302, { location: 'file:///etc/passwd' }).end());
  server.route('/twice', (_req, res) => res.writeHead(307, { location: '/once' }).end());
  server.route('/once', (_req, res) => res.writeHead(308, { location: '/image.png' }).end());
  server.route('/big-declared', (_req, res) => res.writeHead(200, { 'content-length': 300_000 }).end(Buffer.alloc(300_000)));
  server.route('/big-chunked', (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' });
    for (let i = 0; i < 30; i++) res.write(Buffer.alloc(10_000));
    res.end();
  });
  server.route('/trickle', (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' });
    const timer = setInterval(() => res.write('x'), 1000);
    res.on('close', () => clearInterval(timer));
  });
  server.route('/silent', () => {
    // never answers
  });
  server.route('/gone', (_req, res) => res.writeHead(410).end());
});
after(async () => {
  await server.stop();
  await testAgent.close();
  await productionAgent.close();
});

const testOptions = (): FetchImageOptions => ({ dispatcher: testAgent, policy: testPolicy, maxBytes: 100_000, timeoutMs: 1500 });
const productionOptions = (): FetchImageOptions => ({
  dispatcher: productionAgent,
  policy: productionPolicy,
  maxBytes: 100_000,
  timeoutMs: 1500,
});

async function outcome(url: string, options: FetchImageOptions): Promise<string> {
  try {
    const bytes = await fetchImage(url, options);
    return `ok ${bytes.length}`;
  } catch (error) {
    if (error instanceof JobError) return error.code;
    throw error;
  }
}

describe('fetching imageUrl: hostile and faulty servers', () => {
  const cases: Array<[string, (p: string) => string, string]> = [
    ['a plain image', (p) => `http://127.0.0.1:${p}/image.png`, 'ok 1000'],
    ['a name resolving to the allowed address', (p) => `http://public.test:${p}/image.png`, 'ok 1000'],
    ['two redirects, each re-checked', (p) => `http://127.0.0.1:${p}/twice`, 'ok 1000'],
    ['a redirect to 127.0.0.2', (p) => `http://127.0.0.1:${p}/to-private`, 'FETCH_BLOCKED_ADDRESS'],
    ['a redirect to a name resolving to 10.0.0.5', (p) => `http://127.0.0.1:${p}/to-private-name`, 'FETCH_BLOCKED_ADDRESS'],
    ['a redirect to file:', (p) => `http://127.0.0.1:${p}/to-file`, 'FETCH_BAD_URL'],
    ['a name resolving to a private address', (p) => `http://private.test:${p}/image.png`, 'FETCH_BLOCKED_ADDRESS'],
    ['a name resolving to the metadata address', (p) => `http://metadata.test:${p}/image.png`, 'FETCH_BLOCKED_ADDRESS'],
    ['a name resolving to public and private addresses', (p) => `http://mixed.test:${p}/image.png`, 'FETCH_BLOCKED_ADDRESS'],
    ['a name resolving to an IPv4-mapped private address', (p) => `http://mapped.test:${p}/image.png`, 'FETCH_BLOCKED_ADDRESS'],
    ['an IPv6 loopback literal', (p) => `http://[::1]:${p}/image.png`, 'FETCH_BLOCKED_ADDRESS'],
    ['an IPv4-mapped loopback literal', (p) => `http://[::ffff:127.0.0.2]:${p}/image.png`, 'FETCH_BLOCKED_ADDRESS'],
    ['a decimal IP literal of 10.0.0.1', (p) => `http://167772161:${p}/image.png`, 'FETCH_BLOCKED_ADDRESS'],
    ['a redirect loop', (p) => `http://127.0.0.1:${p}/loop`, 'FETCH_TOO_MANY_REDIRECTS'],
    ['a body over the cap, declared', (p) => `http://127.0.0.1:${p}/big-declared`, 'FETCH_TOO_LARGE'],
    ['a body over the cap, chunked', (p) => `http://127.0.0.1:${p}/big-chunked`, 'FETCH_TOO_LARGE'],
    ['a server that trickles a byte a second', (p) => `http://127.0.0.1:${p}/trickle`, 'FETCH_TIMEOUT'],
    ['a server that never answers', (p) => `http://127.0.0.1:${p}/silent`, 'FETCH_TIMEOUT'],
    ['a 410 answer', (p) => `http://127.0.0.1:${p}/gone`, 'FETCH_HTTP_STATUS'],
    ['a closed port', () => 'http://127.0.0.1:1/image.png', 'FETCH_UNREACHABLE'],
    ['an unknown name', (p) => `http://nowhere.test:${p}/image.png`, 'FETCH_UNREACHABLE'],
    ['ftp:', () => 'ftp://127.0.0.1/image.png', 'FETCH_BAD_URL'],
  ];
  for (const [name, url, expected] of cases) {
    test(`${name}: ${expected}`, async () => assert.equal(await outcome(url(port), testOptions()), expected));
  }
});

describe('a refusal does not tell the address a name resolves to', () => {
  for (const name of ['private.test', 'metadata.test', 'mapped.test']) {
    test(name, async () => {
      const refused = await fetchImage(`http://${name}:${port}/image.png`, testOptions()).catch((error: unknown) => error);
      assert.ok(refused instanceof JobError);
      assert.equal(refused.code, 'FETCH_BLOCKED_ADDRESS');
      assert.match(refused.message, new RegExp(`${name} resolves to a loopback, private or otherwise non-public address`));
      for (const { address } of NAMES[name] ?? []) assert.equal(refused.message.includes(address), false, refused.message);
    });
  }
});

describe('the production rule (ALLOW_PRIVATE_NETWORKS off)', () => {
  for (const host of ['127.0.0.1', 'localhost', '2130706433', '[::ffff:127.0.0.1]', '[::127.0.0.1]', '0.0.0.0']) {
    test(`${host} is refused`, async () => {
      assert.equal(await outcome(`http://${host}:${port}/image.png`, productionOptions()), 'FETCH_BLOCKED_ADDRESS');
    });
  }
  test('ALLOW_PRIVATE_NETWORKS on reaches loopback', async () => {
    const open = addressPolicy(true);
    const agent = createOutboundAgent(open, 2000);
    try {
      assert.equal(await outcome(`http://localhost:${port}/image.png`, { ...productionOptions(), dispatcher: agent, policy: open }), 'ok 1000');
    } finally {
      await agent.close();
    }
  });
});

describe('address ranges', () => {
  const cases: Array<[string, boolean]> = [
    ['8.8.8.8', true],
    ['2606:4700:4700::1111', true],
    ['::ffff:8.8.8.8', true],
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['255.255.255.255', false],
    ['192.0.2.1', false],
    ['::1', false],
    ['::', false],
    ['fe80::1', false],
    ['fc00::1', false],
    ['fd00:ec2::254', false],
    ['ff02::1', false],
    ['2001:db8::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:169.254.169.254', false],
    // IPv4-compatible (::/96, deprecated), as a URL writes it, as inet_ntop writes it, and around a public address
    ['::7f00:1', false],
    ['::127.0.0.1', false],
    ['::8.8.8.8', false],
    ['::808:808', false],
    ['64:ff9b::7f00:1', false],
    ['2002:7f00:1::1', false],
    ['100::1', false],
    ['fec0::1', false],
    ['4000::1', false],
    ['2001:4860:4860::8888', true],
    ['not an ip', false],
  ];
  for (const [address, expected] of cases) {
    test(`${address} is ${expected ? 'public' : 'refused'}`, () => assert.equal(isPublicAddress(address), expected));
  }
});
