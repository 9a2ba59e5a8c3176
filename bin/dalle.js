#!/usr/bin/env node
// The `dalle` command. The project is TypeScript run through tsx, so no build step stands between a
// fresh clone and a working command.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
