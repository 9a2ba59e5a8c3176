// Does a model draw the subject its prompt names? CLIP R-precision with the shipped reranker as the judge:
// for each image drawn for a prompt of subject-prompts.txt (40 training emoji: faces, animals, food, objects),
// whether the judge ranks its own prompt first (R@1) or in the top 5 (R@5) among all the prompts. Drawn
// without reranking, so the judge does not also pick the candidates, at the model's sampling.json settings (a
// run folder has none and samples plainly: export it with the settings to compare it with a model).
//   node --import tsx scripts/default-model/judge-subjects.ts MODEL_DIR [PROMPTS] [SEED]
import { readFileSync } from 'node:fs';
import { loadDalle } from '../../src/dalle/load.ts';
import { generate, generateSettings } from '../../src/dalle/generate.ts';
import { clipScorer, loadClip } from '../../src/clip/load.ts';

const [modelDir = 'models/default', promptFile = 'scripts/default-model/subject-prompts.txt', seed = '1'] = process.argv.slice(2);
const model = await loadDalle(modelDir);
const judge = clipScorer(await loadClip('models/default/clip'));
const prompts = readFileSync(promptFile, 'utf8').split('\n').map((line) => line.trim()).filter(Boolean);
const images = await generate(model, prompts, generateSettings({ ...model.sampling, rerank: 1 }, { n: 8, seed: Number(seed), batchSize: 32 }));
const scores = await Promise.all(prompts.map((p) => judge.score(p, images.map((img) => img.image))));
const counts = { top1: 0, top5: 0 };
const perPrompt = prompts.map((prompt, p) => {
  let top1 = 0;
  images.forEach((img, k) => {
    if (img.prompt !== prompt) return;
    const better = scores.filter((s) => s[k]! > scores[p]![k]!).length;
    if (better === 0) top1++;
    if (better < 5) counts.top5++;
  });
  counts.top1 += top1;
  return `${prompt} ${top1}`;
});
console.log(perPrompt.join(', '));
const pct = (k: number) => `${k}/${images.length} (${((100 * k) / images.length).toFixed(1)}%)`;
console.log(`R@1 ${pct(counts.top1)}, R@5 ${pct(counts.top5)}`);
