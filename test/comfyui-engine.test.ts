import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeImage } from '../src/ingest/decode.js';
import { detectFaces, type DetectedFace } from '../src/refine/detect.js';
import { HumanFrameDetector } from '../src/refine/human-detector.js';
import type { RgbImage } from '../src/refine/image.js';
import { DEFAULT_GENERATION, ComfyFaceEngine, type ComfyEngineConfig } from '../src/refine/engines/comfyui/engine.js';
import { JobError } from '../src/errors.js';
import { promptPrefix } from '../src/refine/engines/comfyui/cluster.js';
import { WorkflowTemplate } from '../src/refine/engines/comfyui/workflow.js';
import { ComfyStandIn } from './helpers/comfyui-stand-in.js';
import { fixture } from './helpers/paths.js';
import { nearBox } from './helpers/pixels.js';
import { tempDataDir } from './helpers/service.js';

const CHECKPOINT = 'sd15-face.safetensors';
const binding = { checkpoint: CHECKPOINT, size: 512 };

function engineFor(urls: string[], overrides: Partial<ComfyEngineConfig> = {}): ComfyFaceEngine {
  return new ComfyFaceEngine({
    urls,
    workflowFile: undefined,
    generation: { ...DEFAULT_GENERATION, steps: 6 },
    cluster: {
      timeouts: { callMs: 2_000, transferMs: 5_000 },
      follow: { renderTimeoutMs: 20_000, historyPollMs: 200, maxPollFailures: 2 },
      rounds: 2,
      retryPauseMs: 100,
    },
    ...overrides,
  });
}

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

let detector: HumanFrameDetector;
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
  detector = await HumanFrameDetector.create();
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
    const result = await engine.refine(portrait, faces, { binding, denoising: 3, seed: 1234, jobKey: 'art-one' });

    assert.deepEqual(comfy.uploads.map((u) => u.route), ['/upload/image', '/upload/mask']);
    assert.equal(comfy.received.length, 1);
    const { workflow, promptId, clientId } = comfy.received[0]!;
    assert.ok(promptId.startsWith(promptPrefix('art-one')), promptId);
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
    const change = changeInside(portrait, result.image, nearBox(innerBox(face), 1));
    assert.ok(change.meanInside > 15, `the stripes show on the face: mean change ${change.meanInside.toFixed(1)}`);
    const outside = changeInside(portrait, result.image, nearBox([face.box.x, face.box.y, face.box.width, face.box.height], 2.2));
    assert.equal(outside.changedOutside, 0, 'pixels outside the face mask are bit-identical');
  });

  test('same seed, same output; another seed, another output; a higher level re-renders more', async () => {
    const comfy = await standIn({ checkpoints: [CHECKPOINT] });
    const engine = engineFor([comfy.url]);
    const a = await engine.refine(portrait, faces, { binding, denoising: 3, seed: 5, jobKey: 'seed-a' });
    const b = await engine.refine(portrait, faces, { binding, denoising: 3, seed: 5, jobKey: 'seed-b' });
    const c = await engine.refine(portrait, faces, { binding, denoising: 3, seed: 6, jobKey: 'seed-c' });
    const d = await engine.refine(portrait, faces, { binding, denoising: 5, seed: 5, jobKey: 'seed-d' });
    assert.ok(Buffer.from(a.image.data).equals(Buffer.from(b.image.data)));
    assert.ok(!Buffer.from(a.image.data).equals(Buffer.from(c.image.data)));
    const inner = nearBox(innerBox(faces[0]!), 1);
    assert.ok(changeInside(portrait, d.image, inner).meanInside > changeInside(portrait, a.image, inner).meanInside * 1.2);
    assert.deepEqual(comfy.received.map((r) => Object.values(r.workflow).find((n) => n.class_type === 'KSampler')?.inputs.denoise), [0.4, 0.4, 0.4, 0.6]);
  });

  test('a workflow ComfyUI refuses fails with GENERATOR_REJECTED and ComfyUI\'s own message', async () => {
    const comfy = await standIn({ checkpoints: [CHECKPOINT] });
    const engine = engineFor([comfy.url], { generation: { ...DEFAULT_GENERATION, steps: 6, sampler: 'not_a_sampler' } });
    await assert.rejects(engine.refine(portrait, faces, { binding, denoising: 3, seed: 1, jobKey: 'rejected' }), (error: unknown) => {
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
    const engine = engineFor([comfy.url], { workflowFile: file });
    await assert.rejects(engine.refine(portrait, faces, { binding, denoising: 3, seed: 1, jobKey: 'unknown-node' }), (error: unknown) => {
      assert.ok(error instanceof JobError && error.code === 'GENERATOR_REJECTED');
      assert.match(error.message, /Cannot execute because node FaceDetailerPlus does not exist/);
      return true;
    });
  });

  test('an execution error fails with GENERATOR_FAILED and the exception message', async () => {
    const comfy = await standIn({ checkpoints: [CHECKPOINT] });
    comfy.failNextWith = 'CUDA out of memory. Tried to allocate 2.00 GiB';
    const engine = engineFor([comfy.url]);
    await assert.rejects(engine.refine(portrait, faces, { binding, denoising: 3, seed: 1, jobKey: 'exec-error' }), (error: unknown) => {
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
    const blocking = engineFor([steady.url]).refine(portrait, faces, { binding, denoising: 3, seed: 2, jobKey: 'blocker' });
    await waitFor(() => steady.received.length > 0);
    const started = waitFor(() => flaky.received.length > 0);
    const refining = engine.refine(portrait, faces, { binding, denoising: 3, seed: 2, jobKey: 'failover' });
    await started;
    await flaky.crash();
    const result = await refining;
    await blocking;
    assert.equal(flaky.received.length, 1);
    assert.ok(steady.received.some((r) => r.promptId.startsWith(promptPrefix('failover'))), 'the face went to the other instance');
    const change = changeInside(portrait, result.image, nearBox(innerBox(faces[0]!), 1));
    assert.ok(change.meanInside > 15);
  });

  test('no instance reachable: GENERATOR_UNREACHABLE after the retries', async () => {
    const gone = await standIn({ checkpoints: [CHECKPOINT] });
    await gone.crash();
    const engine = engineFor([gone.url]);
    await assert.rejects(engine.refine(portrait, faces, { binding, denoising: 3, seed: 1, jobKey: 'unreachable' }), (error: unknown) => {
      assert.ok(error instanceof JobError);
      assert.equal(error.code, 'GENERATOR_UNREACHABLE');
      assert.match(error.message, /after 2 rounds/);
      return true;
    });
  });

  test('cancel: the running prompt is interrupted by its prompt_id, a pending one dequeued', async () => {
    const comfy = await standIn({ checkpoints: [CHECKPOINT], stepMs: 200 });
    const engine = engineFor([comfy.url]);
    const abort = new AbortController();
    const first = engine.refine(portrait, faces, { binding, denoising: 3, seed: 1, jobKey: 'cancel-me', signal: abort.signal });
    const second = engineFor([comfy.url]).refine(portrait, faces, { binding, denoising: 3, seed: 1, jobKey: 'cancel-me-too', signal: abort.signal });
    await waitFor(() => comfy.received.length >= 2);
    // what a canceled job's worker does: its refine stops (the thread is ended), then the runner cancels the prompts
    abort.abort(new Error('canceled'));
    await assert.rejects(first);
    await assert.rejects(second);
    const running = await engine.cluster.cancelArtwork('cancel-me');
    const pending = await engine.cluster.cancelArtwork('cancel-me-too');
    assert.deepEqual(running, { dequeued: 0, interrupted: 1 });
    assert.deepEqual(pending, { dequeued: 1, interrupted: 0 });
    assert.equal(comfy.interrupts[0]?.promptId, comfy.received[0]?.promptId);
    assert.equal(comfy.interrupts[0]?.hit, true);
    assert.deepEqual(comfy.dequeued, [comfy.received[1]?.promptId]);
    await waitFor(() => !comfy.busy);
    assert.deepEqual(comfy.socketMessages.filter((m) => m.type === 'execution_interrupted').map((m) => m.data.prompt_id), [comfy.received[0]?.promptId]);
  });

  test('a re-run finds the prompt its killed predecessor queued and follows it instead of queueing again', async () => {
    const comfy = await standIn({ checkpoints: [CHECKPOINT], stepMs: 50 });
    const abort = new AbortController();
    const first = engineFor([comfy.url]).refine(portrait, faces, { binding, denoising: 3, seed: 9, jobKey: 'resume', signal: abort.signal });
    await waitFor(() => comfy.received.length >= 1);
    abort.abort(new Error('worker killed'));
    await assert.rejects(first);
    const again = await engineFor([comfy.url]).refine(portrait, faces, { binding, denoising: 3, seed: 9, jobKey: 'resume' });
    assert.equal(comfy.received.length, 1, 'the prompt was queued once');
    assert.ok(changeInside(portrait, again.image, nearBox(innerBox(faces[0]!), 1)).meanInside > 15);
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
