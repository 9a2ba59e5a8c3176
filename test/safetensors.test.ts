// Tests for the safetensors reader/writer and the F16/BF16 converters: known bit patterns, exhaustive and
// random rounding checks, round trips of every dtype, a file laid out by hand as Python's safetensors writes
// it, and every malformed-file case producing a UserError that names the file and the problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { UserError } from '../src/errors.ts';
import { tempDirs } from './support/tempdir.ts';
import {
  bfloat16BitsToFloat32,
  bfloat16ToFloat32,
  float16BitsToFloat32,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToBfloat16Bits,
  float32ToFloat16,
  float32ToFloat16Bits,
} from '../src/io/half.ts';
import {
  decodeSafetensors,
  encodeSafetensors,
  inspectSafetensors,
  readSafetensors,
  tensorToFloat32,
  writeSafetensors,
  type TensorInput,
} from '../src/io/safetensors.ts';

function float32FromBits(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0]!;
}

const tempDir = tempDirs('dalle-safetensors-');

/** Builds safetensors bytes by hand: u64 header length, the header text padded with spaces to 8, the data. */
function handBuilt(header: unknown, data: Uint8Array, pad = true): Buffer {
  let text = typeof header === 'string' ? header : JSON.stringify(header);
  if (pad) while ((8 + Buffer.byteLength(text)) % 8 !== 0) text += ' ';
  const json = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, data]);
}

function rejects(bytes: Uint8Array, pattern: RegExp, source = 'model.safetensors'): void {
  assert.throws(
    () => decodeSafetensors(bytes, source),
    (err: unknown) => {
      assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
      assert.match(err.message, /^model\.safetensors: /);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test('float32 → F16 matches known bit patterns, rounding ties to even', () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
    [65504, 0x7bff],
    [65519, 0x7bff],
    [65520, 0x7c00], // halfway between the largest finite and the next power: ties to even, which is Inf
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
    [2 ** -25, 0x0000], // tie between 0 and the smallest subnormal → 0 (even)
    [1.5 * 2 ** -25, 0x0001],
    [3 * 2 ** -25, 0x0002], // tie between 1 and 2 units → 2
    [5 * 2 ** -25, 0x0002], // tie between 2 and 3 units → 2
    [-3 * 2 ** -25, 0x8002],
    [2047 * 2 ** -25, 0x0400], // rounds up out of the subnormals into the smallest normal
    [2 ** -30, 0x0000],
    [float32FromBits(0x00000001), 0x0000], // float32 subnormal
    [1 + 2 ** -11, 0x3c00], // tie → even mantissa 0
    [1 + 3 * 2 ** -11, 0x3c02], // tie → even mantissa 2
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
    [2048 + 1, 0x6800], // 2049 is a tie at spacing 2 → 2048
    [2048 + 3, 0x6802], // 2051 → 2052
  ];
  for (const [value, bits] of cases) {
    assert.equal(float32ToFloat16Bits(value), bits, `F16 of ${value}`);
  }
  const nan = float32ToFloat16Bits(NaN);
  assert.equal(nan & 0x7c00, 0x7c00);
  assert.notEqual(nan & 0x3ff, 0);
  // A signalling NaN whose payload lives only in the low bits must not turn into Inf.
  const lowPayload = float32ToFloat16(new Float32Array(new Uint32Array([0x7f800001, 0xff800001]).buffer));
  assert.deepEqual([...lowPayload].map((h) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0), [true, true]);
  assert.equal(lowPayload[1]! & 0x8000, 0x8000);
});

test('F16 → float32 decodes known bit patterns', () => {
  assert.equal(float16BitsToFloat32(0x3c00), 1);
  assert.equal(float16BitsToFloat32(0xc000), -2);
  assert.equal(float16BitsToFloat32(0x7bff), 65504);
  assert.equal(float16BitsToFloat32(0x0001), 2 ** -24);
  assert.equal(float16BitsToFloat32(0x03ff), 1023 * 2 ** -24);
  assert.equal(float16BitsToFloat32(0x0400), 2 ** -14);
  assert.equal(float16BitsToFloat32(0x7c00), Infinity);
  assert.equal(float16BitsToFloat32(0xfc00), -Infinity);
  assert.ok(Object.is(float16BitsToFloat32(0x8000), -0));
  assert.ok(Number.isNaN(float16BitsToFloat32(0x7e00)));
  assert.ok(Number.isNaN(float16BitsToFloat32(0x7c01)));
  assert.ok(Number.isNaN(float16BitsToFloat32(0xfe00)));
});

test('every F16 bit pattern survives F16 → float32 → F16 (NaNs stay NaN)', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const decoded = float16ToFloat32(all);
  const again = float32ToFloat16(decoded);
  for (let h = 0; h < 65536; h++) {
    const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    if (isNaN) {
      assert.ok(Number.isNaN(decoded[h]!), `0x${h.toString(16)} decodes to NaN`);
      assert.equal(again[h]! & 0xfe00, (h & 0x8000) | 0x7e00, `0x${h.toString(16)} re-encodes as a quiet NaN`);
    } else {
      assert.equal(again[h], h, `0x${h.toString(16)}`);
      assert.equal(decoded[h], float16BitsToFloat32(h));
    }
  }
});

test('float32 → F16 picks the nearest F16 (ties to even) for random float32 values', () => {
  let seed = 12345;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const values = new Float32Array(20000).map(() => (random() - 0.5) * 2 ** Math.floor(random() * 44 - 28));
  const halves = float32ToFloat16(values);
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    const h = halves[i]!;
    const chosen = float16BitsToFloat32(h);
    for (const neighbour of [h - 1, h + 1]) {
      if ((neighbour & 0x7fff) > 0x7c00 || neighbour < 0 || neighbour > 0xffff) continue;
      if (((neighbour ^ h) & 0x8000) !== 0) continue;
      const other = float16BitsToFloat32(neighbour);
      const dChosen = Math.abs(x - chosen);
      const dOther = Math.abs(x - other);
      assert.ok(dChosen < dOther || (dChosen === dOther && (h & 1) === 0), `x=${x} → 0x${h.toString(16)}, neighbour 0x${neighbour.toString(16)} is closer`);
    }
  }
});

test('float32 ↔ BF16 matches known bit patterns and rounds ties to even', () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3f80],
    [-2, 0xc000],
    [1 + 2 ** -8, 0x3f80], // tie → even
    [1 + 3 * 2 ** -8, 0x3f82], // tie → even
    [1 + 2 ** -8 + 2 ** -20, 0x3f81],
    [Infinity, 0x7f80],
    [-Infinity, 0xff80],
    [3.4028234663852886e38, 0x7f80], // float32 max rounds up to Inf
    [float32FromBits(0x00010000), 0x0001], // float32 subnormal, exact
    [float32FromBits(0x00008000), 0x0000], // tie → even (0)
    [float32FromBits(0x00018000), 0x0002], // tie → even (2)
  ];
  for (const [value, bits] of cases) assert.equal(float32ToBfloat16Bits(value), bits, `BF16 of ${value}`);
  const nans = float32ToBfloat16(new Float32Array(new Uint32Array([0x7fc00000, 0x7f800001, 0xffffffff]).buffer));
  for (const h of nans) assert.ok(Number.isNaN(bfloat16BitsToFloat32(h)), `0x${h.toString(16)} is NaN`);
  assert.equal(bfloat16BitsToFloat32(0x3f80), 1);
  assert.equal(bfloat16BitsToFloat32(0x0001), float32FromBits(0x00010000));
  const all = new Uint16Array(65536).map((_, i) => i);
  const again = float32ToBfloat16(bfloat16ToFloat32(all));
  for (let h = 0; h < 65536; h++) {
    const isNaN = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
    if (!isNaN) assert.equal(again[h], h);
  }
});

const everyDtype: Record<string, TensorInput> = {
  f64: { dtype: 'F64', shape: [2, 2], data: new Float64Array([1.5, -2.25, Math.PI, -0]) },
  f32: { dtype: 'F32', shape: [3], data: new Float32Array([1, -0.5, 1e-30]) },
  f16: { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0x7c00]) },
  bf16: { dtype: 'BF16', shape: [1, 2], data: new Uint16Array([0x3f80, 0xc000]) },
  i64: { dtype: 'I64', shape: [3], data: new BigInt64Array([-(2n ** 63n), 0n, 2n ** 62n + 7n]) },
  u64: { dtype: 'U64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
  i32: { dtype: 'I32', shape: [2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) },
  u32: { dtype: 'U32', shape: [1], data: new Uint32Array([2 ** 32 - 1]) },
  i16: { dtype: 'I16', shape: [3], data: new Int16Array([-32768, 0, 32767]) },
  u16: { dtype: 'U16', shape: [1], data: new Uint16Array([65535]) },
  i8: { dtype: 'I8', shape: [3], data: new Int8Array([-128, 1, 127]) },
  u8: { dtype: 'U8', shape: [5], data: new Uint8Array([0, 1, 2, 254, 255]) },
  bool: { dtype: 'BOOL', shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) },
  scalar: { dtype: 'F32', shape: [], data: new Float32Array([42]) },
  empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
};

test('every dtype round-trips through a file, with aligned offsets and metadata', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 'all.safetensors');
  await writeSafetensors(file, everyDtype, { format: 'pt', note: 'ünïcode' });
  const bytes = await fs.readFile(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  assert.equal((8 + headerLength) % 8, 0, 'data starts 8-byte aligned');
  const { tensors, metadata } = await readSafetensors(file);
  assert.deepEqual({ ...metadata }, { format: 'pt', note: 'ünïcode' });
  assert.deepEqual([...tensors.keys()].sort(), Object.keys(everyDtype).sort());
  for (const [name, expected] of Object.entries(everyDtype)) {
    const actual = tensors.get(name)!;
    assert.equal(actual.dtype, expected.dtype, name);
    assert.deepEqual(actual.shape, expected.shape, name);
    assert.equal(actual.data.constructor, expected.data.constructor, name);
    assert.deepEqual([...actual.data], [...expected.data], name);
  }
  const { entries } = await inspectSafetensors(file);
  for (const [name, entry] of entries) {
    const itemSize = tensors.get(name)!.data.BYTES_PER_ELEMENT;
    assert.equal(entry.dataOffsets[0] % itemSize, 0, `${name} is aligned to its element size`);
  }
  assert.deepEqual(await fs.readdir(dir), ['all.safetensors'], 'no temp files left behind');
});

test('F16 and BF16 are written from Float32Array and decoded on request', () => {
  const values = new Float32Array([1, -2.5, 0.1, 65504, 1e-8, NaN, -Infinity]);
  const bytes = encodeSafetensors({
    half: { dtype: 'F16', shape: [7], data: values },
    brain: { dtype: 'BF16', shape: [7], data: values },
  });
  const { tensors } = decodeSafetensors(bytes);
  const half = tensors.get('half')!;
  assert.equal(half.dtype, 'F16');
  assert.deepEqual([...(half.data as Uint16Array)], [...float32ToFloat16(values)]);
  const halfValues = tensorToFloat32(half);
  assert.deepEqual([...halfValues.subarray(0, 4)], [1, -2.5, float16BitsToFloat32(0x2e66), 65504]);
  assert.equal(halfValues[4], float16BitsToFloat32(float32ToFloat16Bits(1e-8)));
  assert.ok(Number.isNaN(halfValues[5]!));
  assert.equal(halfValues[6], -Infinity);
  const brainValues = tensorToFloat32(tensors.get('brain')!);
  assert.deepEqual([...brainValues.subarray(0, 2)], [1, -2.5]);
  assert.ok(Number.isNaN(brainValues[5]!));
  assert.throws(() => tensorToFloat32({ dtype: 'I32', shape: [1], data: new Int32Array(1) }, 'step'), /step has dtype I32/);
});

test('reads a file laid out by hand the way Python safetensors writes it (space-padded header)', () => {
  const weight = new Float32Array([1, 2, 3, 4, 5, 6]);
  const ids = new BigInt64Array([7n, -1n]);
  const header =
    '{"__metadata__":{"format":"pt"},' +
    '"embed.ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},' +
    '"embed.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[16,40]},' +
    '"ln.bias":{"dtype":"BF16","shape":[2],"data_offsets":[40,44]},' +
    '"mask":{"dtype":"BOOL","shape":[3],"data_offsets":[44,47]}}';
  const data = Buffer.concat([
    Buffer.from(ids.buffer),
    Buffer.from(weight.buffer),
    Buffer.from(new Uint16Array([0x3f80, 0xbf80]).buffer),
    Buffer.from([1, 0, 1]),
  ]);
  const bytes = handBuilt(header, data);
  assert.equal(bytes[8 + header.length], 0x20, 'header is padded with spaces');
  const { tensors, metadata } = decodeSafetensors(bytes, 'python.safetensors');
  assert.equal(metadata.format, 'pt');
  assert.deepEqual([...(tensors.get('embed.ids')!.data as BigInt64Array)], [7n, -1n]);
  assert.deepEqual(tensors.get('embed.weight')!.shape, [2, 3]);
  assert.deepEqual([...(tensors.get('embed.weight')!.data as Float32Array)], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...tensorToFloat32(tensors.get('ln.bias')!)], [1, -1]);
  assert.deepEqual([...(tensors.get('mask')!.data as Uint8Array)], [1, 0, 1]);
  // An unpadded header is accepted too; the data is then misaligned and must still be read correctly.
  const unpadded = decodeSafetensors(handBuilt(header, data, false));
  assert.deepEqual([...(unpadded.tensors.get('embed.weight')!.data as Float32Array)], [1, 2, 3, 4, 5, 6]);
});

const goodHeader = {
  a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
  b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
};
const goodData = new Uint8Array(12);

test('malformed files are refused with errors naming the file and the fault', async (t) => {
  await t.test('a valid baseline decodes', () => {
    assert.equal(decodeSafetensors(handBuilt(goodHeader, goodData)).tensors.size, 2);
  });
  await t.test('file shorter than the header length field', () => {
    rejects(new Uint8Array(5), /5 bytes, too short for the 8-byte header length/);
  });
  await t.test('header length larger than the file', () => {
    const bytes = handBuilt(goodHeader, goodData);
    bytes.writeBigUInt64LE(BigInt(bytes.length));
    rejects(bytes, /header length \d+ is larger than the rest of the file/);
    bytes.writeBigUInt64LE(2n ** 64n - 1n);
    rejects(bytes, /header length 18446744073709551615 is larger/);
  });
  await t.test('bad JSON', () => {
    rejects(handBuilt('{"a": {"dtype": "F32",', goodData), /header is not valid JSON/);
  });
  await t.test('bad UTF-8', () => {
    const bytes = handBuilt('{"\xff":1}', new Uint8Array(0));
    bytes[10] = 0xff;
    rejects(bytes, /not valid UTF-8/);
  });
  await t.test('header that is not an object', () => {
    rejects(handBuilt('[1,2]', new Uint8Array(0)), /header must be a JSON object/);
  });
  await t.test('unknown dtype', () => {
    rejects(handBuilt({ ...goodHeader, b: { dtype: 'F8_E9M9', shape: [1], data_offsets: [8, 12] } }, goodData), /tensor "b": unknown dtype "F8_E9M9"/);
  });
  await t.test('shape and size disagree', () => {
    rejects(handBuilt({ ...goodHeader, a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, goodData), /tensor "a": shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\] span 8/);
  });
  await t.test('overlapping offsets', () => {
    const header = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } };
    rejects(handBuilt(header, goodData), /tensor "b": data_offsets \[4, 12\] overlap tensor "a", which ends at 8/);
  });
  await t.test('hole between tensors', () => {
    const header = { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } };
    rejects(handBuilt(header, goodData), /tensor "b": .* leave a hole of 4 bytes after tensor "a"/);
  });
  await t.test('hole at the start', () => {
    const header = { a: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } };
    rejects(handBuilt(header, goodData), /hole of 4 bytes after the start of the data/);
  });
  await t.test('bytes after the last tensor', () => {
    rejects(handBuilt(goodHeader, new Uint8Array(16)), /4 bytes of data after the last tensor/);
  });
  await t.test('offsets out of range', () => {
    const header = { ...goodHeader, b: { dtype: 'F32', shape: [3], data_offsets: [8, 20] } };
    rejects(handBuilt(header, goodData), /tensor "b": data_offsets \[8, 20\] reach past the end of the data \(12 bytes/);
  });
  await t.test('offsets reversed or not integers', () => {
    rejects(handBuilt({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, goodData), /tensor "a": data_offsets \[8, 4\] end before they begin/);
    rejects(handBuilt({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 12.5] } }, goodData), /tensor "a": "data_offsets" must be/);
  });
  await t.test('bad shape, missing and unknown fields', () => {
    rejects(handBuilt({ a: { dtype: 'F32', shape: [-3], data_offsets: [0, 12] } }, goodData), /tensor "a": shape \[-3\] has an invalid dimension -3/);
    rejects(handBuilt({ a: { dtype: 'F32', data_offsets: [0, 12] } }, goodData), /tensor "a": missing "shape"/);
    rejects(handBuilt({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 12], strides: [1] } }, goodData), /tensor "a": unknown field "strides"/);
  });
  await t.test('metadata values must be strings', () => {
    rejects(handBuilt({ __metadata__: { epoch: 3 }, ...goodHeader }, goodData), /"__metadata__" value for "epoch" must be a string/);
  });
  await t.test('BOOL values other than 0 and 1', () => {
    rejects(handBuilt({ m: { dtype: 'BOOL', shape: [2], data_offsets: [0, 2] } }, new Uint8Array([1, 7])), /tensor "m": BOOL element 1 has value 7/);
  });
});

test('a file truncated at any point is refused with a message naming it', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 'weights.safetensors');
  await writeSafetensors(file, everyDtype);
  const whole = await fs.readFile(file);
  const headerEnd = 8 + Number(whole.readBigUInt64LE(0));
  const cuts = [0, 3, 8, 9, headerEnd - 1, headerEnd, headerEnd + 5, whole.length - 1];
  for (const cut of cuts) {
    await fs.writeFile(file, whole.subarray(0, cut));
    await assert.rejects(readSafetensors(file), (err: unknown) => {
      assert.ok(err instanceof UserError, `cut at ${cut}: ${String(err)}`);
      assert.ok(err.message.startsWith(`${file}: `), err.message);
      assert.match(err.message, /too short|larger than the rest of the file|truncated|past the end/);
      return true;
    });
    await assert.rejects(inspectSafetensors(file), UserError, `inspect, cut at ${cut}`);
  }
  await assert.rejects(readSafetensors(path.join(dir, 'missing.safetensors')), /missing\.safetensors: no such file/);
});

test('the writer refuses inconsistent tensors, naming the file and the tensor', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 'bad.safetensors');
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } }, /tensor "w": shape \[2, 2\] has 4 elements but the data has 3/],
    [{ w: { dtype: 'F32', shape: [2], data: new Float64Array(2) } }, /tensor "w": F32 data must be a Float32Array, got Float64Array/],
    [{ w: { dtype: 'I64', shape: [2], data: new Int32Array(2) } }, /tensor "w": I64 data must be a BigInt64Array/],
    [{ w: { dtype: 'F16', shape: [1], data: new Float64Array(1) } }, /F16 data must be a Float32Array or Uint16Array/],
    [{ w: { dtype: 'Q4', shape: [1], data: new Uint8Array(1) } }, /tensor "w": unknown dtype "Q4"/],
    [{ w: { dtype: 'F32', shape: [1.5], data: new Float32Array(1) } }, /tensor "w": invalid shape \[1.5\]/],
    [{ w: { dtype: 'BOOL', shape: [1], data: new Uint8Array([2]) } }, /tensor "w": BOOL element 0 has value 2/],
    [{ __metadata__: { dtype: 'F32', shape: [1], data: new Float32Array(1) } }, /invalid tensor name "__metadata__"/],
  ];
  for (const [tensors, pattern] of cases) {
    await assert.rejects(writeSafetensors(file, tensors as Record<string, TensorInput>), (err: unknown) => {
      assert.ok(err instanceof UserError, String(err));
      assert.ok(err.message.startsWith(`${file}: `), err.message);
      assert.match(err.message, pattern);
      return true;
    });
  }
  assert.deepEqual(await fs.readdir(dir), [], 'nothing written');
  // A missing folder is created; a file where the folder should be is refused by name.
  await writeSafetensors(path.join(dir, 'new', 'folder', 'x.safetensors'), {});
  await fs.writeFile(path.join(dir, 'file'), '');
  await assert.rejects(writeSafetensors(path.join(dir, 'file', 'x.safetensors'), {}), /a file stands where its folder should be/);
});

test('an empty tensor set and a Map input both encode', () => {
  const empty = decodeSafetensors(encodeSafetensors({}));
  assert.equal(empty.tensors.size, 0);
  const odd = decodeSafetensors(encodeSafetensors({ ['__proto__']: { dtype: 'U8', shape: [1], data: new Uint8Array([9]) } }));
  assert.deepEqual([...odd.tensors.keys()], ['__proto__']);
  const fromMap = decodeSafetensors(encodeSafetensors(new Map([['x.y', { dtype: 'F32', shape: [1], data: new Float32Array([3]) } as TensorInput]])));
  assert.deepEqual([...(fromMap.tensors.get('x.y')!.data as Float32Array)], [3]);
});
