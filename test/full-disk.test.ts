import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient, assertErrorBody } from './helpers/api.js';
import { fixture } from './helpers/paths.js';
import { ADMIN_KEY, ServiceProcess, tempDataDir } from './helpers/service.js';

/**
 * A real full disk: the service runs in a user and mount namespace of its own (unshare, no privileges needed
 * where user namespaces are enabled) with DATA_DIR on an 8 MiB tmpfs, and a generator key fills it with
 * uploads, the attack of issue 10. Nothing of our stack is mocked: SQLite and the blob files meet ENOSPC.
 */
const DISK_BYTES = 8 * 1024 * 1024;
const dataDir = tempDataDir('full-disk');
const service = new ServiceProcess(dataDir, { MIN_FREE_DISK_BYTES: String(1024 * 1024) }, ['serve', '--no-worker'], (argv) => [
  'unshare',
  [
    '--user',
    '--map-root-user',
    '--mount',
    'sh',
    '-c',
    // exec: the node process keeps the shell's pid, so the test can look into the namespace's mounts
    `mount -t tmpfs -o size=${DISK_BYTES} tmpfs "$DATA_DIR" && exec "$0" "$@"`,
    process.execPath,
    ...argv,
  ],
]);
const photo = fs.readFileSync(fixture('faces/astronaut.png'));
const small = fs.readFileSync(fixture('faces/grace-hopper.jpg'));
let api: ApiClient;

before(async () => {
  api = new ApiClient(await service.start(), ADMIN_KEY);
});
after(() => service.stop());

const upload = (bytes: Buffer) =>
  fetch(`${api.baseUrl}/v2/uploads`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'image/png' }, body: new Uint8Array(bytes) });

/** Files under DATA_DIR as the service sees them (its tmpfs exists only in its mount namespace). */
function filesInside(): string[] {
  const root = path.join(`/proc/${String(service.pid)}/root`, dataDir);
  return fs.readdirSync(root, { recursive: true }).map(String);
}

test('with DATA_DIR full: writes are 507 in the error shape, reads keep working, readiness says so, no temporary files remain', async () => {
  const created = await api.create({ imageUrl: 'https://example.com/a.png' });
  assert.equal(created.status, 202);
  const id = (created.body as { id: string }).id;
  assert.equal((await api.request('GET', '/readyz')).status, 200);

  let refusal: Response | undefined;
  for (const bytes of [...Array<Buffer>(20).fill(photo), ...Array<Buffer>(200).fill(small)]) {
    const response = await upload(bytes);
    if (response.status === 201) continue;
    refusal = response;
    if (bytes === small) break; // full to the last small image
  }
  assert.ok(refusal, `${DISK_BYTES} bytes never filled up`);
  const body = (await refusal.json()) as Record<string, unknown>;
  assert.equal(refusal.status, 507, JSON.stringify(body));
  assertErrorBody({ status: refusal.status, headers: refusal.headers, body }, 507, /no storage space left/);

  for (let i = 0; i < 20; i++) {
    const read = await api.get(id);
    assert.equal(read.status, 200, `read ${i}: ${JSON.stringify(read.body)}`);
  }
  assert.equal((await api.request('GET', '/v2/artworks')).status, 200);
  assert.equal((await api.request('GET', '/v2/me')).status, 200);

  const ready = await api.request('GET', '/readyz');
  assertErrorBody(ready, 503, /Storage is full/);

  const write = await api.create({ imageUrl: 'https://example.com/b.png' });
  assert.ok([202, 507].includes(write.status), `a create is stored or refused with 507, never a 500: ${write.status}`);
  if (write.status === 507) assertErrorBody(write, 507);

  const leftovers = filesInside().filter((name) => name.includes('.tmp'));
  assert.deepEqual(leftovers, [], 'failed writes leave no temporary files');
  assert.equal(service.output.includes('"statusCode":500'), false, 'no 500 in the log');
});
