// The `dalle` command line: one commander program; each area registers its subcommands from its own file.
import { Command } from 'commander';
import { UserError } from '../errors.ts';
import { registerTokenizerCommands } from './tokenizer.ts';
import { registerDataCommands } from './data.ts';
import { registerVaeCommands } from './vae.ts';
import { registerDalleCommands } from './dalle.ts';
import { registerClipCommands } from './clip.ts';
import { registerServeCommand } from './serve.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('dalle')
    .description('DALL·E text-to-image in TypeScript: train a discrete VAE and a transformer, generate images')
    .version('0.1.0')
    .showHelpAfterError();
  registerTokenizerCommands(program);
  registerDataCommands(program);
  registerVaeCommands(program);
  registerDalleCommands(program);
  registerClipCommands(program);
  registerServeCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof UserError) {
      process.stderr.write(`dalle: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}
