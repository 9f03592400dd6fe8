import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiClient, assertErrorBody } from './helpers/api.js';
import { LoopbackServer } from './helpers/loopback.js';
import { identityRestorer, installModel } from './helpers/onnx-graphs.js';
import { fixture } from './helpers/paths.js';
import { ADMIN_KEY, runCli, ServiceProcess, tempDataDir } from './helpers/service.js';

const DETAIL = 'tengrai-20231128-m-d.safetensors';
const NATURAL = 'tengrai-20240423-m-f.safetensors';
const dataDir = tempDataDir('engines');
const modelsDir = path.join(dataDir, 'models');
const service = new ServiceProcess(dataDir, { MODEL_ENGINES: `${DETAIL}=gfpgan_1.4`, WORKER_CONCURRENCY: '1' });
const images = new LoopbackServer();
let api: ApiClient;
let imageUrl: string;

before(async () => {
  await images.start();
  api = new ApiClient(await service.start(), ADMIN_KEY);
  imageUrl = `${images.url}/fixtures/faces/astronaut.png`;
});
after(async () => {
  await service.stop();
  await images.stop();
});

describe('models bound to learned restorers, through the API', () => {
  test('a bound model whose file is missing: the service starts, says why, and its jobs fail MODEL_UNAVAILABLE', async () => {
    assertErrorBody(await api.withKey(undefined).request('GET', '/v2/models'), 401);
    const models = await api.request('GET', '/v2/models');
    assert.equal(models.status, 200);
    const [detail, natural] = models.body as Array<Record<string, unknown>>;
    assert.equal(detail?.model, DETAIL);
    assert.equal(detail?.engine, 'gfpgan_1.4');
    assert.equal(detail?.kind, 'restorer');
    assert.equal(detail?.ready, false);
    assert.match(String(detail?.reason), /model file .*models\/gfpgan_1\.4\.onnx is missing; run `face-refiner models pull gfpgan_1\.4`/);
    assert.deepEqual({ model: natural?.model, engine: natural?.engine, ready: natural?.ready }, { model: NATURAL, engine: 'classical', ready: true });

    const ready = await api.withKey(undefined).request('GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'degraded');
    assert.deepEqual(ready.body.modelsUnavailable.map((m: { model: string; engine: string }) => [m.model, m.engine]), [[DETAIL, 'gfpgan_1.4']]);

    const created = await api.create({ imageUrl, model: DETAIL, outputFormat: 'png' });
    assert.equal(created.status, 202);
    const failed = await api.waitForStatus((created.body as { id: string }).id, ['succeeded', 'failed']);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'MODEL_UNAVAILABLE');
    assert.match(failed.error.message, /Model tengrai-20231128-m-d\.safetensors is bound to engine gfpgan_1\.4, which is not available: model file .*gfpgan_1\.4\.onnx is missing; run `face-refiner models pull gfpgan_1\.4`/);
    assert.equal(failed.engine, null);

    // the other model is not affected, and says which engine refined it
    const other = await api.create({ imageUrl, model: NATURAL, outputFormat: 'png' });
    const done = await api.waitForStatus((other.body as { id: string }).id, ['succeeded', 'failed']);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.engine, 'classical');
  });

  test('once the file is in place (and verifies), the same service runs the restorer and reports it', async () => {
    installModel(modelsDir, 'gfpgan_1.4', identityRestorer());
    const [detail] = (await api.request('GET', '/v2/models')).body as Array<Record<string, unknown>>;
    assert.equal(detail?.ready, true);
    assert.match(String(detail?.detail), /gfpgan_1\.4\.onnx \(crc32 verified\)/);
    assert.equal((await api.withKey(undefined).request('GET', '/readyz')).body.status, 'ok');
    const created = await api.create({ imageUrl, model: DETAIL, outputFormat: 'png' });
    const done = await api.waitForStatus((created.body as { id: string }).id, ['succeeded', 'failed']);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.equal(done.engine, 'gfpgan_1.4');
    assert.equal(done.faces.length, 1);
  });

  test('refine --json reports the engine; an unavailable one is an error naming the pull command', () => {
    const cliData = tempDataDir('engines-cli');
    const env = { DATA_DIR: cliData, MODEL_ENGINES: `${DETAIL}=gfpgan_1.4` };
    const output = path.join(cliData, 'out.png');
    const missing = runCli(['refine', fixture('faces/astronaut.png'), '-o', output, '--model', DETAIL, '--json'], env);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /MODEL_UNAVAILABLE: Model tengrai-20231128-m-d\.safetensors is bound to engine gfpgan_1\.4.*run `face-refiner models pull gfpgan_1\.4`/);
    installModel(path.join(cliData, 'models'), 'gfpgan_1.4', identityRestorer());
    const ran = runCli(['refine', fixture('faces/astronaut.png'), '-o', output, '--model', DETAIL, '--json'], env);
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(JSON.parse(ran.stdout).engine, 'gfpgan_1.4');
    const classical = runCli(['refine', fixture('faces/astronaut.png'), '-o', output, '--model', NATURAL, '--json'], env);
    assert.equal(JSON.parse(classical.stdout).engine, 'classical');
  });

  test('EXECUTION_PROVIDER=cuda without the CUDA provider stops the start with what to do', async () => {
    const gpu = new ServiceProcess(tempDataDir('cuda'), { EXECUTION_PROVIDER: 'cuda', WORKER_CONCURRENCY: '1' });
    await assert.rejects(gpu.start(), /EXECUTION_PROVIDER=cuda but ONNX Runtime's CUDA provider cannot be loaded .*ONNXRUNTIME_NODE_INSTALL=cuda12 npm install.*EXECUTION_PROVIDER=cpu/s);
    await gpu.stop();
  });
});
