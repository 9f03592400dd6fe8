import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { ADMIN_KEY, ServiceProcess, tempDataDir } from './helpers/service.js';

/**
 * Downloads (results and uploads share one way of sending) pass the blob on as it is read: a client that stops
 * reading holds no copy of it and is closed after DOWNLOAD_IDLE_TIMEOUT_MS.
 */
const service = new ServiceProcess(tempDataDir('downloads'), { DOWNLOAD_IDLE_TIMEOUT_MS: '1000' }, ['serve', '--no-worker']);
/** Noise does not compress: about 23 MB, more than loopback's socket buffers hold, so a stalled reader stalls the send. */
let image: Buffer;
let url: string;

before(async () => {
  const [width, height] = [3000, 2600];
  image = await sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
  await service.start();
  const uploaded = await fetch(`${service.url}/v2/uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'image/png' },
    body: new Uint8Array(image),
  });
  const answer = await uploaded.text();
  assert.equal(uploaded.status, 201, answer);
  ({ url } = JSON.parse(answer) as { url: string });
});
after(async () => {
  await service.stop();
});

describe('downloads', () => {
  test('a reader gets every byte, with its length announced', async () => {
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-length'), String(image.length));
    assert.equal(response.headers.get('content-type'), 'image/png');
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(image));
  });

  test('a reader that stops reading is closed after DOWNLOAD_IDLE_TIMEOUT_MS, before it has the whole image', async () => {
    const { hostname, port, pathname, search } = new URL(url);
    const socket = net.connect(Number(port), hostname);
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(`GET ${pathname}${search} HTTP/1.1\r\nHost: x\r\n\r\n`);
    // nothing is read from the socket (no data listener): the server's send stalls once the buffers are full
    await new Promise((resolve) => setTimeout(resolve, 4000));
    let received = 0;
    const closed = await new Promise<boolean>((resolve) => {
      const deadline = setTimeout(() => resolve(false), 20_000);
      socket.on('data', (chunk: Buffer) => (received += chunk.length));
      socket.once('close', () => {
        clearTimeout(deadline);
        resolve(true);
      });
    });
    socket.destroy();
    assert.equal(closed, true, `the connection stayed open (${received} bytes received)`);
    assert.ok(received < image.length, `${received} bytes received of ${image.length}: the send was cut short`);
  });
});
