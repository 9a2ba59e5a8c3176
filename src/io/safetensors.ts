// The safetensors format (https://github.com/huggingface/safetensors), read and written by our own small
// code: the spec is a page long, and npm's safetensors packages are unmaintained or browser-oriented.
// Layout: an 8-byte little-endian u64 N, N bytes of UTF-8 JSON header
// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}` (space-padded so
// the data starts 8-byte aligned), then the data buffer; offsets are relative to its start, and the tensors
// must tile it exactly, without holes or overlaps. Everything is validated; every problem is a UserError
// naming the file and the tensor, field or value at fault.
import { endianness } from 'node:os';
import * as fs from 'node:fs/promises';
import { UserError } from '../errors.ts';
import { writeFileAtomic } from './atomic.ts';
import { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from './half.ts';

/** The typed array holding each dtype's elements; F16 and BF16 are raw bit patterns. */
export interface DtypeArrays {
  F64: Float64Array;
  F32: Float32Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I64: BigInt64Array;
  U64: BigUint64Array;
  I32: Int32Array;
  U32: Uint32Array;
  I16: Int16Array;
  U16: Uint16Array;
  I8: Int8Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
}
export type Dtype = keyof DtypeArrays;

type ArrayConstructorOf<A> = { new (buffer: ArrayBuffer, byteOffset: number, length: number): A; BYTES_PER_ELEMENT: number };

const arrayTypes: { [D in Dtype]: ArrayConstructorOf<DtypeArrays[D]> } = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
  I32: Int32Array,
  U32: Uint32Array,
  I16: Int16Array,
  U16: Uint16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

export const DTYPES = Object.keys(arrayTypes) as Dtype[];

export function isDtype(value: unknown): value is Dtype {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(arrayTypes, value);
}

export function dtypeByteSize(dtype: Dtype): number {
  return arrayTypes[dtype].BYTES_PER_ELEMENT;
}

/** A tensor as stored: dtype, shape and the elements in row-major order. */
export type Tensor<D extends Dtype = Dtype> = { [K in D]: { dtype: K; shape: number[]; data: DtypeArrays[K] } }[D];

/** What the writer accepts: a stored tensor, or (for F16 and BF16) float32 values to be rounded. */
export type TensorInput = {
  [K in Dtype]: { dtype: K; shape: readonly number[]; data: DtypeArrays[K] | (K extends 'F16' | 'BF16' ? Float32Array : never) };
}[Dtype];

export interface Safetensors {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** The header's description of one tensor, as `inspect`ed without reading the data. */
export interface TensorEntry {
  dtype: Dtype;
  shape: number[];
  dataOffsets: [number, number];
}

const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

if (endianness() !== 'LE') {
  throw new Error('dalle-ts reads and writes safetensors on little-endian machines only');
}

function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Converts any float tensor (F32, F64, F16, BF16) to a Float32Array; F32 data is returned as is. */
export function tensorToFloat32(tensor: Tensor, name = 'tensor'): Float32Array {
  switch (tensor.dtype) {
    case 'F32':
      return tensor.data;
    case 'F64':
      return Float32Array.from(tensor.data);
    case 'F16':
      return float16ToFloat32(tensor.data);
    case 'BF16':
      return bfloat16ToFloat32(tensor.data);
    default:
      throw new UserError(`${name} has dtype ${tensor.dtype}, expected a float dtype (F32, F64, F16 or BF16)`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reading

function fail(source: string, message: string): never {
  throw new UserError(`${source}: ${message}`);
}

function parseShape(source: string, name: string, value: unknown): number[] {
  if (!Array.isArray(value)) fail(source, `tensor "${name}": "shape" must be an array of integers, got ${JSON.stringify(value)}`);
  for (const dim of value) {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      fail(source, `tensor "${name}": shape ${JSON.stringify(value)} has an invalid dimension ${JSON.stringify(dim)}`);
    }
  }
  return value as number[];
}

function parseOffsets(source: string, name: string, value: unknown): [number, number] {
  const valid =
    Array.isArray(value) &&
    value.length === 2 &&
    value.every((offset) => typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0);
  if (!valid) {
    fail(source, `tensor "${name}": "data_offsets" must be [begin, end] with non-negative integers, got ${JSON.stringify(value)}`);
  }
  const [begin, end] = value as [number, number];
  if (end < begin) fail(source, `tensor "${name}": data_offsets [${begin}, ${end}] end before they begin`);
  return [begin, end];
}

function parseEntry(source: string, name: string, value: unknown): TensorEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(source, `tensor "${name}": expected an object with dtype, shape and data_offsets, got ${JSON.stringify(value)}`);
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets') fail(source, `tensor "${name}": unknown field "${key}"`);
  }
  if (!('dtype' in record)) fail(source, `tensor "${name}": missing "dtype"`);
  if (!isDtype(record.dtype)) {
    fail(source, `tensor "${name}": unknown dtype ${JSON.stringify(record.dtype)} (supported: ${DTYPES.join(', ')})`);
  }
  if (!('shape' in record)) fail(source, `tensor "${name}": missing "shape"`);
  if (!('data_offsets' in record)) fail(source, `tensor "${name}": missing "data_offsets"`);
  const dtype = record.dtype;
  const shape = parseShape(source, name, record.shape);
  const dataOffsets = parseOffsets(source, name, record.data_offsets);
  const expectedBytes = elementCount(shape) * dtypeByteSize(dtype);
  const actualBytes = dataOffsets[1] - dataOffsets[0];
  if (expectedBytes !== actualBytes) {
    fail(
      source,
      `tensor "${name}": shape ${describeShape(shape)} of ${dtype} needs ${expectedBytes} bytes but data_offsets ` +
        `[${dataOffsets[0]}, ${dataOffsets[1]}] span ${actualBytes}`,
    );
  }
  return { dtype, shape, dataOffsets };
}

function parseMetadata(source: string, value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) fail(source, `"${METADATA_KEY}" must be an object of strings`);
  const metadata: Record<string, string> = Object.create(null);
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (typeof item !== 'string') fail(source, `"${METADATA_KEY}" value for "${key}" must be a string, got ${JSON.stringify(item)}`);
    metadata[key] = item;
  }
  return metadata;
}

/** Checks that the tensors tile the data buffer exactly: no holes, no overlaps, nothing out of range. */
function checkLayout(source: string, entries: Map<string, TensorEntry>, dataBytes: number, fileBytes: number): void {
  for (const [name, entry] of entries) {
    const [begin, end] = entry.dataOffsets;
    if (end > dataBytes) {
      fail(
        source,
        `tensor "${name}": data_offsets [${begin}, ${end}] reach past the end of the data (${dataBytes} bytes in a ` +
          `${fileBytes}-byte file); the file is truncated or the offsets are wrong`,
      );
    }
  }
  const ordered = [...entries].sort(([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let covered = 0;
  let previous: string | undefined;
  for (const [name, entry] of ordered) {
    const [begin, end] = entry.dataOffsets;
    if (begin < covered) {
      fail(source, `tensor "${name}": data_offsets [${begin}, ${end}] overlap tensor "${previous}", which ends at ${covered}`);
    }
    if (begin > covered) {
      const after = previous === undefined ? 'the start of the data' : `tensor "${previous}"`;
      fail(source, `tensor "${name}": data_offsets [${begin}, ${end}] leave a hole of ${begin - covered} bytes after ${after}`);
    }
    covered = end;
    if (end > begin || previous === undefined) previous = name;
  }
  if (covered !== dataBytes) {
    fail(source, `${dataBytes - covered} bytes of data after the last tensor are not described by the header`);
  }
}

interface ParsedHeader {
  entries: Map<string, TensorEntry>;
  metadata: Record<string, string>;
  dataStart: number;
}

function tooShort(source: string, fileBytes: number): never {
  fail(source, `the file is ${fileBytes} bytes, too short for the 8-byte header length; it is truncated or not safetensors`);
}

/** Parses and validates the header in `bytes` (which hold at least the header) against the file size. */
function parseHeader(source: string, bytes: Uint8Array, fileBytes: number): ParsedHeader {
  if (bytes.length < 8) tooShort(source, bytes.length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(fileBytes - 8)) {
    const rest = fileBytes - 8;
    fail(source, `the header length ${declared} is larger than the rest of the file (${rest} bytes); it is truncated or not safetensors`);
  }
  const headerBytes = Number(declared);
  if (headerBytes > MAX_HEADER_BYTES) fail(source, `the header length ${headerBytes} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (bytes.length < 8 + headerBytes) fail(source, `the file ends inside the ${headerBytes}-byte header`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerBytes));
  } catch {
    fail(source, 'the header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    fail(source, `the header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(source, 'the header must be a JSON object');
  const entries = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === METADATA_KEY) metadata = parseMetadata(source, value);
    else entries.set(name, parseEntry(source, name, value));
  }
  const dataStart = 8 + headerBytes;
  checkLayout(source, entries, fileBytes - dataStart, fileBytes);
  return { entries, metadata, dataStart };
}

function copyTensor<D extends Dtype>(dtype: D, shape: number[], bytes: Uint8Array): Tensor {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const ArrayType = arrayTypes[dtype] as ArrayConstructorOf<DtypeArrays[D]>;
  const data = new ArrayType(copy.buffer, 0, bytes.length / ArrayType.BYTES_PER_ELEMENT);
  if (dtype === 'BOOL') {
    const bools = data as Uint8Array;
    const bad = bools.findIndex((value) => value > 1);
    if (bad >= 0) throw new UserError(`BOOL element ${bad} has value ${bools[bad]}, expected 0 or 1`);
  }
  return { dtype, shape, data } as Tensor;
}

/** Decodes a whole safetensors file held in memory; `source` names it in errors. Data arrays are copies. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): Safetensors {
  const { entries, metadata, dataStart } = parseHeader(source, bytes, bytes.length);
  const tensors = new Map<string, Tensor>();
  for (const [name, entry] of entries) {
    const [begin, end] = entry.dataOffsets;
    try {
      tensors.set(name, copyTensor(entry.dtype, entry.shape, bytes.subarray(dataStart + begin, dataStart + end)));
    } catch (err) {
      if (err instanceof UserError) fail(source, `tensor "${name}": ${err.message}`);
      throw err;
    }
  }
  return { tensors, metadata };
}

function describeReadError(path: string, err: unknown): unknown {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return new UserError(`${path}: no such file`);
  if (code === 'EISDIR') return new UserError(`${path}: is a folder, expected a .safetensors file`);
  if (code === 'EACCES') return new UserError(`${path}: permission denied`);
  return err;
}

export async function readSafetensors(path: string): Promise<Safetensors> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(path);
  } catch (err) {
    throw describeReadError(path, err);
  }
  return decodeSafetensors(bytes, path);
}

/** Reads and validates only the header (against the file size), without loading tensor data. */
export async function inspectSafetensors(path: string): Promise<{ entries: Map<string, TensorEntry>; metadata: Record<string, string> }> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'r');
  } catch (err) {
    throw describeReadError(path, err);
  }
  try {
    const fileBytes = (await handle.stat()).size;
    if (fileBytes < 8) tooShort(path, fileBytes);
    const lengthBytes = new Uint8Array(8);
    await handle.read(lengthBytes, 0, 8, 0);
    const declared = new DataView(lengthBytes.buffer).getBigUint64(0, true);
    const headerBytes = declared <= BigInt(Math.min(fileBytes - 8, MAX_HEADER_BYTES)) ? Number(declared) : 0;
    const prefix = new Uint8Array(8 + headerBytes);
    prefix.set(lengthBytes);
    if (headerBytes > 0) await handle.read(prefix, 8, headerBytes, 8);
    const { entries, metadata } = parseHeader(path, prefix, fileBytes);
    return { entries, metadata };
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Writing

function storedData(name: string, tensor: TensorInput): Uint8Array {
  const { dtype, data } = tensor;
  if (!isDtype(dtype)) throw new UserError(`tensor "${name}": unknown dtype ${JSON.stringify(dtype)} (supported: ${DTYPES.join(', ')})`);
  let stored: ArrayBufferView = data;
  if ((dtype === 'F16' || dtype === 'BF16') && data instanceof Float32Array) {
    stored = dtype === 'F16' ? float32ToFloat16(data) : float32ToBfloat16(data);
  } else if (!(data instanceof arrayTypes[dtype])) {
    const accepted = dtype === 'F16' || dtype === 'BF16' ? 'Float32Array or Uint16Array (raw bits)' : arrayTypes[dtype].name;
    throw new UserError(`tensor "${name}": ${dtype} data must be a ${accepted}, got ${(data as object).constructor.name}`);
  }
  if (dtype === 'BOOL') {
    const bad = (data as Uint8Array).findIndex((value) => value > 1);
    if (bad >= 0) throw new UserError(`tensor "${name}": BOOL element ${bad} has value ${(data as Uint8Array)[bad]}, expected 0 or 1`);
  }
  return new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength);
}

function checkShape(name: string, tensor: TensorInput): number[] {
  const shape = tensor.shape;
  if (!Array.isArray(shape) || shape.some((dim) => !Number.isSafeInteger(dim) || dim < 0)) {
    throw new UserError(`tensor "${name}": invalid shape ${JSON.stringify(shape)}`);
  }
  const count = elementCount(shape);
  if (count !== tensor.data.length) {
    throw new UserError(`tensor "${name}": shape ${describeShape(shape)} has ${count} elements but the data has ${tensor.data.length}`);
  }
  return [...shape];
}

/**
 * Encodes tensors (in a Map or a record) and optional string metadata into safetensors bytes. Tensors are
 * laid out by element size, largest first, then by name (as Python's safetensors does), so every tensor's
 * data is aligned to its element size within the 8-byte-aligned buffer.
 */
export function encodeSafetensors(
  tensors: Map<string, TensorInput> | Record<string, TensorInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  const named = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const prepared = named.map(([name, tensor]) => {
    if (name.length === 0 || name === METADATA_KEY) throw new UserError(`invalid tensor name ${JSON.stringify(name)}`);
    if (tensor === null || typeof tensor !== 'object') throw new UserError(`tensor "${name}": expected {dtype, shape, data}`);
    const shape = checkShape(name, tensor);
    return { name, dtype: tensor.dtype, shape, bytes: storedData(name, tensor) };
  });
  prepared.sort((a, b) => dtypeByteSize(b.dtype) - dtypeByteSize(a.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = Object.create(null); // a tensor may be named "__proto__"
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new UserError(`metadata "${key}" must be a string, got ${JSON.stringify(value)}`);
    }
    header[METADATA_KEY] = metadata;
  }
  let offset = 0;
  for (const tensor of prepared) {
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + tensor.bytes.length] };
    offset += tensor.bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const headerBytes = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerBytes + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerBytes);
  let position = 8 + headerBytes;
  for (const tensor of prepared) {
    out.set(tensor.bytes, position);
    position += tensor.bytes.length;
  }
  return out;
}

/** Writes a safetensors file atomically (temp file, fsync, rename). */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, TensorInput> | Record<string, TensorInput>,
  metadata?: Record<string, string>,
): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = encodeSafetensors(tensors, metadata);
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`${path}: ${err.message}`);
    throw err;
  }
  await writeFileAtomic(path, bytes);
}
