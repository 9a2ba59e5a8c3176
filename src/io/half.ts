// Half-precision conversions: IEEE 754 binary16 (F16) and bfloat16 (BF16) to and from float32.
// Node 20 has no Float16Array, so 16-bit floats travel as Uint16Array bit patterns. Float32 → 16-bit rounds
// to nearest, ties to even; NaN stays NaN (quiet, sign and top payload bits kept), ±Inf stays ±Inf, values
// beyond the F16 range become ±Inf, and F16 subnormals are produced and read exactly.

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

function float32Bits(value: number): number {
  scratchFloat[0] = value;
  return scratchBits[0]!;
}

function bitsToFloat32(bits: number): number {
  scratchBits[0] = bits >>> 0;
  return scratchFloat[0]!;
}

/** Bits of a float32 (given as its 32-bit pattern) rounded to F16. */
function float16FromFloat32Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) {
    return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  }
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal (or zero) in F16: count units of 2^-24, rounding the dropped bits to nearest even.
    if (halfExponent < -10) return sign;
    const significand = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    let units = significand >>> shift;
    const dropped = significand & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (dropped > halfway || (dropped === halfway && (units & 1) === 1)) units += 1;
    return sign | units;
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const dropped = mantissa & 0x1fff;
  if (dropped > 0x1000 || (dropped === 0x1000 && (half & 1) === 1)) half += 1;
  return sign | half; // a carry out of the mantissa correctly bumps the exponent, up to 0x7c00 = Inf
}

function bfloat16FromFloat32Bits(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) {
    return ((bits >>> 16) | 0x0040) & 0xffff;
  }
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

function float32FromFloat16Bits(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return bitsToFloat32(((half & 0x8000) << 16) | 0x7f800000 | (mantissa << 13));
  return bitsToFloat32(((half & 0x8000) << 16) | ((exponent - 15 + 127) << 23) | (mantissa << 13));
}

/** The F16 bit pattern nearest to `value` (as a float32 first, like a cast in PyTorch). */
export function float32ToFloat16Bits(value: number): number {
  return float16FromFloat32Bits(float32Bits(value));
}

/** The value of an F16 bit pattern. */
export function float16BitsToFloat32(half: number): number {
  return float32FromFloat16Bits(half & 0xffff);
}

/** The BF16 bit pattern nearest to `value` (as a float32 first). */
export function float32ToBfloat16Bits(value: number): number {
  return bfloat16FromFloat32Bits(float32Bits(value));
}

/** The value of a BF16 bit pattern. */
export function bfloat16BitsToFloat32(bits: number): number {
  return bitsToFloat32((bits & 0xffff) << 16);
}

function asBits(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

export function float32ToFloat16(values: Float32Array): Uint16Array {
  const bits = asBits(values);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) out[i] = float16FromFloat32Bits(bits[i]!);
  return out;
}

let float16Table: Float32Array | undefined;

export function float16ToFloat32(halves: Uint16Array): Float32Array {
  if (!float16Table) {
    float16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) float16Table[h] = float32FromFloat16Bits(h);
  }
  const table = float16Table;
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]!]!;
  return out;
}

export function float32ToBfloat16(values: Float32Array): Uint16Array {
  const bits = asBits(values);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) out[i] = bfloat16FromFloat32Bits(bits[i]!);
  return out;
}

export function bfloat16ToFloat32(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  const bits = asBits(out);
  for (let i = 0; i < halves.length; i++) bits[i] = halves[i]! << 16;
  return out;
}
