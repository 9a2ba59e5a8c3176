// A minimal ONNX protobuf writer: just the ModelProto / GraphProto / NodeProto / TensorProto / ValueInfoProto
// fields that our lowering emits. Why our own: the npm `onnx-proto` package carries the ONNX 1.10 schema on
// protobufjs 6, and the wire format for the dozen fields we need fits in a page (field numbers from onnx.proto).

export const OnnxDataType = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 } as const;
export type OnnxElemName = keyof typeof OnnxDataType;

export type OnnxAttr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'tensor'; value: OnnxTensor };

export interface OnnxTensor {
  name: string;
  elem: OnnxElemName;
  dims: readonly number[];
  raw: Uint8Array; // little-endian element bytes
}

export interface OnnxNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  domain?: string;
  attrs?: Record<string, OnnxAttr>;
}

export interface OnnxValueInfo {
  name: string;
  elem: OnnxElemName;
  dims: readonly number[];
}

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
}

const utf8 = new TextEncoder();

/** Protobuf output with its primitives, as a list of chunks: small fields go into a growing buffer, while
 *  large payloads (the initializers' bytes) and large nested messages join the list by reference, so that
 *  a model's weights are copied once, by `finish`, rather than once per level of nesting and per doubling. */
class Writer {
  private chunks: Uint8Array[] = [];
  private done = 0; // bytes in `chunks`
  private buf = new Uint8Array(256);
  private len = 0;

  get length(): number {
    return this.done + this.len;
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Close the current buffer into the chunk list (before chunks taken by reference). */
  private seal(): void {
    if (this.len === 0) return;
    this.chunks.push(this.buf.subarray(0, this.len));
    this.done += this.len;
    this.buf = new Uint8Array(256);
    this.len = 0;
  }

  /** Chunks of at least a few kilobytes join by reference; smaller ones are copied into the buffer. */
  private append(chunks: readonly Uint8Array[], length: number): void {
    if (length < 4096) {
      this.reserve(length);
      for (const c of chunks) {
        this.buf.set(c, this.len);
        this.len += c.length;
      }
      return;
    }
    this.seal();
    for (const c of chunks) this.chunks.push(c);
    this.done += length;
  }

  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    this.reserve(10);
    while (x >= 0x80n) {
      this.buf[this.len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.len++] = Number(x);
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    this.append([data], data.length);
  }

  string(field: number, s: string): void {
    this.bytes(field, utf8.encode(s));
  }

  int(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v);
  }

  float(field: number, v: number): void {
    this.tag(field, 5);
    this.reserve(4);
    new DataView(this.buf.buffer).setFloat32(this.len, v, true);
    this.len += 4;
  }

  message(field: number, write: (w: Writer) => void): void {
    const inner = new Writer();
    write(inner);
    inner.seal();
    this.tag(field, 2);
    this.varint(inner.length);
    this.append(inner.chunks, inner.length);
  }

  finish(): Uint8Array {
    this.seal();
    const out = new Uint8Array(this.done);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

function writeTensor(w: Writer, t: OnnxTensor): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, OnnxDataType[t.elem]);
  w.string(8, t.name);
  w.bytes(9, t.raw);
}

const AttrType = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

function writeAttr(w: Writer, name: string, a: OnnxAttr): void {
  w.string(1, name);
  switch (a.kind) {
    case 'float': w.float(2, a.value); break;
    case 'int': w.int(3, a.value); break;
    case 'string': w.string(4, a.value); break;
    case 'tensor': w.message(5, (m) => writeTensor(m, a.value)); break;
    case 'floats': for (const v of a.value) w.float(7, v); break;
    case 'ints': for (const v of a.value) w.int(8, v); break;
  }
  w.int(20, AttrType[a.kind]);
}

function writeNode(w: Writer, n: OnnxNode): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const [k, a] of Object.entries(n.attrs ?? {})) w.message(5, (m) => writeAttr(m, k, a));
  if (n.domain) w.string(7, n.domain);
}

function writeValueInfo(w: Writer, v: OnnxValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensorType) => {
      tensorType.int(1, OnnxDataType[v.elem]);
      tensorType.message(2, (shape) => {
        for (const d of v.dims) shape.message(1, (dim) => dim.int(1, d));
      });
    }),
  );
}

function writeGraph(w: Writer, g: OnnxGraph): void {
  for (const n of g.nodes) w.message(1, (m) => writeNode(m, n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, (m) => writeTensor(m, t));
  for (const v of g.inputs) w.message(11, (m) => writeValueInfo(m, v));
  for (const v of g.outputs) w.message(12, (m) => writeValueInfo(m, v));
}

export const ONNX_OPSET = 18;
export const CONTRIB_DOMAIN = 'com.microsoft';
const IR_VERSION = 8; // the IR version that goes with opset 18

export function encodeModel(graph: OnnxGraph): Uint8Array {
  const w = new Writer();
  w.int(1, IR_VERSION);
  w.string(2, 'dalle-ts');
  w.message(7, (m) => writeGraph(m, graph));
  w.message(8, (m) => {
    m.string(1, '');
    m.int(2, ONNX_OPSET);
  });
  // ONNX Runtime's contrib ops (a fused Gelu), where a node uses them.
  if (graph.nodes.some((n) => n.domain === CONTRIB_DOMAIN)) {
    w.message(8, (m) => {
      m.string(1, CONTRIB_DOMAIN);
      m.int(2, 1);
    });
  }
  return w.finish();
}
