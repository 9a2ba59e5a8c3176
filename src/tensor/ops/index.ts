// The functional op API, as jax.numpy is for JAX: `import * as T from '../tensor/index.ts'`.
export * from './elementwise.ts';
export * from './reduce.ts';
export * from './shape.ts';
export * from './linalg.ts';
export * from './indexing.ts';
export * from './norm.ts';
export * from './losses.ts';
export * from './conv.ts';
