#!/usr/bin/env node
// The `dalle` command. The project is TypeScript run through tsx, so no build step stands between a
// fresh clone and a working command. The heavy dependencies are imported before tsx registers its loader
// hooks: every file imported after that goes through them (zod's files alone took 0.2 s), while modules
// already loaded are reused as they are (the same instances the TypeScript sources then import).
await Promise.all([import('zod'), import('commander'), import('sharp'), import('onnxruntime-node')]);
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
