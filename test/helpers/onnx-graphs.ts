import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { DataType, writeOnnxModel, type DataTypeCode } from '../../src/refine/engines/onnx-graph.js';

/**
 * Graphs with the real restorers' signatures, written by the project's own ONNX writer
 * (src/refine/engines/onnx-graph.ts: protobuf by hand, field numbers from onnx.proto3). No real weights: these prove
 * the plumbing (names, shapes, normalisation, alignment, paste-back), not restoration quality.
 */
const image = (name: string, size: number) => ({ name, type: DataType.FLOAT, shape: [1, 3, size, size] });

/** GFPGAN's signature (`input` -> `output`, [1,3,512,512] float32), answering its input. */
export function identityRestorer(size = 512): Buffer {
  return writeOnnxModel({ inputs: [image('input', size)], outputs: [image('output', size)], nodes: [{ op: 'Identity', inputs: ['input'], outputs: ['output'] }] });
}

/** Answers the negated input: in [-1, 1] that is the photographic negative of the face. */
export function invertingRestorer(size = 512): Buffer {
  return writeOnnxModel({ inputs: [image('input', size)], outputs: [image('output', size)], nodes: [{ op: 'Neg', inputs: ['input'], outputs: ['output'] }] });
}

/** CodeFormer's signature: the face and a fidelity weight (float64 [1] by default); answers face x weight. */
export function codeformerLike(size = 512, names = { image: 'input', weight: 'weight' }, weightType: DataTypeCode = DataType.DOUBLE): Buffer {
  return writeOnnxModel({
    inputs: [image(names.image, size), { name: names.weight, type: weightType, shape: [1] }],
    outputs: [image('output', size)],
    nodes: [
      { op: 'Cast', inputs: [names.weight], outputs: ['weight_float'], attributes: { to: DataType.FLOAT } },
      { op: 'Mul', inputs: [names.image, 'weight_float'], outputs: ['output'] },
    ],
  });
}

/** FaceFusion's `.hash` beside the file: zlib CRC32 as 8 lowercase hex digits. */
export function crc32Hex(bytes: Buffer): string {
  return (zlib.crc32(bytes) >>> 0).toString(16).padStart(8, '0');
}

/** Puts a graph into a models directory under a catalogue name, with its published-style hash beside it. */
export function installModel(dir: string, name: string, bytes: Buffer): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.onnx`);
  fs.writeFileSync(file, bytes);
  fs.writeFileSync(path.join(dir, `${name}.hash`), crc32Hex(bytes));
  return file;
}
