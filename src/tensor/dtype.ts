// Element types of the engine. float32 is the compute type; int64 carries indices and token ids (as ONNX
// Gather/ArgMax/TopK want); bool carries masks and comparisons.

export type DType = 'float32' | 'int64' | 'bool';
export const DTYPES: readonly DType[] = ['float32', 'int64', 'bool'];

export type HostData = Float32Array | BigInt64Array | Uint8Array;

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

export function assertDType(x: unknown, where: string): DType {
  if (!isDType(x)) throw new TypeError(`${where}: unknown dtype ${JSON.stringify(x)} (expected one of ${DTYPES.join(', ')})`);
  return x;
}

export function allocHost(dtype: DType, size: number): HostData {
  switch (dtype) {
    case 'float32': return new Float32Array(size);
    case 'int64': return new BigInt64Array(size);
    case 'bool': return new Uint8Array(size);
  }
}

export function dtypeOfHost(data: HostData): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof BigInt64Array) return 'int64';
  return 'bool';
}
