// `npm run bench`: every benchmark, one line per figure (`name: value unit`, and `name vs pytorch: ratio x`
// where PyTorch is installed). Record the results in bench/RESULTS.md.
import { dalleFigures } from './dalle.ts';
import { dvaeFigures } from './dvae.ts';
import { clipFigures } from './clip.ts';
import { engineFigures } from './engine.ts';
import { gptFigures } from './gpt.ts';
import { tokenizerFigures } from './tokenizer.ts';
import { sampleFigures } from './sample.ts';
import { printFigures } from './support.ts';

const only = process.argv[2];
const suites: Record<string, () => Promise<import('./support.ts').Figure[]>> = {
  engine: engineFigures,
  dvae: dvaeFigures,
  gpt: gptFigures,
  dalle: dalleFigures,
  tokenizer: tokenizerFigures,
  sample: sampleFigures,
  clip: clipFigures,
};

for (const [name, run] of Object.entries(suites)) {
  if (only && only !== name) continue;
  console.log(`# ${name}`);
  printFigures(await run());
}
