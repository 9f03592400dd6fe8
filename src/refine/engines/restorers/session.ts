import ort from 'onnxruntime-node';
import { nativeCall } from '../../native-gate.js';
import { DataType, writeOnnxModel } from '../onnx-graph.js';
import type { RestorerEntry } from './catalogue.js';

export type ExecutionProvider = 'cpu' | 'cuda';

export interface SessionSettings {
  executionProvider: ExecutionProvider;
  intraOpThreads: number;
}

function sessionOptions(settings: SessionSettings): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: settings.executionProvider === 'cuda' ? [{ name: 'cuda', deviceId: 0 }] : ['cpu'],
    intraOpNumThreads: settings.intraOpThreads,
    // one graph, one request at a time per refine thread: parallel branches would only contend for the same cores
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    // errors reach the caller as exceptions; ONNX Runtime's own log would repeat them on stderr
    logSeverityLevel: 3,
  };
}

/** Thrown at start when EXECUTION_PROVIDER asks for something this machine cannot run. */
export class ExecutionProviderError extends Error {}

/**
 * Proves at start that the configured execution provider loads, with a one-node graph: ONNX Runtime has no
 * fallback, so a missing CUDA provider would otherwise surface as the first job's failure.
 */
export async function checkExecutionProvider(provider: ExecutionProvider): Promise<void> {
  const probe = writeOnnxModel({
    inputs: [{ name: 'x', type: DataType.FLOAT, shape: [1] }],
    outputs: [{ name: 'y', type: DataType.FLOAT, shape: [1] }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  });
  try {
    const session = await ort.InferenceSession.create(probe, { ...sessionOptions({ executionProvider: provider, intraOpThreads: 1 }), logSeverityLevel: 4 });
    await session.release();
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ExecutionProviderError(
      provider === 'cuda'
        ? `EXECUTION_PROVIDER=cuda but ONNX Runtime's CUDA provider cannot be loaded (${detail}). On a GPU host with CUDA 12 and cuDNN 9, ` +
            'install it with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm install`; otherwise set EXECUTION_PROVIDER=cpu'
        : `ONNX Runtime cannot run on the CPU here: ${detail}`,
    );
  }
}

/** How a loaded restorer is fed: which input takes the face, and which (CodeFormer's) takes the fidelity weight. */
export interface RestorerSignature {
  imageInput: string;
  output: string;
  weightInput?: { name: string; type: 'float32' | 'float64'; shape: number[] };
}

const describeShape = (shape: ReadonlyArray<number | string>): string => `[${shape.join(',')}]`;

/** Checks a loaded graph against what its kind and size promise; throws, naming both, when it does not fit. */
export function signatureOf(entry: RestorerEntry, session: ort.InferenceSession): RestorerSignature {
  const expected = `[1,3,${entry.size},${entry.size}]`;
  const tensors = session.inputMetadata.filter((m): m is ort.InferenceSession.TensorValueMetadata => m.isTensor);
  const fits = (shape: ReadonlyArray<number | string>): boolean =>
    shape.length === 4 && [1, 3, entry.size, entry.size].every((want, i) => typeof shape[i] !== 'number' || shape[i] === want);
  const images = tensors.filter((m) => m.type === 'float32' && m.shape.length === 4);
  const image = images[0];
  if (images.length !== 1 || !image || !fits(image.shape)) {
    const inputs = session.inputMetadata.map((m) => (m.isTensor ? `${m.name} ${m.type}${describeShape(m.shape)}` : m.name)).join(', ');
    throw new Error(`Expected ${entry.name} (${entry.kind}) to take one float32 input ${expected} but its inputs are: ${inputs || 'none'}`);
  }
  const others = session.inputMetadata.filter((m) => m.name !== image.name);
  let weightInput: RestorerSignature['weightInput'];
  if (entry.kind === 'codeformer') {
    const weight = others[0];
    if (others.length !== 1 || !weight?.isTensor || (weight.type !== 'float64' && weight.type !== 'float32') || weight.shape.length > 1) {
      throw new Error(`Expected ${entry.name} (codeformer) to take a second input, the fidelity weight (float64 [1]), beside ${image.name}`);
    }
    weightInput = { name: weight.name, type: weight.type, shape: weight.shape.length === 0 ? [] : [1] };
  } else if (others.length > 0) {
    throw new Error(`Expected ${entry.name} (${entry.kind}) to take only the face ${expected} but it also takes ${others.map((m) => m.name).join(', ')}`);
  }
  const output = session.outputMetadata[0];
  if (!output?.isTensor || output.type !== 'float32' || !fits(output.shape)) {
    const got = output?.isTensor ? `${output.type}${describeShape(output.shape)}` : 'none';
    throw new Error(`Expected ${entry.name} (${entry.kind}) to give a float32 output ${expected} but it gives ${got}`);
  }
  return { imageInput: image.name, output: output.name, ...(weightInput ? { weightInput } : {}) };
}

/** A restorer's inference session, created once per refine thread, and the way to feed it. */
export interface LoadedRestorer {
  entry: RestorerEntry;
  session: ort.InferenceSession;
  signature: RestorerSignature;
}

export async function loadRestorer(entry: RestorerEntry, file: string, settings: SessionSettings): Promise<LoadedRestorer> {
  let session: ort.InferenceSession;
  try {
    session = await nativeCall(`loading ${entry.name}`, () => ort.InferenceSession.create(file, sessionOptions(settings)));
  } catch (error) {
    throw new Error(`ONNX Runtime cannot load ${file} for ${entry.name}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  try {
    return { entry, session, signature: signatureOf(entry, session) };
  } catch (error) {
    await session.release();
    throw error;
  }
}

/** Runs the restorer on one face: `input` is NCHW float32 in [-1, 1]; answers the same layout. */
export async function runRestorer(loaded: LoadedRestorer, input: Float32Array, weight: number | undefined): Promise<Float32Array> {
  const { entry, session, signature } = loaded;
  const feeds: Record<string, ort.Tensor> = {
    [signature.imageInput]: new ort.Tensor('float32', input, [1, 3, entry.size, entry.size]),
  };
  if (signature.weightInput) {
    const { name, type, shape } = signature.weightInput;
    const value = weight ?? 0.5;
    feeds[name] = type === 'float64' ? new ort.Tensor('float64', new Float64Array([value]), shape) : new ort.Tensor('float32', new Float32Array([value]), shape);
  }
  const results = await nativeCall(`a ${entry.name} run`, () => session.run(feeds));
  const output = results[signature.output];
  const expected = 3 * entry.size * entry.size;
  if (!output || output.type !== 'float32' || output.data.length !== expected) {
    throw new Error(`Expected ${entry.name} to answer ${expected} float32 values but it answered ${output ? `${output.data.length} ${output.type}` : 'nothing'}`);
  }
  return output.data as Float32Array;
}
