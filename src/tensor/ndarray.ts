// Host arrays: the typed arrays that go into and come out of compiled functions. Parameters, optimizer
// state, batches and random draws all live here between steps.
import { type DType, type HostData, allocHost, dtypeOfHost, assertDType } from './dtype.ts';
import { type Shape, sizeOf, shapeStr } from './shape.ts';

export class NDArray {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: HostData;

  constructor(data: HostData, shape: Shape, dtype: DType = dtypeOfHost(data)) {
    assertDType(dtype, 'NDArray');
    if (dtypeOfHost(data) !== dtype) throw new TypeError(`NDArray: ${data.constructor.name} cannot hold dtype ${dtype}`);
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new RangeError(`NDArray: bad dimension ${d} in shape ${shapeStr(shape)}`);
    }
    if (sizeOf(shape) !== data.length) {
      throw new RangeError(`NDArray: shape ${shapeStr(shape)} needs ${sizeOf(shape)} elements, data has ${data.length}`);
    }
    this.data = data;
    this.shape = [...shape];
    this.dtype = dtype;
  }

  get size(): number {
    return this.data.length;
  }

  static zeros(shape: Shape, dtype: DType = 'float32'): NDArray {
    return new NDArray(allocHost(dtype, sizeOf(shape)), shape, dtype);
  }

  static float32(values: ArrayLike<number>, shape: Shape = [values.length]): NDArray {
    return new NDArray(Float32Array.from(values), shape);
  }

  static int64(values: ArrayLike<number> | readonly bigint[], shape: Shape = [values.length]): NDArray {
    const data = new BigInt64Array(values.length);
    for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]!);
    return new NDArray(data, shape);
  }

  static bool(values: ArrayLike<boolean | number>, shape: Shape = [values.length]): NDArray {
    const data = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) data[i] = values[i] ? 1 : 0;
    return new NDArray(data, shape, 'bool');
  }

  static scalar(value: number, dtype: DType = 'float32'): NDArray {
    return dtype === 'float32' ? NDArray.float32([value], []) : dtype === 'int64' ? NDArray.int64([value], []) : NDArray.bool([value], []);
  }

  /** Element values as plain numbers (int64 through Number, exact below 2^53). */
  toNumbers(): number[] {
    return Array.from(this.data as ArrayLike<number | bigint>, Number);
  }

  /** The single value of a one-element array. */
  item(): number {
    if (this.size !== 1) throw new RangeError(`NDArray.item: array of shape ${shapeStr(this.shape)} has ${this.size} elements`);
    return Number(this.data[0]!);
  }

  reshape(shape: Shape): NDArray {
    return new NDArray(this.data, shape, this.dtype);
  }
}

export function isNDArray(x: unknown): x is NDArray {
  return x instanceof NDArray;
}
