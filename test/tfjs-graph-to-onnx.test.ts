import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { defaultModelDir, packageDir, serveFileUrlsToFetch } from '../src/refine/model-files.js';
import { convertTfjsGraph } from '../src/refine/tfjs-graph-to-onnx.js';
import { fixture } from './helpers/paths.js';

const require = createRequire(import.meta.url);
const SIDE = 192;
const OUTPUTS = ['Identity_2', 'Identity_1'];

interface TfTensor {
  data(): Promise<Float32Array>;
  dispose(): void;
}
interface Tfjs {
  tensor(values: Float32Array, shape: number[], dtype: 'float32'): TfTensor;
  loadGraphModel(url: string): Promise<{ execute(input: TfTensor, outputs: string[]): TfTensor[] }>;
}

/** The face mesh run as tfjs runs it (human's build, WebAssembly backend): the reference the conversion must match. */
async function meshOnTfjs(modelFile: string, nhwc: Float32Array): Promise<Float32Array[]> {
  serveFileUrlsToFetch();
  const { Human } = require(path.join(packageDir('@vladmandic/human'), 'dist', 'human.node-wasm.js')) as {
    Human: new (config: Record<string, unknown>) => { init(): Promise<void>; tf: Tfjs };
  };
  const wasmDir = path.join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist');
  const human = new Human({ backend: 'wasm', wasmPath: `${wasmDir}${path.sep}`, wasmPlatformFetch: false, debug: false });
  await human.init();
  const model = await human.tf.loadGraphModel(pathToFileURL(modelFile).href);
  const input = human.tf.tensor(nhwc, [1, SIDE, SIDE, 3], 'float32');
  const outputs = model.execute(input, OUTPUTS.map((o) => `${o}:0`));
  const values = await Promise.all(outputs.map((t) => t.data()));
  input.dispose();
  outputs.forEach((t) => t.dispose());
  return values;
}

test('the face mesh converted to ONNX gives the points and face flag tfjs gives, on a real face', async () => {
  const modelFile = path.join(defaultModelDir(), 'facemesh.json');
  const { data } = await sharp(fixture('faces/grace-hopper.jpg'))
    .extract({ left: 110, top: 60, width: 300, height: 300 })
    .resize(SIDE, SIDE)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const nhwc = Float32Array.from(data, (v) => v / 255);
  const nchw = new Float32Array(nhwc.length);
  for (let i = 0; i < SIDE * SIDE; i++) for (let c = 0; c < 3; c++) nchw[c * SIDE * SIDE + i] = nhwc[i * 3 + c] as number;

  const { onnx, input } = convertTfjsGraph(modelFile, OUTPUTS);
  const session = await ort.InferenceSession.create(onnx, { logSeverityLevel: 3 });
  const converted = await session.run({ [input]: new ort.Tensor('float32', nchw, [1, 3, SIDE, SIDE]) });
  const [mesh, flag] = OUTPUTS.map((o) => converted[o]?.data as Float32Array);
  const [tfMesh, tfFlag] = await meshOnTfjs(modelFile, nhwc);
  assert.ok(mesh && flag && tfMesh && tfFlag);

  assert.ok((tfFlag[0] as number) > 0.9, `the crop holds a face for tfjs too: ${tfFlag[0]}`);
  assert.ok(Math.abs((flag[0] as number) - (tfFlag[0] as number)) < 1e-4, `face flag ${flag[0]} against tfjs ${tfFlag[0]}`);
  assert.equal(mesh.length, tfMesh.length);
  let worst = 0;
  for (let i = 0; i < mesh.length; i++) worst = Math.max(worst, Math.abs((mesh[i] as number) - (tfMesh[i] as number)));
  assert.ok(worst < 0.01, `mesh points within 0.01 crop px of tfjs's; worst ${worst}`);
});

test('a tfjs graph with an operator the converter does not know is refused, naming the operator', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-graph-'));
  const file = path.join(dir, 'model.json');
  fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.alloc(0));
  fs.writeFileSync(
    file,
    JSON.stringify({
      modelTopology: {
        node: [
          { name: 'input', op: 'Placeholder' },
          { name: 'out', op: 'Conv3D', input: ['input'] },
        ],
      },
      weightsManifest: [{ paths: ['weights.bin'], weights: [] }],
    }),
  );
  assert.throws(() => convertTfjsGraph(file, ['out']), /tfjs node out: operator Conv3D is not converted/);
  fs.rmSync(dir, { recursive: true });
});
