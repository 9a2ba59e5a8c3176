// What a caption is worth on training emoji: the image NLL (nats per code cell) of an emoji's training images
// under its first caption and with the caption left empty, overall and per row of the code grid. A model
// that has bound a name to its images scores them much lower with the name; one that fits them only from
// the image prefix scores them about the same either way (the model card's "Metrics" quotes the gaps).
//   node --import tsx scripts/default-model/caption-probe.ts MODEL_DIR CACHE_DIR ["a pizza" …]
import { loadDalle } from '../../src/dalle/load.ts';
import { openCache } from '../../src/data/cache.ts';
import { encodeCache } from '../../src/dalle/codes.ts';
import { runFolderOf } from '../../src/train/data.ts';
import * as T from '../../src/tensor/index.ts';
import type { Tensor } from '../../src/tensor/index.ts';
import { sequenceLength } from '../../src/dalle/config.ts';
import { type DalleParams, dalleHidden, imageInputTokens, imageLogits } from '../../src/dalle/model.ts';
import { emptyCaption, encodeCaption } from '../../src/dalle/text.ts';

const [modelDir, cacheDir, ...given] = process.argv.slice(2);
if (!modelDir || !cacheDir) throw new Error('usage: caption-probe.ts MODEL_DIR CACHE_DIR [CAPTION …]');
const names = given.length > 0 ? given : ['a grinning face', 'a loudly crying face', 'a dog face', 'a frog', 'a pizza', 'a hamburger', 'a banana', 'a watermelon', 'a red apple', 'a rocket', 'a light bulb', 'a christmas tree', 'a blue heart'];
const model = await loadDalle(modelDir);
const cache = openCache(cacheDir);
const codes = await encodeCache(model.dvae, cache, runFolderOf(model.dir), `${model.dir}|${cacheDir}|${cache.count}`, { silent: true });
const c = model.config;
const cells = codes.cells;
const grid = c.grid;
const logProbs = T.compile((p: DalleParams<Tensor>, text: Tensor, image: Tensor) => {
  const h = dalleHidden(p, { text, image: imageInputTokens(image, c) }, c).h;
  return { l: T.logSoftmax(imageLogits(p, T.sliceAxis(h, 1, c.textLength, sequenceLength(c)), c), -1) };
}, { name: 'caption_probe' });

for (const name of names) {
  const indices = cache.items.flatMap((item, i) => (item.split === 'train' && item.captions[0]!.toLowerCase() === name ? [i] : []));
  if (indices.length === 0) {
    console.log(`${name}: no training image has it as its first caption`);
    continue;
  }
  const image = new BigInt64Array(indices.length * cells);
  indices.forEach((index, k) => { for (let j = 0; j < cells; j++) image[k * cells + j] = BigInt(codes.codes[index * cells + j]!); });
  const rowsOf = async (empty: boolean): Promise<number[]> => {
    const caption = empty ? emptyCaption(c) : encodeCaption(model.tokenizer, name, c).ids;
    const text = indices.flatMap(() => caption);
    const { l } = await logProbs(model.params as never, T.NDArray.int64(text, [indices.length, c.textLength]), new T.NDArray(image, [indices.length, cells]));
    const lp = l.data as Float32Array;
    const rows = new Array<number>(grid).fill(0);
    indices.forEach((_, k) => { for (let j = 0; j < cells; j++) rows[Math.floor(j / grid)]! -= lp[(k * cells + j) * c.imageVocab + Number(image[k * cells + j])]! / grid / indices.length; });
    return rows;
  };
  const mean = (rows: number[]) => rows.reduce((a, b) => a + b, 0) / rows.length;
  const withCaption = await rowsOf(false);
  const without = await rowsOf(true);
  console.log(`${name} (${indices.length} images): caption ${mean(withCaption).toFixed(3)}, empty ${mean(without).toFixed(3)}, gap ${(mean(without) - mean(withCaption)).toFixed(3)}`);
  console.log(`  rows with caption ${withCaption.map((r) => r.toFixed(2)).join(' ')}; empty ${without.map((r) => r.toFixed(2)).join(' ')}`);
}
