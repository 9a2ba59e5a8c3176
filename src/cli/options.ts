// Option parsers shared by the commands: each turns a bad value into a UserError naming the flag and value.
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { z } from 'zod';
import { UserError, parseUserInput } from '../errors.ts';
import type { Balance } from '../data/batches.ts';

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

/** A trainer's options from a command's flags: each option names the flag's attribute (`batchSize: 'batch'`).
 *  On --resume only the flags typed are passed, so the run keeps its own settings instead of taking the
 *  flags' defaults, and the trainer refuses a typed one that differs from the run's (a new --steps aside). */
export function trainOptions<O>(o: Record<string, unknown>, command: Command, flags: { [K in keyof O]?: string }): Partial<O> {
  const options: Record<string, unknown> = {};
  for (const [key, attr] of Object.entries(flags) as [string, string][]) {
    if (!command.options.some((flag) => flag.attributeName() === attr)) throw new Error(`${command.name()}: no flag for option ${key} (${attr})`);
    if (o[attr] === undefined || (o.resume && command.getOptionValueSource(attr) !== 'cli')) continue;
    options[key] = o[attr];
  }
  return options as Partial<O>;
}

/** The closing line of a training command; a resumed run that had already reached its steps trained nothing. */
export function trainedLine(r: { step: number; trained: number; loss: number }, start: number, checkpoint: string): string {
  if (r.trained === 0) return `already trained to step ${r.step}; nothing to do; checkpoint in ${checkpoint}`;
  return `trained ${r.step} steps in ${seconds(start)}; final loss ${r.loss.toFixed(4)}; checkpoint in ${checkpoint}`;
}

export function seconds(start: number): string {
  return `${((performance.now() - start) / 1000).toFixed(1)} s`;
}

/** `--balance image|group|N` for the trainers (data/batches.ts: what an epoch visits). */
export const balanceOption = (): Option =>
  new Option('--balance <unit>', 'what an epoch visits: every image; every group once (one of its images); or a number n, at most n images of each group (so subjects with many skin tones or variants do not crowd out the rest)')
    .argParser((value: string): Balance => {
      if (value === 'image' || value === 'group') return value;
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new UserError(`--balance must be image, group or a positive integer, got "${value}"`);
      return n;
    })
    .default('image');

/** `--shift` and `--flip`, the augmentations the transformer's and the reranker's trainers share
 *  (data/augment.ts); `copies` says what they apply to. */
export const shiftOption = (copies: string): Option =>
  new Option('--shift <px>', `augmentation: ${copies} shifted by up to px pixels each way (edges repeated); 0: none`).argParser(intOption('--shift', 0, 16)).default(0);
export const flipOption = (copies: string): Option =>
  new Option('--flip', `augmentation: ${copies} mirrored left to right at random, except images whose captions name a side, a turning sense, writing or a flag`);
