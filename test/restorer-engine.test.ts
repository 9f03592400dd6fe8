import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { ModelName } from '../src/artworks/artwork.js';
import { decodeImage } from '../src/ingest/decode.js';
import type { EngineBinding } from '../src/refine/engines/engine.js';
import { DataType } from '../src/refine/engines/onnx-graph.js';
import { engineProviders } from '../src/refine/engines/providers.js';
import { EngineRegistry } from '../src/refine/engines/registry.js';
import { parseUserEntries, type RestorerEntry } from '../src/refine/engines/restorers/catalogue.js';
import type { EngineSettings } from '../src/refine/engines/settings.js';
import { MeshCheckedFaceDetector } from '../src/refine/face-detector.js';
import type { RgbImage } from '../src/refine/image.js';
import { refineFaces, type RefinedFace, type RefinedImage } from '../src/refine/pipeline.js';
import { alignFace } from '../src/refine/engines/aligned-face.js';
import { codeformerLike, identityRestorer, installModel, invertingRestorer } from './helpers/onnx-graphs.js';
import { fixture } from './helpers/paths.js';

const MODEL: ModelName = 'tengrai-20231128-m-d.safetensors';
let detector: MeshCheckedFaceDetector;
let portrait: RgbImage;
let tilted: RgbImage;
let large: RgbImage;
const dirs: string[] = [];

function registryWith(binding: EngineBinding, files: Record<string, Buffer>, userEntries: RestorerEntry[] = []): EngineRegistry {
  const modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'face-refiner-restorers-'));
  dirs.push(modelsDir);
  for (const [name, bytes] of Object.entries(files)) installModel(modelsDir, name, bytes);
  const settings: EngineSettings = {
    bindings: { [MODEL]: binding },
    restorers: { modelsDir, userEntries, executionProvider: 'cpu', intraOpThreads: 1 },
  };
  return new EngineRegistry(settings, engineProviders(settings));
}

async function refineWith(registry: EngineRegistry, image: RgbImage, denoising: number): Promise<RefinedImage> {
  const engine = await registry.engineFor(MODEL);
  return refineFaces(detector, image, { model: MODEL, denoising }, undefined, { engine });
}

const luma = (img: RgbImage, i: number): number =>
  0.299 * (img.data[i * img.channels] as number) + 0.587 * (img.data[i * img.channels + 1] as number) + 0.114 * (img.data[i * img.channels + 2] as number);

/** Largest channel change where the masks are 0, and where they are (nearly) full. */
function changes(source: RgbImage, refined: RefinedImage): { outside: number; inside: number; covered: number } {
  let outside = 0;
  let inside = 0;
  let covered = 0;
  for (let p = 0; p < refined.coverage.length; p++) {
    const c = refined.coverage[p] as number;
    let most = 0;
    for (let ch = 0; ch < 3; ch++) most = Math.max(most, Math.abs((refined.image.data[p * source.channels + ch] as number) - (source.data[p * source.channels + ch] as number)));
    if (c === 0) outside = Math.max(outside, most);
    else {
      covered++;
      inside = Math.max(inside, most);
    }
  }
  return { outside, inside, covered };
}

/**
 * Where the mask is full, an inverted face pasted exactly over the original makes original + result the same
 * everywhere (twice the face's mean, after colour matching). Misplaced, rotated or flipped by even a few
 * pixels, the sum shows the face's edges. Answers the share of core pixels within 12 levels of the median sum.
 */
function invertedInPlace(source: RgbImage, refined: RefinedImage): { share: number; core: number } {
  const sums: number[] = [];
  for (let p = 0; p < refined.coverage.length; p++) {
    if ((refined.coverage[p] as number) >= 0.999) sums.push(luma(source, p) + luma(refined.image, p));
  }
  const sorted = [...sums].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  return { share: sums.filter((s) => Math.abs(s - median) < 12).length / sums.length, core: sums.length };
}

before(async () => {
  detector = await MeshCheckedFaceDetector.create();
  const bytes = fs.readFileSync(fixture('faces/astronaut.png'));
  portrait = (await decodeImage(bytes, 1e8)).image;
  const turned = await sharp(bytes).rotate(28, { background: '#808080' }).png().toBuffer();
  tilted = (await decodeImage(turned, 1e8)).image;
  // the face 4x: larger than the model's input, so it is area-sampled down and its change upsampled
  const closeUp = await sharp(bytes).extract({ left: 80, top: 0, width: 320, height: 320 }).resize(1280, 1280, { kernel: 'lanczos3' }).png().toBuffer();
  large = (await decodeImage(closeUp, 1e8)).image;
});
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('learned restorers on ONNX Runtime (graphs the tests build)', () => {
  test('an identity graph with GFPGAN 1.4 signature: the round trip changes nothing, outside the mask bit for bit', async () => {
    const registry = registryWith({ kind: 'restorer', model: 'gfpgan_1.4' }, { 'gfpgan_1.4': identityRestorer() });
    const refined = await refineWith(registry, portrait, 5);
    assert.equal(refined.engine, 'gfpgan_1.4');
    assert.equal(refined.faces.length, 1);
    const { outside, inside, covered } = changes(portrait, refined);
    assert.equal(outside, 0);
    assert.ok(covered > 10_000, `mask covers ${covered} pixels`);
    // only the change travels back: an identity restorer leaves float rounding, at most one level
    assert.ok(inside <= 1, `largest change inside the mask ${inside}`);
    // one session per thread, built once and reused by every job
    assert.equal(await registry.engineFor(MODEL), await registry.engineFor(MODEL));
    await registry.close();
  });

  test('a model file replaced by a new pull is loaded again by the next job, not served from the old session', async () => {
    const registry = registryWith({ kind: 'restorer', model: 'gfpgan_1.4' }, { 'gfpgan_1.4': identityRestorer() });
    const first = await registry.engineFor(MODEL);
    assert.ok(changes(portrait, await refineWith(registry, portrait, 5)).inside <= 1);
    const file = (await registry.report())[0]?.detail?.split(' ')[0] ?? '';
    // what models pull does: the new file renamed into place, its hash beside it
    installModel(path.dirname(file), 'gfpgan_1.4', invertingRestorer());
    assert.notEqual(await registry.engineFor(MODEL), first);
    assert.ok(changes(portrait, await refineWith(registry, portrait, 5)).inside > 100, 'the new graph ran');
    await registry.close();
  });

  for (const [label, which] of [['upright', () => portrait], ['tilted 28 degrees', () => tilted], ['larger than the input', () => large]] as const) {
    test(`an inverting graph: the negative face lands exactly over the face (${label})`, async () => {
      const registry = registryWith({ kind: 'restorer', model: 'gfpgan_1.4' }, { 'gfpgan_1.4': invertingRestorer() });
      const image = which();
      const refined = await refineWith(registry, image, 5);
      assert.equal(refined.faces.length, 1);
      // the large photo's face is sampled down into the model's input, the others are warped up
      const scale = alignFace(image, (refined.faces[0] as RefinedFace).detected, 'ffhq_512', 512).frame.scale;
      assert.ok(label === 'larger than the input' ? scale < 1 : scale > 1, `scale ${scale}`);
      const { outside, inside } = changes(image, refined);
      assert.equal(outside, 0);
      assert.ok(inside > 100, `the face was inverted (largest change ${inside})`);
      const { share, core } = invertedInPlace(image, refined);
      assert.ok(core > 2_000, `full-mask core of ${core} pixels`);
      assert.ok(share > 0.9, `${(share * 100).toFixed(1)}% of the core sums to the same value`);
      process.stdout.write(`# ${label}: ${(share * 100).toFixed(1)}% of ${core} core pixels sum to the same value (scale ${scale.toFixed(2)})\n`);
      await registry.close();
    });
  }

  test('a CodeFormer-shaped graph: the fidelity weight comes from denoising', async () => {
    // face x weight: weight 1 (denoising 1) answers the face itself; weight 0 (denoising 5) a flat grey face
    for (const names of [{ image: 'input', weight: 'weight' }, { image: 'x', weight: 'w' }]) {
      const registry = registryWith({ kind: 'restorer', model: 'codeformer' }, { codeformer: codeformerLike(512, names) });
      const faithful = changes(portrait, await refineWith(registry, portrait, 1));
      const free = changes(portrait, await refineWith(registry, portrait, 5));
      const middle = changes(portrait, await refineWith(registry, portrait, 3));
      assert.ok(faithful.inside <= 1, `weight 1 keeps the face (${names.weight}): ${faithful.inside}`);
      assert.ok(free.inside > 40, `weight 0 flattens it (${names.weight}): ${free.inside}`);
      assert.ok(middle.inside > faithful.inside && middle.inside < free.inside, `weight 0.5 in between: ${middle.inside}`);
      await registry.close();
    }
  });

  test('a float32 weight input is fed as float32', async () => {
    const registry = registryWith({ kind: 'restorer', model: 'codeformer' }, { codeformer: codeformerLike(512, { image: 'input', weight: 'weight' }, DataType.FLOAT) });
    assert.ok(changes(portrait, await refineWith(registry, portrait, 5)).inside > 40);
    await registry.close();
  });

  test('a wrong-shaped graph is refused at load with both shapes named, and the job fails MODEL_UNAVAILABLE', async () => {
    const registry = registryWith({ kind: 'restorer', model: 'gfpgan_1.4' }, { 'gfpgan_1.4': identityRestorer(256) });
    await assert.rejects(registry.engineFor(MODEL), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'MODEL_UNAVAILABLE');
      assert.match(error.message, /Expected gfpgan_1\.4 \(gfpgan\) to take one float32 input \[1,3,512,512\] but its inputs are: input float32\[1,3,256,256\]/);
      return true;
    });
    const codeformerWithoutWeight = registryWith({ kind: 'restorer', model: 'codeformer' }, { codeformer: identityRestorer() });
    await assert.rejects(codeformerWithoutWeight.engineFor(MODEL), /Expected codeformer \(codeformer\) to take a second input, the fidelity weight/);
    const garbage = registryWith({ kind: 'restorer', model: 'gfpgan_1.4' }, { 'gfpgan_1.4': Buffer.from('not a protobuf at all') });
    await assert.rejects(garbage.engineFor(MODEL), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'MODEL_UNAVAILABLE');
      assert.match(error.message, /which is not available: ONNX Runtime cannot load .*gfpgan_1\.4\.onnx for gfpgan_1\.4: /);
      return true;
    });
  });

  test('a missing file, a missing hash and a corrupted file are not ready, each with the pull command', async () => {
    const missing = registryWith({ kind: 'restorer', model: 'gfpgan_1.4' }, {});
    const [report] = await missing.report();
    assert.equal(report?.ready, false);
    assert.match(report?.reason ?? '', /model file .*gfpgan_1\.4\.onnx is missing; run `face-refiner models pull gfpgan_1\.4`/);
    await assert.rejects(missing.engineFor(MODEL), (error: Error & { code?: string }) => error.code === 'MODEL_UNAVAILABLE' && /gfpgan_1\.4\.onnx is missing/.test(error.message));

    const corrupted = registryWith({ kind: 'restorer', model: 'gfpgan_1.4' }, { 'gfpgan_1.4': identityRestorer() });
    const file = (await corrupted.report())[0]?.detail?.split(' ')[0] ?? '';
    assert.match(file, /gfpgan_1\.4\.onnx$/);
    fs.appendFileSync(file, 'tampered');
    const [bad] = await corrupted.report();
    assert.match(bad?.reason ?? '', /fails verification \(crc32 [0-9a-f]{8}, expected [0-9a-f]{8}\); delete it and run `face-refiner models pull gfpgan_1\.4`/);
    fs.rmSync(file.replace(/\.onnx$/, '.hash'));
    const [unhashed] = await corrupted.report();
    assert.match(unhashed?.reason ?? '', /has no published hash beside it/);
  });

  test('a MODELS_FILE entry without a hash is used as it is and listed as unverified; an unknown name stops the start', async () => {
    const own = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'face-refiner-own-')), 'finetuned.onnx');
    dirs.push(path.dirname(own));
    fs.writeFileSync(own, identityRestorer());
    const entries = parseUserEntries(JSON.stringify([{ name: 'my-gfpgan', file: own, kind: 'gfpgan', size: 512, template: 'ffhq_512' }]), 'test');
    const registry = registryWith({ kind: 'restorer', model: 'my-gfpgan' }, {}, entries);
    const [report] = await registry.report();
    assert.equal(report?.ready, true);
    assert.match(report?.detail ?? '', /finetuned\.onnx \(unverified: MODELS_FILE gives no sha256\)/);
    assert.equal((await refineWith(registry, portrait, 3)).engine, 'my-gfpgan');
    await registry.close();
    assert.throws(() => registryWith({ kind: 'restorer', model: 'nope' }, {}), /MODEL_ENGINES: tengrai-20231128-m-d\.safetensors: Expected a restorer from the catalogue \(codeformer, gfpgan_1\.2,.*\) or an entry of MODELS_FILE but received "nope"/);
    assert.throws(() => parseUserEntries('[{"name":"x","file":"x.onnx","kind":"gan","size":512,"template":"ffhq_512"}]', 'MODELS_FILE m.json'), /MODELS_FILE m\.json: 0\.kind: /);
  });
});
