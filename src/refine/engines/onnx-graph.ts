/**
 * A small writer for ONNX model files (protobuf, field numbers from onnx/onnx.proto3), enough for the graphs this
 * project builds itself: the start-up probe of an execution provider, the test graphs and the benchmark graph.
 * Real restorer weights are read by ONNX Runtime, never by this module.
 */

const FIELD_VARINT = 0;
const FIELD_BYTES = 2;

/** ONNX TensorProto.DataType values. */
export const DataType = { FLOAT: 1, INT64: 7, DOUBLE: 11 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

class Writer {
  private readonly parts: Buffer[] = [];

  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const bytes: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      bytes.push(byte);
    } while (v > 0n);
    this.parts.push(Buffer.from(bytes));
  }

  private key(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number): this {
    this.key(field, FIELD_VARINT);
    this.varint(value);
    return this;
  }

  bytes(field: number, value: Buffer | Uint8Array): this {
    this.key(field, FIELD_BYTES);
    this.varint(value.length);
    this.parts.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.parts.push(b);
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export interface ValueInfo {
  name: string;
  type: DataTypeCode;
  /** A number, or a name for a symbolic dimension. */
  shape: Array<number | string>;
}

export type AttributeValue = number | number[] | { floats: number[] } | string;

export interface GraphNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, AttributeValue>;
}

export interface Initializer {
  name: string;
  type: DataTypeCode;
  dims: number[];
  data: Float32Array | Float64Array | BigInt64Array;
}

export interface GraphSpec {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: GraphNode[];
  initializers?: Initializer[];
  /** The default ONNX operator set version. */
  opset?: number;
}

function valueInfo(w: Writer, info: ValueInfo): void {
  w.string(1, info.name).message(2, (type) =>
    type.message(1, (tensor) =>
      tensor.int(1, info.type).message(2, (shape) => {
        for (const dim of info.shape) shape.message(1, (d) => (typeof dim === 'number' ? d.int(1, dim) : d.string(2, dim)));
      }),
    ),
  );
}

function attribute(w: Writer, name: string, value: AttributeValue): void {
  w.string(1, name);
  // AttributeProto.type: FLOAT 1, INT 2, STRING 3, FLOATS 6, INTS 7
  if (typeof value === 'string') w.int(20, 3).string(4, value);
  else if (typeof value === 'number' && Number.isInteger(value)) w.int(20, 2).int(3, value);
  else if (typeof value === 'number') w.int(20, 1).float(2, value);
  else if (Array.isArray(value)) {
    w.int(20, 7);
    for (const v of value) w.int(8, v);
  } else {
    w.int(20, 6);
    for (const v of value.floats) w.float(7, v);
  }
}

/** Serialises a single-graph ONNX model (IR version 8). */
export function writeOnnxModel(spec: GraphSpec): Buffer {
  return new Writer()
    .int(1, 8)
    .string(2, 'face-refiner')
    .message(8, (opset) => opset.string(1, '').int(2, spec.opset ?? 17))
    .message(7, (graph) => {
      spec.nodes.forEach((node, i) =>
        graph.message(1, (n) => {
          for (const input of node.inputs) n.string(1, input);
          for (const output of node.outputs) n.string(2, output);
          n.string(3, `${node.op.toLowerCase()}_${i}`).string(4, node.op);
          for (const [name, value] of Object.entries(node.attributes ?? {})) n.message(5, (a) => attribute(a, name, value));
        }),
      );
      graph.string(2, 'graph');
      for (const init of spec.initializers ?? []) {
        graph.message(5, (t) => {
          for (const d of init.dims) t.int(1, d);
          t.int(2, init.type).string(8, init.name).bytes(9, new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength));
        });
      }
      for (const input of spec.inputs) graph.message(11, (v) => valueInfo(v, input));
      for (const output of spec.outputs) graph.message(12, (v) => valueInfo(v, output));
    })
    .finish();
}
