// Option parsers shared by the commands: each turns a bad value into a UserError naming the flag and value.
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { z } from 'zod';
import { UserError, parseUserInput } from '../errors.ts';

export function intOption(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new UserError(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
    return n;
  };
}

export function numberOption(name: string, min = -Infinity, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new UserError(`${name} must be a number from ${min} to ${max}, got "${value}"`);
    return n;
  };
}

/** `--config NAME|file.json`: a preset by name, or a JSON file validated by the schema. */
export function resolveConfig<C>(value: string, presets: Record<string, C>, schema: z.ZodType<C>, flag = '--config'): C {
  let raw: unknown;
  if (Object.hasOwn(presets, value)) raw = presets[value];
  else if (value.endsWith('.json')) {
    try {
      raw = JSON.parse(readFileSync(value, 'utf8'));
    } catch (err) {
      throw new UserError(`${flag} ${value}: ${(err as Error).message}`);
    }
  } else {
    throw new UserError(`${flag} ${value}: not a preset (${Object.keys(presets).join(', ')}) nor a .json file`);
  }
  return parseUserInput(schema, raw, `${flag} ${value}`);
}

/** `--steps` as the trainer should see it, to spread into its options: on `--resume` only when typed, so that the run keeps its own
 *  total (and the schedules spanning it) instead of taking the flag's default. */
export function stepsOption(o: { steps: number; resume?: boolean }, command: Command): { steps?: number } {
  return o.resume && command.getOptionValueSource('steps') !== 'cli' ? {} : { steps: o.steps };
}

/** The closing line of a training command; a resumed run that had already reached its steps trained nothing. */
export function trainedLine(r: { step: number; trained: number; loss: number }, start: number, checkpoint: string): string {
  if (r.trained === 0) return `already trained to step ${r.step}; nothing to do; checkpoint in ${checkpoint}`;
  return `trained ${r.step} steps in ${seconds(start)}; final loss ${r.loss.toFixed(4)}; checkpoint in ${checkpoint}`;
}

export function seconds(start: number): string {
  return `${((performance.now() - start) / 1000).toFixed(1)} s`;
}

/** `--balance image|group` for the trainers (data/batches.ts: what an epoch visits once). */
export const balanceOption = (): Option =>
  new Option('--balance <unit>', 'what an epoch visits once: every image, or every group (one image of each, so subjects with many variants do not crowd out the rest)')
    .choices(['image', 'group']).default('image');
