import { DataType, writeOnnxModel, type GraphNode, type Initializer } from '../../src/refine/engines/onnx-graph.js';

/**
 * A graph with GFPGAN 1.4's input and output ([1,3,512,512] float32 named input/output) and its convolution
 * work: the same layers at the same resolutions and channel counts as GFPGANv1Clean with channel_multiplier 2
 * and sft_half (TencentARC/GFPGAN gfpgan/archs/gfpganv1_clean_arch.py, as inference_gfpgan.py builds v1.4):
 * a U-Net of bilinear-resampling ResBlocks, SFT scale/shift branches at each scale, and a StyleGAN2-style decoder
 * that upsamples, convolves, adds the SFT conditions and accumulates RGB. Weights are random (shared per shape):
 * it costs what the real model costs, it restores nothing.
 */
const UNET: Record<number, number> = { 4: 256, 8: 256, 16: 256, 32: 256, 64: 256, 128: 128, 256: 64, 512: 32 };
const DECODER: Record<number, number> = { 4: 512, 8: 512, 16: 512, 32: 512, 64: 512, 128: 256, 256: 128, 512: 64 };

export interface BuiltGraph {
  bytes: Buffer;
  /** Multiply-accumulates of the convolutions, per run. */
  macs: number;
}

export function gfpganLikeGraph(size = 512): BuiltGraph {
  const nodes: GraphNode[] = [];
  const initializers = new Map<string, Initializer>();
  let macs = 0;
  let n = 0;
  const fresh = (prefix: string): string => `${prefix}_${n++}`;
  const weight = (cout: number, cin: number, k: number): string => {
    const name = `w_${cout}_${cin}_${k}`;
    if (!initializers.has(name)) {
      const data = new Float32Array(cout * cin * k * k);
      // small values keep activations finite through ~60 layers
      const scale = 1 / Math.sqrt(cin * k * k);
      for (let i = 0; i < data.length; i++) data[i] = (Math.sin(i * 12.9898) * 0.5) * scale;
      initializers.set(name, { name, type: DataType.FLOAT, dims: [cout, cin, k, k], data });
    }
    return name;
  };
  const conv = (x: string, cin: number, cout: number, k: number, resolution: number): string => {
    const y = fresh('conv');
    nodes.push({ op: 'Conv', inputs: [x, weight(cout, cin, k)], outputs: [y], attributes: { pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0] } });
    macs += cout * cin * k * k * resolution * resolution;
    return y;
  };
  const lrelu = (x: string): string => {
    const y = fresh('lrelu');
    nodes.push({ op: 'LeakyRelu', inputs: [x], outputs: [y], attributes: { alpha: 0.2 } });
    return y;
  };
  const scaleOf = (factor: number): string => {
    const name = `scale_${factor}`;
    if (!initializers.has(name)) initializers.set(name, { name, type: DataType.FLOAT, dims: [4], data: new Float32Array([1, 1, factor, factor]) });
    return name;
  };
  const resize = (x: string, factor: number): string => {
    const y = fresh('resize');
    nodes.push({ op: 'Resize', inputs: [x, '', scaleOf(factor)], outputs: [y], attributes: { mode: 'linear' } });
    return y;
  };
  const add = (a: string, b: string): string => {
    const y = fresh('add');
    nodes.push({ op: 'Add', inputs: [a, b], outputs: [y] });
    return y;
  };
  const resBlock = (x: string, cin: number, cout: number, r: number, factor: number): string => {
    const inner = lrelu(conv(x, cin, cin, 3, r));
    const r2 = r * factor;
    const out = lrelu(conv(resize(inner, factor), cin, cout, 3, r2));
    return add(out, conv(resize(x, factor), cin, cout, 1, r2));
  };

  // U-Net encoder: 512 -> 4
  let feat = lrelu(conv('input', 3, UNET[size] as number, 1, size));
  const skips: string[] = [];
  for (let r = size; r > 4; r /= 2) {
    feat = resBlock(feat, UNET[r] as number, UNET[r / 2] as number, r, 0.5);
    skips.unshift(feat);
  }
  feat = lrelu(conv(feat, UNET[4] as number, UNET[4] as number, 3, 4));
  // the style code: a 1x1 projection of the 4x4 features stands in for GFPGAN's final linear layer
  let decoded = conv(feat, UNET[4] as number, DECODER[4] as number, 1, 4);
  decoded = lrelu(conv(decoded, DECODER[4] as number, DECODER[4] as number, 3, 4));
  let rgb = conv(decoded, DECODER[4] as number, 3, 1, 4);
  // U-Net decoder with SFT conditions, and the StyleGAN2-style decoder that takes them
  for (let r = 4; r < size; r *= 2) {
    const r2 = r * 2;
    feat = resBlock(add(feat, skips[Math.log2(r) - 2] as string), UNET[r] as number, UNET[r2] as number, r, 2);
    const c = UNET[r2] as number;
    const scale = conv(lrelu(conv(feat, c, c, 3, r2)), c, c, 3, r2);
    const shift = conv(lrelu(conv(feat, c, c, 3, r2)), c, c, 3, r2);
    const half = fresh('sft');
    nodes.push({ op: 'Add', inputs: [scale, shift], outputs: [half] });
    const condition = fresh('condition');
    nodes.push({ op: 'Concat', inputs: [half, half], outputs: [condition], attributes: { axis: 1 } });
    const d = DECODER[r2] as number;
    decoded = lrelu(conv(resize(decoded, 2), DECODER[r] as number, d, 3, r2));
    decoded = add(decoded, condition);
    decoded = lrelu(conv(decoded, d, d, 3, r2));
    rgb = add(resize(rgb, 2), conv(decoded, d, 3, 1, r2));
  }
  nodes.push({ op: 'Tanh', inputs: [rgb], outputs: ['output'] });
  const bytes = writeOnnxModel({
    inputs: [{ name: 'input', type: DataType.FLOAT, shape: [1, 3, size, size] }],
    outputs: [{ name: 'output', type: DataType.FLOAT, shape: [1, 3, size, size] }],
    nodes,
    initializers: [...initializers.values()],
  });
  return { bytes, macs };
}
