import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { crc32Hex } from './helpers/onnx-graphs.js';
import { LoopbackServer } from './helpers/loopback.js';
import { CLI, ROOT } from './helpers/paths.js';
import { tempDataDir } from './helpers/service.js';

const server = new LoopbackServer();
// about 3 MB: big enough for several progress lines and a connection dropped halfway
const payload = randomBytes(3 * 1024 * 1024 + 123);
const DROP_AT = 1024 * 1024;
let served = 0;
const ranges: string[] = [];
let seenWhileResuming: { target: boolean; part: number } | undefined;
let modelsDir = '';

/** The CLI as a child process, asynchronously: the loopback server answers it from this process. */
function cli(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

before(async () => {
  await server.start();
  server.route('/models/gfpgan_1.4.hash', (_req, res) => res.end(`${crc32Hex(payload)}\n`));
  server.route('/models/gfpgan_1.4.onnx', (req, res) => {
    served++;
    const range = req.headers.range;
    if (!range) {
      // the first try: the connection drops after 1 MB
      res.writeHead(200, { 'content-length': String(payload.length), 'accept-ranges': 'bytes' });
      res.write(payload.subarray(0, DROP_AT), () => setTimeout(() => res.socket?.destroy(), 50));
      return;
    }
    ranges.push(range);
    const start = Number(/^bytes=(\d+)-$/.exec(range)?.[1]);
    seenWhileResuming = {
      target: fs.existsSync(path.join(modelsDir, 'gfpgan_1.4.onnx')),
      part: fs.statSync(path.join(modelsDir, 'gfpgan_1.4.onnx.part')).size,
    };
    res.writeHead(206, { 'content-range': `bytes ${start}-${payload.length - 1}/${payload.length}`, 'content-length': String(payload.length - start) });
    res.end(payload.subarray(start));
  });
  server.route('/bad/gfpgan_1.3.hash', (_req, res) => res.end('deadbeef'));
  server.route('/bad/gfpgan_1.3.onnx', (_req, res) => res.end(payload));
  // an operator's own mirror that publishes no `.hash` beside the file
  server.route('/own/finetuned.onnx', (_req, res) => res.end(payload));
});
after(() => server.stop());

describe('face-refiner models pull', () => {
  test('shows progress, resumes after a dropped connection, verifies the CRC32 and renames into place', async () => {
    const dataDir = tempDataDir('pull');
    modelsDir = path.join(dataDir, 'models');
    const env = { DATA_DIR: dataDir, ALLOW_PRIVATE_NETWORKS: 'true' };
    const result = await cli(['models', 'pull', 'gfpgan_1.4', '--url', `${server.url}/models/gfpgan_1.4.onnx`], env);
    assert.equal(result.status, 0, result.stderr);
    // not a terminal: plain lines with bytes, share and rate
    assert.match(result.stderr, /gfpgan_1\.4: 3\.0 MB of 3\.0 MB \(100%\), [\d.]+ MB\/s/);
    assert.ok(result.stderr.split('\n').filter((l) => /^gfpgan_1\.4: [\d.]+ MB of/.test(l)).length >= 5, result.stderr);
    assert.match(result.stdout, /gfpgan_1\.4: installed .*gfpgan_1\.4\.onnx \(3\.0 MB, crc32 verified\)/);
    assert.equal(served, 2);
    // it asked for the rest from where its part file ended: up to the 1 MB sent before the drop (on a busy machine
    // the last chunks may still be unread, or unwritten, when the connection drops), never from the start
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(ranges[0] ?? '')?.[1]);
    assert.equal(ranges.length, 1, JSON.stringify(ranges));
    assert.ok(resumedAt > 0 && resumedAt <= DROP_AT, `resumed at ${resumedAt}`);
    // while the rest was downloading, only the part file existed, holding what it resumed from
    assert.deepEqual(seenWhileResuming, { target: false, part: resumedAt });
    assert.ok(fs.readFileSync(path.join(modelsDir, 'gfpgan_1.4.onnx')).equals(payload));
    assert.equal(fs.existsSync(path.join(modelsDir, 'gfpgan_1.4.onnx.part')), false);
    assert.equal(fs.readFileSync(path.join(modelsDir, 'gfpgan_1.4.hash'), 'utf8'), crc32Hex(payload));
    // recorded as verified, so the service's threads do not hash it again
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(modelsDir, 'gfpgan_1.4.onnx.verified.json'), 'utf8')), {
      size: payload.length,
      mtimeMs: fs.statSync(path.join(modelsDir, 'gfpgan_1.4.onnx')).mtimeMs,
      by: 'crc32',
      value: crc32Hex(payload),
    });

    const verified = await cli(['models', 'verify'], env);
    assert.equal(verified.status, 0);
    assert.match(verified.stdout, /^gfpgan_1\.4: ok \(crc32\) /m);
    const listed = JSON.parse((await cli(['models', 'list', '--json'], env)).stdout) as Array<{ name: string; installed: boolean; kind: string; size: number }>;
    assert.deepEqual(
      listed.filter((m) => m.installed).map((m) => m.name),
      ['gfpgan_1.4'],
    );
    assert.equal(listed.length, 9);
    assert.deepEqual(listed.find((m) => m.name === 'gpen_bfr_256'), { ...listed.find((m) => m.name === 'gpen_bfr_256'), kind: 'gpen', size: 256 });

    // a file changed on disk afterwards fails verify
    fs.appendFileSync(path.join(modelsDir, 'gfpgan_1.4.onnx'), 'x');
    const broken = await cli(['models', 'verify', 'gfpgan_1.4'], env);
    assert.equal(broken.status, 1);
    assert.match(broken.stdout, /gfpgan_1\.4: MISMATCH: crc32 [0-9a-f]{8}, expected [0-9a-f]{8}/);
  });

  test('a hash mismatch is refused with both hashes; nothing is left behind', async () => {
    const dataDir = tempDataDir('pull-bad');
    const result = await cli(['models', 'pull', 'gfpgan_1.3', '--url', `${server.url}/bad/gfpgan_1.3.onnx`], { DATA_DIR: dataDir, ALLOW_PRIVATE_NETWORKS: 'true' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, new RegExp(`gfpgan_1\\.3: the downloaded file's crc32 is ${crc32Hex(payload)} but the published crc32 is deadbeef; the partial file was deleted`));
    assert.deepEqual(fs.existsSync(path.join(dataDir, 'models')) ? fs.readdirSync(path.join(dataDir, 'models')) : [], []);
  });

  test('MODELS_FILE entries: a sha256 is checked, a size cap holds, and loopback needs ALLOW_PRIVATE_NETWORKS', async () => {
    const dataDir = tempDataDir('pull-own');
    const modelsFile = path.join(dataDir, 'models.json');
    const sha256 = createHash('sha256').update(payload).digest('hex');
    fs.writeFileSync(
      modelsFile,
      JSON.stringify([
        { name: 'mine', file: 'mine.onnx', kind: 'gfpgan', size: 512, template: 'ffhq_512', url: `${server.url}/bad/gfpgan_1.3.onnx`, sha256 },
        { name: 'tiny-cap', file: 'tiny.onnx', kind: 'gfpgan', size: 512, template: 'ffhq_512', url: `${server.url}/bad/gfpgan_1.3.onnx`, maxBytes: 1000 },
      ]),
    );
    const env = { DATA_DIR: dataDir, MODELS_FILE: modelsFile, ALLOW_PRIVATE_NETWORKS: 'true' };
    const mine = await cli(['models', 'pull', 'mine'], env);
    assert.equal(mine.status, 0, mine.stderr);
    assert.match(mine.stdout, /mine: installed .*mine\.onnx \(3\.0 MB, sha256 verified\)/);
    const capped = await cli(['models', 'pull', 'tiny-cap'], env);
    assert.equal(capped.status, 1);
    assert.match(capped.stderr, /Expected at most 1000 bytes but .* has 3145851/);
    const blocked = await cli(['models', 'pull', 'mine'], { DATA_DIR: tempDataDir('pull-blocked'), MODELS_FILE: modelsFile });
    assert.equal(blocked.status, 1);
    assert.match(blocked.stderr, /127\.0\.0\.1:\d+ is a loopback, private or otherwise non-public address/);
  });

  test('a MODELS_FILE entry without a sha256, from a host with no .hash beside it, is installed and said to be unverified', async () => {
    const dataDir = tempDataDir('pull-unhashed');
    const modelsFile = path.join(dataDir, 'models.json');
    fs.writeFileSync(
      modelsFile,
      JSON.stringify([{ name: 'finetuned', file: 'finetuned.onnx', kind: 'gfpgan', size: 512, template: 'ffhq_512', url: `${server.url}/own/finetuned.onnx` }]),
    );
    const env = { DATA_DIR: dataDir, MODELS_FILE: modelsFile, ALLOW_PRIVATE_NETWORKS: 'true' };
    const pulled = await cli(['models', 'pull', 'finetuned'], env);
    assert.equal(pulled.status, 0, pulled.stderr);
    assert.match(pulled.stderr, /finetuned: no hash published beside .*\/own\/finetuned\.onnx \(404\) and no sha256 in MODELS_FILE: it is installed unverified/);
    assert.match(pulled.stdout, /finetuned: installed .*finetuned\.onnx \(3\.0 MB, not verified \(no hash given\)\)/);
    assert.ok(fs.readFileSync(path.join(dataDir, 'models', 'finetuned.onnx')).equals(payload));
    const verified = await cli(['models', 'verify', 'finetuned'], env);
    assert.equal(verified.status, 0);
    assert.match(verified.stdout, /^finetuned: present, unverified \(MODELS_FILE gives no sha256\) /m);
    const listed = await cli(['models', 'list'], env);
    assert.match(listed.stdout, /^finetuned +gfpgan +512 +installed, unverified \(3\.0 MB\) +\S*finetuned\.onnx$/m);
    assert.match(listed.stdout, /^gfpgan_1\.4 +gfpgan +512 +not installed +/m);
  });
});
