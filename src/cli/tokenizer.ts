// `dalle tokenizer …`: train a byte-level BPE on captions, encode and decode text with it, and measure how
// it fits a caption set (tokens per caption, share truncated at the model's text length).
import { Command } from 'commander';
import { UserError } from '../errors.ts';
import {
  BpeTrainer, DEFAULT_SPECIAL_TOKENS, loadTokenizer, readCaptions, saveTokenizer, seededRandom,
} from '../tokenizer/index.ts';

function wholeNumber(name: string, min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new UserError(`${name} must be a whole number ≥ ${min}, got ${JSON.stringify(value)}`);
    return n;
  };
}

function probability(value: string): number {
  const p = Number(value);
  if (value.trim() === '' || !(p >= 0 && p < 1)) throw new UserError(`--dropout must be a number in [0, 1), got ${JSON.stringify(value)}`);
  return p;
}

export function registerTokenizerCommands(program: Command): void {
  const tokenizer = program.command('tokenizer').description('byte-level BPE tokenizer for captions (Hugging Face tokenizer.json)');

  tokenizer.command('train')
    .description('train a BPE on captions: text files (one per line), folders of .txt files, or .jsonl manifests')
    .requiredOption('--data <paths...>', 'caption files, folders or .jsonl manifests')
    .option('--vocab-size <n>', 'total vocabulary, special tokens and 256 bytes included', wholeNumber('--vocab-size', 1), 16384)
    .option('--min-frequency <n>', 'never merge a pair seen fewer times', wholeNumber('--min-frequency', 1), 2)
    .option('--special <tokens...>', 'special tokens, given ids 0, 1, …', [...DEFAULT_SPECIAL_TOKENS])
    .option('--out <file>', 'where to write tokenizer.json', 'tokenizer.json')
    .action(async (opts: { data: string[]; vocabSize: number; minFrequency: number; special: string[]; out: string }) => {
      const started = performance.now();
      const trainer = new BpeTrainer({ vocabSize: opts.vocabSize, minFrequency: opts.minFrequency, specialTokens: opts.special });
      for await (const caption of readCaptions(opts.data)) trainer.add(caption);
      if (trainer.captionCount === 0) throw new UserError(`no captions found in ${opts.data.join(', ')}`);
      const read = performance.now();
      const trained = trainer.finish();
      saveTokenizer(trained, opts.out);
      const seconds = (ms: number): string => (ms / 1000).toFixed(2);
      console.log(`captions: ${trainer.captionCount} (${trainer.wordTypeCount} distinct words), read in ${seconds(read - started)} s`);
      console.log(`vocabulary: ${trained.vocabSize} tokens (${opts.special.length} special, 256 bytes, ${trained.mergeCount} merges), trained in ${seconds(performance.now() - read)} s`);
      if (trained.vocabSize < opts.vocabSize) console.log(`stopped early: no pair left that occurs at least ${opts.minFrequency} times`);
      console.log(`wrote ${opts.out}`);
    });

  tokenizer.command('encode')
    .description('show the ids and pieces of a text')
    .argument('<text>', 'text to encode')
    .option('--tokenizer <file>', 'tokenizer.json to use', 'tokenizer.json')
    .option('--max-length <n>', 'keep at most n tokens', wholeNumber('--max-length', 0))
    .option('--dropout <p>', 'BPE dropout probability (as in training)', probability, 0)
    .option('--seed <n>', 'seed for dropout', wholeNumber('--seed', 0), 0)
    .option('--json', 'print {"ids", "tokens"} as JSON')
    .action((text: string, opts: { tokenizer: string; maxLength?: number; dropout: number; seed: number; json?: boolean }) => {
      const tok = loadTokenizer(opts.tokenizer);
      const ids = tok.encode(text, { maxLength: opts.maxLength, dropout: opts.dropout, random: seededRandom(opts.seed) });
      const tokens = tok.idsToTokens(ids);
      if (opts.json) { console.log(JSON.stringify({ ids, tokens })); return; }
      console.log(`${ids.length} tokens: ${ids.join(' ')}`);
      ids.forEach((id, i) => console.log(`${String(id).padStart(7)}  ${tokens[i]!.padEnd(16)}  ${JSON.stringify(tok.tokenText(id))}`));
    });

  tokenizer.command('decode')
    .description('turn ids back into text')
    .argument('<ids...>', 'token ids')
    .option('--tokenizer <file>', 'tokenizer.json to use', 'tokenizer.json')
    .option('--skip-special', 'leave special tokens out')
    .action((ids: string[], opts: { tokenizer: string; skipSpecial?: boolean }) => {
      const tok = loadTokenizer(opts.tokenizer);
      console.log(tok.decode(ids.map(wholeNumber('token id', 0)), { skipSpecialTokens: opts.skipSpecial === true }));
    });

  tokenizer.command('stats')
    .description('vocabulary, tokens per caption and share truncated on a caption set')
    .requiredOption('--data <paths...>', 'caption files, folders or .jsonl manifests')
    .option('--tokenizer <file>', 'tokenizer.json to use', 'tokenizer.json')
    .option('--max-length <n>', 'text length of the model (DALL·E: 256)', wholeNumber('--max-length', 1), 256)
    .action(async (opts: { data: string[]; tokenizer: string; maxLength: number }) => {
      const tok = loadTokenizer(opts.tokenizer);
      const lengths: number[] = [];
      const started = performance.now();
      for await (const caption of readCaptions(opts.data)) lengths.push(tok.encode(caption).length);
      const ms = performance.now() - started;
      if (lengths.length === 0) throw new UserError(`no captions found in ${opts.data.join(', ')}`);
      const sorted = Float64Array.from(lengths).sort();
      const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
      const truncated = lengths.filter((n) => n > opts.maxLength).length;
      const special = tok.parts.addedTokens.filter((t) => t.special).length;
      console.log(`vocabulary: ${tok.vocabSize} tokens (${special} special, ${tok.mergeCount} merges)`);
      console.log(`captions: ${lengths.length}`);
      console.log(`mean tokens per caption: ${mean.toFixed(2)}`);
      console.log(`median / 95th percentile / max: ${sorted[Math.floor(sorted.length / 2)]} / ${sorted[Math.floor(sorted.length * 0.95)]} / ${sorted[sorted.length - 1]}`);
      console.log(`truncated at ${opts.maxLength}: ${(100 * truncated / lengths.length).toFixed(2)}% (${truncated} captions)`);
      console.log(`encoding speed: ${Math.round(lengths.length / (ms / 1000))} captions/s`);
    });
}
