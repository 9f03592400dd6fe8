import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { BlobStore } from '../src/blobs/blobs.js';
import type { S3BlobStore } from '../src/blobs/s3.js';
import { S3_TEST_CREDENTIALS, TEST_S3_ENDPOINT, fsBlobsUnderTest, s3BlobsUnderTest } from './helpers/backends.js';

async function s3WithFreshBucket(): Promise<S3BlobStore> {
  const bucket = `fr-${randomUUID().slice(0, 8)}`;
  const client = new S3Client({
    endpoint: TEST_S3_ENDPOINT,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3_TEST_CREDENTIALS,
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  return s3BlobsUnderTest(bucket);
}

/** One contract, every blob backend, so local files and object storage behave alike. */
const BACKENDS: Array<[string, () => Promise<BlobStore>, string | undefined]> = [
  ['local files', async () => fsBlobsUnderTest(), undefined],
  ['S3', s3WithFreshBucket, TEST_S3_ENDPOINT ? undefined : 'TEST_S3_ENDPOINT is not set'],
];

for (const [name, open, skipReason] of BACKENDS) {
  if (skipReason) process.stdout.write(`${name} blob contract skipped: ${skipReason}\n`);
  describe(`blob store contract: ${name}`, { skip: skipReason }, () => {
    let blobs: BlobStore;
    before(async () => {
      blobs = await open();
    });

    test('put then get returns the bytes and the content type', async () => {
      const body = Buffer.from([0, 1, 2, 250, 255]);
      await blobs.put('artworks/a1/result-0.png', body, 'image/png');
      const read = await blobs.get('artworks/a1/result-0.png');
      assert.deepEqual(read?.body, body);
      assert.equal(read?.contentType, 'image/png');
    });

    test('a missing key is null, not an error', async () => {
      assert.equal(await blobs.get('artworks/none/result-0.png'), null);
    });

    test('put replaces what was there (a re-run job writes its result again)', async () => {
      await blobs.put('artworks/a2/input', Buffer.from('first'), 'application/octet-stream');
      await blobs.put('artworks/a2/input', Buffer.from('second'), 'application/octet-stream');
      assert.equal((await blobs.get('artworks/a2/input'))?.body.toString(), 'second');
    });

    test('open streams the bytes as they are consumed, with the content type and length; a missing key is null', async () => {
      // larger than one read (fs streams read 64 KiB at a time), so the bytes arrive in several chunks
      const body = Buffer.from(Array.from({ length: 1024 * 1024 + 7 }, (_, i) => (i * 31) & 0xff));
      await blobs.put('artworks/a4/result-0.png', body, 'image/png');
      const opened = await blobs.open('artworks/a4/result-0.png');
      assert.ok(opened);
      assert.equal(opened.contentType, 'image/png');
      assert.equal(opened.bytes, body.length);
      const chunks: Buffer[] = [];
      for await (const chunk of opened.body) chunks.push(chunk as Buffer);
      assert.ok(chunks.length > 1, `read in ${chunks.length} chunk`);
      assert.ok(Buffer.concat(chunks).equals(body));
      assert.equal(await blobs.open('artworks/none/result-0.png'), null);
    });

    test('deletePrefix deletes one artwork and nothing else', async () => {
      await blobs.put('artworks/a3/input', Buffer.from('x'), 'application/octet-stream');
      await blobs.put('artworks/a3/result-0.webp', Buffer.from('y'), 'image/webp');
      await blobs.put('artworks/a30/input', Buffer.from('z'), 'application/octet-stream');
      await blobs.deletePrefix('artworks/a3/');
      assert.equal(await blobs.get('artworks/a3/input'), null);
      assert.equal(await blobs.get('artworks/a3/result-0.webp'), null);
      assert.equal((await blobs.get('artworks/a30/input'))?.body.toString(), 'z');
      await blobs.deletePrefix('artworks/never-written/');
    });
  });
}

describe('S3 presigned result URLs', { skip: TEST_S3_ENDPOINT ? undefined : 'TEST_S3_ENDPOINT is not set' }, () => {
  test('a presigned GET serves the object without credentials', async () => {
    const s3 = await s3WithFreshBucket();
    await s3.put('artworks/p/result-0.png', Buffer.from('png bytes'), 'image/png');
    const url = await s3.presignedUrl('artworks/p/result-0.png', 60);
    assert.match(url, /X-Amz-Signature=/);
    assert.match(url, /X-Amz-Expires=60/);
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'png bytes');
    // what this cannot show: s3rver does not check signatures, so a tampered URL would be served too
  });
});
