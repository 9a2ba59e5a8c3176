// The tokenizer's public surface: train a byte-level BPE on captions, encode and decode, read and write
// Hugging Face `tokenizer.json`.
export { BpeTokenizer, seededRandom, type AddedToken, type DecodeOptions, type EncodeOptions, type TokenizerParts } from './tokenizer.ts';
export { BpeTrainer, trainTokenizer, DEFAULT_SPECIAL_TOKENS, type TrainOptions } from './train.ts';
export { fromTokenizerJson, loadTokenizer, saveTokenizer, toTokenizerJson } from './hf-json.ts';
export { readCaptions } from './corpus.ts';
