import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeImage } from '../src/ingest/decode.js';
import { detectFaces, type DetectedFace } from '../src/refine/detect.js';
import { MeshCheckedFaceDetector } from '../src/refine/face-detector.js';
import type { RgbImage } from '../src/refine/image.js';
import type { ModelName } from '../src/artworks/artwork.js';
import { JobError } from '../src/errors.js';
import { applyFaceDelta } from '../src/refine/blend.js';
import { promptPrefix } from '../src/refine/engines/comfyui/cluster.js';
import { ComfyFaceEngine, DEFAULT_GENERATION, jobKeyOf, type GenerationSettings } from '../src/refine/engines/comfyui/engine.js';
import { WorkflowTemplate } from '../src/refine/engines/comfyui/workflow.js';
import { checkpointBinding } from '../src/refine/engines/comfyui/binding.js';
import { engineProviders } from '../src/refine/engines/providers.js';
import { EngineRegistry } from '../src/refine/engines/registry.js';
import { loadConfig } from '../src/config.js';
import { engineSettings } from '../src/engine-settings.js';
import { ComfyStandIn } from './helpers/comfyui-stand-in.js';
import { fixture } from './helpers/paths.js';
import { nearBox } from './helpers/pixels.js';
import { tempDataDir } from './helpers/service.js';

const CHECKPOINT = 'sd15-face.safetensors';
const binding = { checkpoint: CHECKPOINT, size: 512 };

const MODEL: ModelName = 'tengrai-20231128-m-d.safetensors';

function engineFor(urls: string[], overrides: { generation?: Partial<GenerationSettings>; template?: WorkflowTemplate } = {}): ComfyFaceEngine {
  return new ComfyFaceEngine(binding, overrides.template ?? WorkflowTemplate.builtIn(), { ...DEFAULT_GENERATION, steps: 6, ...overrides.generation }, {
    urls,
    timeouts: { callMs: 2_000, transferMs: 5_000 },
    follow: { renderTimeoutMs: 20_000, historyPollMs: 200, maxPollFailures: 2 },
    rounds: 2,
    retryPauseMs: 100,
  });
}

/** The engine through the FaceEngine interface, blended the way the pipeline blends every engine's work. */
async function refine(engine: ComfyFaceEngine, denoising: number, seed: number | undefined, signal?: AbortSignal): Promise<RgbImage> {
  const works = await engine.refineFaces({ image: portrait, faces, model: MODEL, denoising, seed, signal });
  const target: RgbImage = { ...portrait, data: new Uint8Array(portrait.data) };
  const coverage = new Float32Array(portrait.width * portrait.height);
  for (const work of works) if (work) applyFaceDelta(portrait, target, coverage, work.frame, work.delta);
  return target;
}

const prefixFor = (denoising: number, seed: number | undefined): string => promptPrefix(jobKeyOf(portrait, MODEL, denoising, seed));

/** Mean absolute luminance change inside `inside`, and the count of changed pixels outside it. */
function changeInside(a: RgbImage, b: RgbImage, inside: (x: number, y: number) => boolean): { meanInside: number; changedOutside: number } {
  let sum = 0;
  let n = 0;
  let outside = 0;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const i = (y * a.width + x) * a.channels;
      const luma = (img: RgbImage): number => 0.299 * (img.data[i] as number) + 0.587 * (img.data[i + 1] as number) + 0.114 * (img.data[i + 2] as number);
      const d = Math.abs(luma(a) - luma(b));
      if (inside(x, y)) {
        sum += d;
        n++;
      } else if (a.data[i] !== b.data[i] || a.data[i + 1] !== b.data[i + 1] || a.data[i + 2] !== b.data[i + 2]) outside++;
    }
  }
  return { meanInside: sum / Math.max(1, n), changedOutside: outside };
}

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the stand-in');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const innerBox = (face: DetectedFace): [number, number, number, number] => [
  face.box.x + 0.3 * face.box.width,
  face.box.y + 0.35 * face.box.height,
  0.4 * face.box.width,
  0.4 * face.box.height,
];

let detector: MeshCheckedFaceDetector;
let portrait: RgbImage;
let faces: DetectedFace[];
const standIns: ComfyStandIn[] = [];

async function standIn(options?: ConstructorParameters<typeof ComfyStandIn>[0]): Promise<ComfyStandIn> {
  const instance = new ComfyStandIn(options);
  await instance.start();
  standIns.push(instance);
  return instance;
}

before(async () => {
  detector = await MeshCheckedFaceDetector.create();
  portrait = (await decodeImage(fs.readFileSync(fixture('faces/astronaut.png')), 50_000_000)).image;
  faces = await detectFaces(detector, portrait);
  assert.equal(faces.length, 1);
});

after(async () => {
  await Promise.all(standIns.map((s) => s.close()));
});

describe('ComfyUI engine against a stand-in built from ComfyUI server.py', () => {
  test('one face: crop and mask uploaded, the checkpoint, denoise, seed and prompts reach KSampler; the render lands on the face only', async () => {
    const comfy = await standIn({ checkpoints: [CHECKPOINT] });
    const engine = engineFor([comfy.url]);
    await engine.cluster.probeCheckpoints();
    const image = await refine(engine, 3, 1234);

    assert.deepEqual(comfy.uploads.map((u) => u.route), ['/upload/image', '/upload/mask']);
    assert.equal(comfy.received.length, 1);
    const { workflow, promptId, clientId } = comfy.received[0]!;
    assert.ok(promptId.startsWith(prefixFor(3, 1234)), promptId);
    assert.ok(clientId, 'queued with a client_id so /ws carries its messages');
    const byClass = (name: string) => Object.values(workflow).filter((n) => n.class_type === name);
    assert.equal(byClass('CheckpointLoaderSimple')[0]?.inputs.ckpt_name, CHECKPOINT);
    const sampler = byClass('KSampler')[0]!.inputs;
    assert.equal(sampler.seed, 1234);
    assert.equal(sampler.denoise, 0.4);
    assert.equal(sampler.steps, 6);
    assert.equal(sampler.sampler_name, DEFAULT_GENERATION.sampler);
    assert.deepEqual(byClass('CLIPTextEncode').map((n) => n.inputs.text), [DEFAULT_GENERATION.positive, DEFAULT_GENERATION.negative]);
    assert.equal(byClass('LoadImage')[0]?.inputs.image, comfy.uploads[1]?.name, 'LoadImage reads the file /upload/mask wrote');
    assert.ok(comfy.socketMessages.some((m) => m.type === 'progress' && m.data.prompt_id === promptId));

    const face = faces[0]!;
    const change = changeInside(portrait, image, nearBox(innerBox(face), 1));
    assert.ok(change.meanInside > 15, `the stripes show on the face: mean change ${change.meanInside.toFixed(1)}`);
    const outside = changeInside(portrait, image, nearBox([face.box.x, face.box.y, face.box.width, face.box.height], 1.6));
    assert.equal(outside.changedOutside, 0, 'pixels outside the face mask are bit-identical');
  });

  test('same seed, same output; another seed, another output; a higher level re-renders more', async () => {
    const comfy = await standIn({ checkpoints: [CHECKPOINT] });
    const engine = engineFor([comfy.url]);
    const a = await refine(engine, 3, 5);
    const b = await refine(engine, 3, 5);
    const c = await refine(engine, 3, 6);
    const d = await refine(engine, 5, 5);
    assert.ok(Buffer.from(a.data).equals(Buffer.from(b.data)));
    assert.ok(!Buffer.from(a.data).equals(Buffer.from(c.data)));
    const inner = nearBox(innerBox(faces[0]!), 1);
    assert.ok(changeInside(portrait, d, inner).meanInside > changeInside(portrait, a, inner).meanInside * 1.2);
    assert.deepEqual(comfy.received.map((r) => Object.values(r.workflow).find((n) => n.class_type === 'KSampler')?.inputs.denoise), [0.4, 0.4, 0.4, 0.6]);
  });

  test('a workflow ComfyUI refuses fails with GENERATOR_REJECTED and ComfyUI\'s own message', async () => {
    const comfy = await standIn({ checkpoints: [CHECKPOINT] });
    const engine = engineFor([comfy.url], { generation: { sampler: 'not_a_sampler' } });
    await assert.rejects(refine(engine, 3, 1), (error: unknown) => {
      assert.ok(error instanceof JobError);
      assert.equal(error.code, 'GENERATOR_REJECTED');
      assert.match(error.message, /Prompt outputs failed validation/);
      assert.match(error.message, /KSampler #8: Value not in list \(sampler_name: 'not_a_sampler'/);
      return true;
    });
    assert.equal(comfy.rejected.length, 1);
  });

  test('an unknown node class in a user template is refused the way ComfyUI refuses it', async () => {
    const comfy = await standIn({ checkpoints: [CHECKPOINT] });
    const dir = tempDataDir('workflow');
    const template = JSON.parse(fs.readFileSync(path.join(process.cwd(), 'src/refine/engines/comfyui/workflow-template.json'), 'utf8'));
    template['7'].class_type = 'FaceDetailerPlus';
    const file = path.join(dir, 'workflow.json');
    fs.writeFileSync(file, JSON.stringify(template));
    const engine = engineFor([comfy.url], { template: WorkflowTemplate.fromFile(file) });
    await assert.rejects(refine(engine, 3, 1), (error: unknown) => {
      assert.ok(error instanceof JobError && error.code === 'GENERATOR_REJECTED');
      assert.match(error.message, /Cannot execute because node FaceDetailerPlus does not exist/);
      return true;
    });
  });

  test('an execution error fails with GENERATOR_FAILED and the exception message', async () => {
    const comfy = await standIn({ checkpoints: [CHECKPOINT] });
    comfy.failNextWith = 'CUDA out of memory. Tried to allocate 2.00 GiB';
    const engine = engineFor([comfy.url]);
    await assert.rejects(refine(engine, 3, 1), (error: unknown) => {
      assert.ok(error instanceof JobError);
      assert.equal(error.code, 'GENERATOR_FAILED');
      assert.match(error.message, /KSampler #8: CUDA out of memory/);
      return true;
    });
  });

  test('two instances, the busy-free one goes down mid-render: the face is rendered on the other', async () => {
    const flaky = await standIn({ checkpoints: [CHECKPOINT], stepMs: 100 });
    const steady = await standIn({ checkpoints: [CHECKPOINT], stepMs: 100 });
    const engine = engineFor([steady.url, flaky.url]);
    // another job keeps the steady one busy, so the least-busy choice sends this face to the flaky one first
    const blocking = refine(engineFor([steady.url]), 3, 2);
    await waitFor(() => steady.received.length > 0);
    const started = waitFor(() => flaky.received.length > 0);
    const refining = refine(engine, 3, 22);
    await started;
    await flaky.crash();
    const result = await refining;
    await blocking;
    assert.equal(flaky.received.length, 1);
    assert.ok(steady.received.some((r) => r.promptId.startsWith(prefixFor(3, 22))), 'the face went to the other instance');
    const change = changeInside(portrait, result, nearBox(innerBox(faces[0]!), 1));
    assert.ok(change.meanInside > 15);
  });

  test('a checkpoint gone from the least busy instance since the last probe: the face goes to one that has it', async () => {
    const without = await standIn({ checkpoints: ['other.safetensors'] });
    const withIt = await standIn({ checkpoints: [CHECKPOINT], stepMs: 50 });
    const blocking = refine(engineFor([withIt.url]), 3, 41);
    await waitFor(() => withIt.received.length > 0);
    const image = await refine(engineFor([withIt.url, without.url]), 3, 42);
    await blocking;
    assert.equal(without.rejected.length, 1, 'the instance without it was tried first and refused');
    assert.equal(withIt.received.length, 2);
    assert.ok(changeInside(portrait, image, nearBox(innerBox(faces[0]!), 1)).meanInside > 15);
    await assert.rejects(refine(engineFor([without.url]), 3, 43), (error: unknown) => {
      assert.ok(error instanceof JobError && error.code === 'GENERATOR_REJECTED');
      assert.match(error.message, /ckpt_name: 'sd15-face\.safetensors' not in/);
      return true;
    });
  });

  test('no instance reachable: GENERATOR_UNREACHABLE after the retries', async () => {
    const gone = await standIn({ checkpoints: [CHECKPOINT] });
    await gone.crash();
    const engine = engineFor([gone.url]);
    await assert.rejects(refine(engine, 3, 1), (error: unknown) => {
      assert.ok(error instanceof JobError);
      assert.equal(error.code, 'GENERATOR_UNREACHABLE');
      assert.match(error.message, /after 2 rounds/);
      return true;
    });
  });

  test('cancel: the running prompt is interrupted by its prompt_id, a pending one dequeued', async () => {
    // 6 s a render: the first prompt is still running whatever the machine's load when the second is queued
    const comfy = await standIn({ checkpoints: [CHECKPOINT], stepMs: 1000 });
    const cancelRunning = new AbortController();
    const cancelPending = new AbortController();
    const running = refine(engineFor([comfy.url]), 3, 1, cancelRunning.signal);
    const pending = refine(engineFor([comfy.url]), 3, 2, cancelPending.signal);
    await waitFor(() => comfy.received.length >= 2);
    // what the pool does for a canceled job: the thread's signal is aborted, the engine stops ComfyUI's work
    // both at once: the interrupt only takes effect at the next sampler step, so the second is still pending
    cancelRunning.abort(new Error('canceled'));
    cancelPending.abort(new Error('canceled'));
    // both rejections awaited together: the pending one may settle while the running one is still awaited
    await Promise.all([assert.rejects(running), assert.rejects(pending)]);
    assert.deepEqual(comfy.interrupts, [{ promptId: comfy.received[0]?.promptId, hit: true }]);
    assert.deepEqual(comfy.dequeued, [comfy.received[1]?.promptId]);
    await waitFor(() => !comfy.busy);
    assert.deepEqual(
      comfy.socketMessages.filter((m) => m.type === 'execution_interrupted').map((m) => m.data.prompt_id),
      [comfy.received[0]?.promptId],
    );
  });
});

describe('workflow templates', () => {
  test('the built-in template names the nodes the issue lists and every required placeholder', () => {
    const filled = WorkflowTemplate.builtIn().fill({
      checkpoint: 'c.safetensors', image: 'i.png', positive: 'p', negative: 'n', seed: 3, steps: 20, cfg: 7,
      sampler: 'euler', scheduler: 'normal', denoise: 0.4, width: 512, height: 512, filename_prefix: 'x',
    });
    const classes = Object.values(filled).map((n) => n.class_type).sort();
    assert.deepEqual(classes, ['CLIPTextEncode', 'CLIPTextEncode', 'CheckpointLoaderSimple', 'KSampler', 'LoadImage', 'LoadImageMask', 'SaveImage', 'SetLatentNoiseMask', 'VAEDecode', 'VAEEncode']);
    const sampler = Object.values(filled).find((n) => n.class_type === 'KSampler')!;
    assert.equal(sampler.inputs.seed, 3, 'a whole-string placeholder keeps the number type');
  });

  test('a bad template is refused at start with what is accepted', () => {
    assert.throws(() => WorkflowTemplate.parse('{"nodes": [], "links": []}', 'ui.json'), /Expected ComfyUI's API format for ui.json .*Save \(API\)/);
    assert.throws(
      () => WorkflowTemplate.parse('{"1": {"class_type": "SaveImage", "inputs": {"x": "{{image}} {{checkpoint}} {{seed}} {{denoise}} {{strength}}"}}}', 'mine.json'),
      /Expected only the placeholders .* but received \{\{strength\}\}/,
    );
    assert.throws(() => WorkflowTemplate.parse('{"1": {"class_type": "SaveImage", "inputs": {"x": "{{image}}"}}}', 'mine.json'), /Expected the placeholders \{\{checkpoint\}\}, \{\{seed\}\}, \{\{denoise\}\}/);
  });
});

describe('ComfyUI configuration', () => {
  const base = { DATA_DIR: tempDataDir('comfy-config') };
  const bound = `${MODEL}=comfyui:${CHECKPOINT}`;
  const registryFor = (env: Record<string, string>): EngineRegistry => {
    const settings = engineSettings(loadConfig({ ...base, ...env }));
    return new EngineRegistry(settings, engineProviders(settings));
  };

  test('a comfyui binding without COMFYUI_URLS, a bad URL, a bad working size or template stops the start with what is accepted', () => {
    assert.throws(() => registryFor({ MODEL_ENGINES: bound }), /Expected COMFYUI_URLS \(base URLs of ComfyUI servers\) for a comfyui: binding but it is not set/);
    assert.throws(() => loadConfig({ ...base, COMFYUI_URLS: 'ftp://gpu:8188' }), /Expected comma-separated http\(s\) base URLs of ComfyUI servers for COMFYUI_URLS but received "ftp:\/\/gpu:8188"/);
    assert.throws(
      () => registryFor({ MODEL_ENGINES: `${bound}@1000`, COMFYUI_URLS: 'http://127.0.0.1:9' }),
      /Expected comfyui:<checkpoint>@<working size> with a size from 256 to 2048 in steps of 64 .* but received "comfyui:sd15-face\.safetensors@1000"/,
    );
    const file = path.join(tempDataDir('comfy-template'), 'ui.json');
    fs.writeFileSync(file, '{"nodes": [], "links": []}');
    assert.throws(() => registryFor({ MODEL_ENGINES: bound, COMFYUI_URLS: 'http://127.0.0.1:9', COMFYUI_WORKFLOW: file }), /Save \(API\)/);
    assert.throws(() => loadConfig({ ...base, COMFYUI_URLS: 'http://gpu:8188', COMFYUI_STEPS: '0' }), /Expected an integer between 1 and 150 for COMFYUI_STEPS but received "0"/);
  });

  test('COMFYUI_* settings reach the engine settings; @1024 is the SDXL working size', () => {
    const settings = engineSettings(loadConfig({ ...base, COMFYUI_URLS: 'http://gpu1:8188/, http://gpu2:8188', COMFYUI_STEPS: '30', COMFYUI_CFG: '5.5', COMFYUI_SAMPLER: 'euler' }));
    assert.deepEqual(settings.comfyui?.urls, ['http://gpu1:8188', 'http://gpu2:8188']);
    assert.deepEqual([settings.comfyui?.generation.steps, settings.comfyui?.generation.cfg, settings.comfyui?.generation.sampler, settings.comfyui?.generation.scheduler], [30, 5.5, 'euler', 'karras']);
    assert.deepEqual(checkpointBinding({ kind: 'comfyui', checkpoint: 'juggernautXL.safetensors@1024' }), { checkpoint: 'juggernautXL.safetensors', size: 1024 });
    assert.deepEqual(checkpointBinding({ kind: 'comfyui', checkpoint: 'v1-5.safetensors' }), { checkpoint: 'v1-5.safetensors', size: 512 });
  });
});
