#!/usr/bin/env bash
# Reproduces models/default from scratch with the project's own commands (see models/default/MODEL_CARD.md).
# Needs the dev dependencies (the emoji packages): `npm ci` installs them. Takes about 1 h 50 min on an idle 2-core
# AMD EPYC (Zen 5) VM, the fastest measured (the transformer and the reranker estimated from slower EPYC VMs of
# later sessions, by the ratio of the transformer's rates), about 2 h 10 min on the eighteenth session's EPYC, and
# more on the slower 2-core Intel Xeon VMs of other sessions (the model card's time table). Work files go to $RUN
# (default: runs/default); the result is copied to models/default.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${RUN:-runs/default}
MODEL=models/default
dalle() { node bin/dalle.js "$@"; }
# A training step that was interrupted continues from its last checkpoint; a finished one returns at once.
resume() { if [ -e "$1/checkpoint" ]; then echo --resume; fi; }
mkdir -p "$RUN"

# 1. The emoji corpus at 32 px (four styles; captions from emojibase/OpenMoji/Fluent names), and its cache.
# Data steps whose output exists are skipped, so an interrupted recipe can be run again.
[ -e "$RUN/emoji32" ] || dalle data emoji --out "$RUN/emoji32" --size 32
[ -e "$RUN/emoji32-cache" ] || dalle data prepare --data "$RUN/emoji32" --size 32 --out "$RUN/emoji32-cache"

# 2. Two BPEs on the training split's captions (held-out emoji excluded): 6,144 tokens for the transformer, which
# keeps rare names whole ("a pizza": 2 tokens, 5 at 2,048), and 2,048 for the reranker. BPE is greedy, so the
# first 2,048 tokens of the larger one are the smaller one's.
[ -e "$RUN/tokenizer.json" ] || dalle tokenizer train --data "$RUN/emoji32-cache" --vocab-size 2048 --out "$RUN/tokenizer.json"
[ -e "$RUN/tokenizer-6144.json" ] || dalle tokenizer train --data "$RUN/emoji32-cache" --vocab-size 6144 --out "$RUN/tokenizer-6144.json"

# 3. The dVAE: 32 px → 8×8 codes of 512, with a squared-error likelihood, no KL term and τ annealed only to
# 0.5 (the logit-Laplace likelihood, β = 1 and τ → 1/16 kept no green code: see the model card).
dalle train-vae --data "$RUN/emoji32-cache" --config scripts/default-model/dvae.json --out "$RUN/vae" \
  --steps "${VAE_STEPS:-2500}" --batch 32 --lr 1e-3 --beta 0 --tau-end 0.5 --sample-every 500 --checkpoint-every 250 --seed 0 $(resume "$RUN/vae")
# Its decoder refit on the hard codes of the frozen encoder (what it decodes at sampling time), 3,000 updates
# at 5e-4: no code changes, so steps 4 and 5 use "$RUN/vae" and the export ships this decoder (held-out hard PSNR
# 19.55 → 19.91 dB; about 7 min alone on the Intel VMs).
dalle train-vae --init "$RUN/vae" --decoder-only --data "$RUN/emoji32-cache" --out "$RUN/vae-dec" \
  --steps "${VAE_DEC_STEPS:-3000}" --batch 32 --lr 5e-4 --warmup 100 --sample-every 500 --checkpoint-every 500 --seed 0 $(resume "$RUN/vae-dec")

# 4. The transformer: 24 caption tokens + 64 image tokens, 6 layers of width 256, 6,000 updates in one run (68 min
# alone on the eighteenth session's EPYC VM, about 58 on the ninth's). Balanced epochs: at most 4 images of an
# emoji, so a food or object (4 images) is not crowded out by a hand's 24 skin tones and styles. The plain image and 3 mirrored copies of each, encoded once (`--flip
# --variants 4`; images whose captions name a side, writing or a flag are never mirrored). Code noise: a share
# of the codes it reads replaced by other cells' codes, so that it learns to continue from a prefix with wrong
# cells, as its own draws have; it rises from 0 to 0.3 over the first 3,000 updates, since at full strength
# from the first update it slowed learning for thousands of updates. See the model card.
dalle train --vae "$RUN/vae" --tokenizer "$RUN/tokenizer-6144.json" --data "$RUN/emoji32-cache" --config scripts/default-model/dalle.json \
  --out "$RUN/dalle" --steps "${DALLE_STEPS:-6000}" --batch 32 --lr 1e-3 --warmup 100 --balance 4 --code-noise 0.3 --code-noise-ramp 3000 \
  --flip --variants 4 --eval-every 500 --sample-every 1000 --checkpoint-every 500 --seed 0 $(resume "$RUN/dalle")

# 5. The contrastive reranker: a 3-layer text transformer and a 4-stage conv net, on the 2,048-token BPE and the same
# data, half of the images replaced by their reconstructions by the refit decoder (the look of generated images),
# each step's images shifted by up to 2 pixels and mirrored where their captions allow; 4,800 updates (held-out
# caption → image R@1 53.4%; 1,600 unaugmented updates: 42.6%; about 55 min alone on the sixteenth session's EPYC).
dalle train-clip --tokenizer "$RUN/tokenizer.json" --data "$RUN/emoji32-cache" --vae "$RUN/vae-dec" --out "$RUN/clip" \
  --steps "${CLIP_STEPS:-4800}" --batch 128 --shift 2 --flip --eval-every 400 --checkpoint-every 400 --seed 0 $(resume "$RUN/clip")

# 6. Export: float16 weights (the dVAE with its refit decoder), config, tokenizer, the reranker under clip/, and the sampling settings generate
# and serve use by default (sampling.json; chosen by comparing sample grids, see the model card).
dalle export --model "$RUN/dalle" --vae "$RUN/vae-dec" --reranker "$RUN/clip" --out "$MODEL" --dtype f16 --temperature 0.85 --guidance 2 --rerank "${RERANK:-8}"

# 7. Metrics for the model card.
dalle eval-vae --model "$RUN/vae" --data "$RUN/emoji32-cache" --json "$RUN/eval-vae-before-refit.json"
dalle eval-vae --model "$MODEL" --data "$RUN/emoji32-cache" --json "$RUN/eval-vae.json"
dalle eval --model "$MODEL" --data "$RUN/emoji32-cache" --json "$RUN/eval-dalle.json"
dalle eval-clip --model "$MODEL/clip" --data "$RUN/emoji32-cache" --json "$RUN/eval-clip.json"

# 8. The model card's sample grids: with the model's sampling settings, without reranking, and plain sampling.
dalle generate --model "$MODEL" --prompts scripts/default-model/prompts.txt --n 8 --seed 1 --out "$RUN/samples"
cp "$RUN/samples/grid.png" "$MODEL/samples.png"
dalle generate --model "$MODEL" --prompts scripts/default-model/prompts.txt --n 8 --seed 1 --rerank 1 --out "$RUN/samples-unranked"
cp "$RUN/samples-unranked/grid.png" "$MODEL/samples-unranked.png"
dalle generate --model "$MODEL" --prompts scripts/default-model/prompts.txt --n 8 --seed 1 --temperature 1 --guidance 1 --rerank 1 --out "$RUN/samples-plain"
cp "$RUN/samples-plain/grid.png" "$MODEL/samples-plain.png"

# 9. The model card's colour count: 14 prompts that name a colour, 8 images each, judged by dominant hue,
# without and with reranking.
dalle generate --model "$MODEL" --prompts scripts/default-model/colour-prompts.txt --n 8 --seed 1 --rerank 1 --out "$RUN/colours-unranked"
node --import tsx scripts/default-model/judge-colours.ts "$RUN/colours-unranked" | tee "$RUN/colours-unranked.txt"
dalle generate --model "$MODEL" --prompts scripts/default-model/colour-prompts.txt --n 8 --seed 1 --out "$RUN/colours"
node --import tsx scripts/default-model/judge-colours.ts "$RUN/colours" | tee "$RUN/colours.txt"

# 10. The model card's subject count: 40 emoji's names, 8 images each without reranking, judged by whether
# the reranker ranks each image's own prompt first among the 40 (CLIP R-precision); seeds 1, 2 and 3. Then the
# same judge on the training emoji themselves, the score the samples are set against.
for seed in 1 2 3; do
  node --import tsx scripts/default-model/judge-subjects.ts "$MODEL" scripts/default-model/subject-prompts.txt "$seed"
done | tee "$RUN/subjects.txt"
node --import tsx scripts/default-model/judge-subjects.ts --real "$RUN/emoji32-cache" --judge "$MODEL/clip" | tee "$RUN/subjects-real.txt"
