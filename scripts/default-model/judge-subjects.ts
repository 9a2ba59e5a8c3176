// Does a model draw the subject its prompt names? CLIP R-precision with the shipped reranker as the judge:
// for each image drawn for a prompt of subject-prompts.txt (40 emoji: faces, animals, food, objects; all but
// the penguin from the training split), whether the judge ranks its own prompt first (R@1) or in the top 5
// (R@5) among all the prompts. Drawn without reranking, so the judge does not also pick the candidates, at
// the model's sampling.json settings (a run folder has none and samples plainly: export it with the settings
// to compare it with a model).
//   --real CACHE     judge the training emoji whose first caption is a prompt instead: the score real emoji
//                    get from the same judge, to set a model's samples against
//   --judge DIR      another contrastive model as the judge; given more than once, each judges the same images
//   --rerank R       keep the best 8 of 8·R candidates by the model's reranker (or by --reranker DIR), to
//                    judge a reranker's picks with a judge other than itself
//   node --import tsx scripts/default-model/judge-subjects.ts MODEL_DIR [PROMPTS] [SEED] [--judge DIR]… [--rerank R [--reranker DIR]]
//   node --import tsx scripts/default-model/judge-subjects.ts --real CACHE_DIR [PROMPTS] [--judge DIR]…
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadDalle } from '../../src/dalle/load.ts';
import { generate, generateSettings } from '../../src/dalle/generate.ts';
import { loadClip } from '../../src/clip/load.ts';
import { hitRanks } from '../../src/clip/eval.ts';
import { openCache } from '../../src/data/cache.ts';
import { type RgbImage, stackImages } from '../../src/io/images.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: {
  real: { type: 'string' }, judge: { type: 'string', multiple: true, default: ['models/default/clip'] }, rerank: { type: 'string', default: '1' }, reranker: { type: 'string' },
} });
const [modelDir = 'models/default', promptFile = 'scripts/default-model/subject-prompts.txt', seed = '1'] = values.real ? [undefined, ...positionals] : positionals;
const prompts = readFileSync(promptFile, 'utf8').split('\n').map((line) => line.trim()).filter(Boolean);

// The images to judge, each with the prompt it should show (all at the judge's 32 px already).
let images: { image: RgbImage; prompt: string }[];
if (values.real) {
  const cache = openCache(values.real);
  images = cache.items.flatMap((item, i) => {
    const prompt = prompts.find((p) => p === item.captions[0]!.toLowerCase());
    return item.split === 'train' && prompt ? [{ image: cache.image(i), prompt }] : [];
  });
} else {
  const model = await loadDalle(modelDir, values.reranker ? { reranker: values.reranker } : {});
  images = await generate(model, prompts, generateSettings({ ...model.sampling, rerank: Number(values.rerank) }, { n: 8, seed: Number(seed), batchSize: 32 }));
}
// Per judge: each image's rank of its own prompt among all the prompts.
for (const judgeDir of values.judge) {
  const judge = await loadClip(judgeDir);
  const ranks = hitRanks(
    await judge.encoders.embedImages(judge.params, stackImages(images.map((img) => img.image))),
    await judge.encoders.embedTexts(judge.params, prompts),
    images.map((img) => img.prompt), prompts);
  if (values.judge.length > 1) console.log(`judge ${judgeDir}:`);
  console.log(prompts.map((prompt) => `${prompt} ${ranks.filter((r, k) => r === 0 && images[k]!.prompt === prompt).length}`).join(', '));
  const pct = (k: number) => `${k}/${images.length} (${((100 * k) / images.length).toFixed(1)}%)`;
  console.log(`R@1 ${pct(ranks.filter((r) => r < 1).length)}, R@5 ${pct(ranks.filter((r) => r < 5).length)}`);
}
