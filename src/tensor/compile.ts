// `compile(fn)`: trace `fn` once per input signature (the tree structure, every leaf's shape and dtype, and
// every static value), lower the graph to ONNX, create an ONNX Runtime session and cache it. Calls then
// run with host NDArrays in and out. Numbers and strings in the arguments are static: they are baked into
// the trace and a new value traces anew; values that change per call (a learning rate) go in as NDArrays.
import { interpret, fromRef } from './interpreter.ts';
import { type LowerOptions, lowerToOnnx } from './lower.ts';
import { NDArray, isNDArray } from './ndarray.ts';
import { type Executable, createOrtExecutable, loadOrt } from './runtime.ts';
import { shapeStr } from './shape.ts';
import { type Tensor, constant, describe, isTensor, placeholder } from './tensor.ts';
import { flattenTree, mapTree, unflattenTree } from './tree.ts';

/** A tree type with every Tensor replaced by an NDArray: what a compiled function takes and returns. */
export type Hosted<T> = T extends Tensor
  ? NDArray
  : T extends readonly unknown[]
    ? { [K in keyof T]: Hosted<T[K]> }
    : T extends object
      ? { [K in keyof T]: Hosted<T[K]> }
      : T;

export interface CompileOptions extends LowerOptions {
  /** 'onnx' (default; falls back to 'reference' where ONNX Runtime cannot load) or 'reference'. */
  backend?: 'onnx' | 'reference';
  /** ONNX Runtime intra-op threads (default: the number of cores). */
  threads?: number;
  name?: string;
}

export interface Compiled<A extends unknown[], R> {
  (...args: Hosted<A>): Promise<Hosted<R>>;
  /** How many signatures have been traced (each is one cached session). */
  readonly traceCount: number;
  /** The ONNX model for the signature of these arguments (traced if needed). */
  exportOnnx(...args: Hosted<A>): Uint8Array;
}

interface Entry {
  /** The lowered model until its session exists (then dropped: the session holds its own copy, and with
   *  weights baked in as constants the bytes are as large as the weights). */
  model: Uint8Array | null;
  lower: () => Uint8Array;
  outDef: ReturnType<typeof flattenTree>['def'];
  outputs: Tensor[];
  inputs: Tensor[];
  exec: Promise<Executable> | null;
}

export function compile<A extends unknown[], R>(fn: (...args: A) => R, options: CompileOptions = {}): Compiled<A, R> {
  const cache = new Map<string, Entry>();
  const fnName = options.name ?? (fn.name || 'compiled function');

  const trace = (args: unknown[]): { entry: Entry; leaves: NDArray[] } => {
    const flat = flattenTree(args, isNDArray);
    const key = JSON.stringify(flat.def) + '|' + flat.leaves.map((a) => `${a.dtype}${shapeStr(a.shape)}`).join(';');
    let entry = cache.get(key);
    if (!entry) {
      const inputs = flat.leaves.map((a, i) => placeholder(a.shape, a.dtype, flat.paths[i] || `arg${i}`));
      const result = fn(...(unflattenTree(flat.def, inputs) as A));
      checkOutputs(result, fnName);
      const out = flattenTree(result, isTensor);
      const lower = () => lowerToOnnx(inputs, out.leaves, fnName.replace(/\W/g, '_'), options);
      entry = { model: lower(), lower, outDef: out.def, outputs: out.leaves, inputs, exec: null };
      cache.set(key, entry);
    }
    return { entry, leaves: flat.leaves };
  };

  const run = async (...args: unknown[]): Promise<unknown> => {
    const { entry, leaves } = trace(args);
    entry.exec ??= makeExecutable(entry, options);
    const results = await (await entry.exec).run(leaves);
    return unflattenTree(entry.outDef, results);
  };

  Object.defineProperty(run, 'traceCount', { get: () => cache.size });
  const exportOnnx = (...args: unknown[]) => {
    const { entry } = trace(args);
    return entry.model ?? entry.lower();
  };
  return Object.assign(run, { exportOnnx }) as unknown as Compiled<A, R>;
}

/** The arrays of a host tree as traced constants, for a compiled function to close over instead of taking
 *  them as arguments. They become initializers of its session, which ONNX Runtime folds (slices of a
 *  weight) and pre-packs for its GEMMs once, where an argument is packed again on every call: weights at
 *  inference, e.g. the sampler's decode step (GPT sampling 1,266–1,515 tok/s against 892–1,091 with the
 *  weights fed per call). */
export function constants<T>(tree: Hosted<T>): T {
  return mapTree(tree, isNDArray, (a: NDArray) => constant(a)) as T;
}

function checkOutputs(result: unknown, fnName: string): void {
  const out = flattenTree(result, (x): x is unknown => x === null || typeof x !== 'object' || !(Array.isArray(x) || Object.getPrototypeOf(x) === Object.prototype));
  out.leaves.forEach((leaf, i) => {
    if (!isTensor(leaf) && typeof leaf === 'object' && leaf !== null) {
      throw new TypeError(`${fnName}: output '${out.paths[i] || '(root)'}' is ${describe(leaf)}, not a Tensor`);
    }
  });
}

async function makeExecutable(entry: Entry, options: CompileOptions): Promise<Executable> {
  const ort = options.backend === 'reference' ? null : await loadOrt();
  if (ort) {
    const exec = await createOrtExecutable(ort, entry.model ?? entry.lower(), entry.outputs, options);
    entry.model = null;
    return exec;
  }
  return {
    async run(leaves) {
      const feeds = new Map(entry.inputs.map((t, i) => [t, leaves[i]!] as const));
      return interpret(entry.outputs, feeds).map((r, i) => fromRef(r, entry.outputs[i]!));
    },
  };
}
