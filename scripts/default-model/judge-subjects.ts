// Does a model draw the subject its prompt names? CLIP R-precision with the shipped reranker as the judge:
// for each image drawn for a prompt of subject-prompts.txt (40 training emoji: faces, animals, food, objects),
// whether the judge ranks its own prompt first (R@1) or in the top 5 (R@5) among all the prompts. Drawn
// without reranking, so the judge does not also pick the candidates, at the model's sampling.json settings (a
// run folder has none and samples plainly: export it with the settings to compare it with a model).
//   node --import tsx scripts/default-model/judge-subjects.ts MODEL_DIR [PROMPTS] [SEED]
import { readFileSync } from 'node:fs';
import { loadDalle } from '../../src/dalle/load.ts';
import { generate, generateSettings } from '../../src/dalle/generate.ts';
import { loadClip } from '../../src/clip/load.ts';
import { hitRanks } from '../../src/clip/eval.ts';
import { stackImages } from '../../src/io/images.ts';

const [modelDir = 'models/default', promptFile = 'scripts/default-model/subject-prompts.txt', seed = '1'] = process.argv.slice(2);
const model = await loadDalle(modelDir);
const judge = await loadClip('models/default/clip');
const prompts = readFileSync(promptFile, 'utf8').split('\n').map((line) => line.trim()).filter(Boolean);
const images = await generate(model, prompts, generateSettings({ ...model.sampling, rerank: 1 }, { n: 8, seed: Number(seed), batchSize: 32 }));
// Each image's rank of its own prompt among all the prompts (the images are at the judge's 32 px already).
const ranks = hitRanks(
  await judge.encoders.embedImages(judge.params, stackImages(images.map((img) => img.image))),
  await judge.encoders.embedTexts(judge.params, prompts),
  images.map((img) => img.prompt), prompts);
const perPrompt = prompts.map((prompt) => `${prompt} ${ranks.filter((r, k) => r === 0 && images[k]!.prompt === prompt).length}`);
console.log(perPrompt.join(', '));
const pct = (k: number) => `${k}/${images.length} (${((100 * k) / images.length).toFixed(1)}%)`;
console.log(`R@1 ${pct(ranks.filter((r) => r < 1).length)}, R@5 ${pct(ranks.filter((r) => r < 5).length)}`);
