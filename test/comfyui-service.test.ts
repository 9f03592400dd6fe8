import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ApiClient } from './helpers/api.js';
import { ComfyStandIn } from './helpers/comfyui-stand-in.js';
import { LoopbackServer } from './helpers/loopback.js';
import { fixture } from './helpers/paths.js';
import { countChanged, decodePixels, nearBox } from './helpers/pixels.js';
import { ADMIN_KEY, freePort, ServiceProcess, tempDataDir } from './helpers/service.js';

const DETAIL = 'tengrai-20231128-m-d.safetensors';
const NATURAL = 'tengrai-20240423-m-f.safetensors';
const CHECKPOINT = 'sd15-face.safetensors';

const comfy = new ComfyStandIn({ checkpoints: [CHECKPOINT, 'other.safetensors'], stepMs: 20 });
const images = new LoopbackServer();
let imageUrl: string;

function serviceWith(dataDir: string, extra: Record<string, string> = {}): ServiceProcess {
  return new ServiceProcess(dataDir, {
    COMFYUI_URLS: comfy.url,
    MODEL_ENGINES: `${DETAIL}=comfyui:${CHECKPOINT},${NATURAL}=comfyui:sdxl-missing.safetensors@1024`,
    COMFYUI_STEPS: '6',
    WORKER_CONCURRENCY: '1',
    JOB_LEASE_SECONDS: '2',
    ...extra,
  });
}

const idOf = (response: { body: unknown }): string => (response.body as { id: string }).id;

async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the ComfyUI stand-in');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const sampler = (index: number): Record<string, unknown> | undefined =>
  Object.values(comfy.received[index]?.workflow ?? {}).find((node) => node.class_type === 'KSampler')?.inputs;

before(async () => {
  await comfy.start();
  await images.start();
  imageUrl = `${images.url}/fixtures/faces/astronaut.png`;
});
after(async () => {
  await comfy.close();
  await images.stop();
});

describe('generative refinement through ComfyUI, end to end', () => {
  let service: ServiceProcess;
  let api: ApiClient;
  before(async () => {
    service = serviceWith(tempDataDir('comfyui'));
    api = new ApiClient(await service.start(), ADMIN_KEY);
  });
  after(() => service.stop());

  test('checkpoints found on the instances at start: GET /v2/models and /readyz say which model can run', async () => {
    const models = await api.request('GET', '/v2/models');
    const [detail, natural] = models.body as Array<Record<string, unknown>>;
    assert.deepEqual(
      { engine: detail?.engine, kind: detail?.kind, ready: detail?.ready, detail: detail?.detail },
      { engine: `comfyui:${CHECKPOINT}`, kind: 'comfyui', ready: true, detail: `${CHECKPOINT} on 1 of 1 ComfyUI instances` },
    );
    assert.equal(natural?.ready, false);
    assert.match(String(natural?.reason), new RegExp(`no ComfyUI instance of COMFYUI_URLS has the checkpoint sdxl-missing\\.safetensors: ${comfy.url} has ${CHECKPOINT}, other\\.safetensors`));
    const ready = await api.withKey(undefined).request('GET', '/readyz');
    assert.equal(ready.body.status, 'degraded');
    assert.deepEqual(ready.body.modelsUnavailable.map((m: { model: string }) => m.model), [NATURAL]);
  });

  test('an artwork: the face is re-rendered with the seed and denoise asked, pasted over the face only', async () => {
    const before = comfy.received.length;
    const created = await api.create({ imageUrl, model: DETAIL, denoising: 4, seed: 4242, outputFormat: 'png' });
    assert.equal(created.status, 202);
    const done = await api.waitForStatus(idOf(created), ['succeeded', 'failed']);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.equal(done.engine, `comfyui:${CHECKPOINT}`);
    assert.equal(comfy.received.length, before + 1);
    assert.equal(sampler(before)?.seed, 4242);
    assert.equal(sampler(before)?.denoise, 0.5);
    assert.equal(sampler(before)?.steps, 6);

    const result = Buffer.from(await (await fetch(done.results[0])).arrayBuffer());
    const input = await decodePixels(fs.readFileSync(fixture('faces/astronaut.png')));
    const output = await decodePixels(result);
    const [x, y, w, h] = done.faces[0].box as [number, number, number, number];
    const changed = countChanged(input, output, nearBox([x, y, w, h], 1.6));
    assert.equal(changed.outside, 0, 'outside the face mask the PNG is bit-identical to the input');
    assert.ok(changed.inside > 0.5 * w * h, `the face was re-rendered (${changed.inside} pixels changed)`);
  });

  test('an execution error fails the artwork with GENERATOR_FAILED and ComfyUI\'s message', async () => {
    comfy.failNextWith = 'CUDA out of memory. Tried to allocate 1.50 GiB';
    const created = await api.create({ imageUrl, model: DETAIL, seed: 77, outputFormat: 'png' });
    const failed = await api.waitForStatus(idOf(created), ['succeeded', 'failed']);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'GENERATOR_FAILED');
    assert.match(failed.error.message, /ComfyUI failed while rendering: KSampler #8: CUDA out of memory/);
  });

  test('cancel reaches ComfyUI: the running prompt is interrupted', async () => {
    comfy.stepMs = 500;
    try {
      const before = comfy.received.length;
      const created = await api.create({ imageUrl, model: DETAIL, seed: 31, outputFormat: 'png' });
      await waitFor(() => comfy.received.length > before);
      const canceled = await api.request('POST', `/v2/artworks/${idOf(created)}/cancel`);
      assert.ok(canceled.status === 200 || canceled.status === 202, JSON.stringify(canceled.body));
      await waitFor(() => comfy.interrupts.some((i) => i.promptId === comfy.received[before]?.promptId && i.hit));
      assert.equal(((await api.get(idOf(created))).body as { status: string }).status, 'canceled');
    } finally {
      comfy.stepMs = 20;
    }
  });
});

describe('no ComfyUI instance answering', () => {
  test('GET /v2/models says so, and a job fails with GENERATOR_UNREACHABLE after the retries, not MODEL_UNAVAILABLE', async () => {
    // a port nothing listens on: every probe and every render attempt is refused
    const service = serviceWith(tempDataDir('comfyui-down'), { COMFYUI_URLS: `http://127.0.0.1:${await freePort()}` });
    const api = new ApiClient(await service.start(), ADMIN_KEY);
    try {
      const [detail] = (await api.request('GET', '/v2/models')).body as Array<Record<string, unknown>>;
      assert.equal(detail?.ready, false);
      assert.match(String(detail?.reason), /did not answer/);
      const created = await api.create({ imageUrl, model: DETAIL, outputFormat: 'png' });
      const failed = await api.waitForStatus(idOf(created), ['succeeded', 'failed'], 60_000);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error.code, 'GENERATOR_UNREACHABLE', JSON.stringify(failed.error));
    } finally {
      await service.stop();
    }
  });
});

describe('a worker SIGKILLed while ComfyUI renders', () => {
  test('after a restart the job finishes, following the prompt it had queued instead of queueing it again', async () => {
    const dataDir = tempDataDir('comfyui-kill');
    const first = serviceWith(dataDir);
    const api = new ApiClient(await first.start(), ADMIN_KEY);
    comfy.stepMs = 400;
    try {
      const before = comfy.received.length;
      const created = await api.create({ imageUrl, model: DETAIL, seed: 99, outputFormat: 'png' });
      await waitFor(() => comfy.received.length > before);
      assert.equal(await first.kill('SIGKILL'), null);
      const second = serviceWith(dataDir);
      const restarted = new ApiClient(await second.start(), ADMIN_KEY);
      try {
        const done = await restarted.waitForStatus(idOf(created), ['succeeded', 'failed'], 60_000);
        assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
        assert.equal(comfy.received.length, before + 1, 'one prompt for the face across both runs');
      } finally {
        await second.stop();
      }
    } finally {
      comfy.stepMs = 20;
    }
  });
});
