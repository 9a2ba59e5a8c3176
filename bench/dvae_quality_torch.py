#!/usr/bin/env python3
"""PyTorch side of the dVAE quality comparison (issue #4): trains OpenAI's dVAE architecture
(tools/dvae_reference.py, the module tree of OpenAI's dall_e package) with the recipe of `dalle train-vae`
on a prepared dalle-ts image cache, then evaluates the EMA weights on the validation split as `dalle eval-vae`
does, and prints one JSON object with eval-vae's keys plus trainSeconds and steps.

The comparison, same flags on both sides (the cache from `dalle prepare`, e.g. the emoji set at 64 px):

    dalle train-vae --data CACHE --out runs/q-ts --config small --steps N --batch 32 --lr 1e-3 --beta 6.6 --seed 0 \
      && dalle eval-vae --model runs/q-ts --data CACHE --json runs/q-ts/eval.json
    nice /usr/bin/python3 bench/dvae_quality_torch.py --data CACHE --config small --steps N --batch 32 --lr 1e-3 \
      --beta 6.6 --seed 0 --threads 2 --json runs/q-torch.json [--save runs/q-torch-dvae]

Debian's PyTorch (/usr/bin/python3, torch 1.13); the pyenv python3 has no torch. --save DIR writes the EMA
weights as a dalle-ts dVAE folder (config.json, model.safetensors), so `dalle eval-vae --model DIR` can
score the PyTorch-trained model with dalle-ts's own evaluation as a cross-check of this script's.

What is mirrored (the TypeScript it copies in brackets):
  model [src/dvae/model.ts]: OpenAI's encoder/decoder at the config's sizes; residual gain 1/(groups·blocks)²;
    'same' convs; 2× max-pool / nearest upsampling between groups; weights N(0, 1/fan_in) but the
    decoder's input conv (the codebook) N(0, 1); biases zero.
  loss [src/dvae/loss.ts]: pixels x ↦ x' = 0.8x + 0.1; z = softmax((logits + Gumbel)/τ) over the K codes
    (straight-through: one-hot of the max forward, soft gradient back); logit-Laplace NLL
    ln b + ln 2 + ln(x'(1−x')) + |logit x' − μ|/b summed (or, for likelihood 'mse', the squared error of the
    clamped reconstruction), and KL(q ‖ uniform) = Σ q ln q + ln K summed over cells; both divided by
    B·C·H·W; loss = rec + β·kl. Codes in use: distinct argmax codes of the (noise-free) logits in the batch.
  schedules [src/dvae/train.ts, src/optim/schedule.ts], step s counted from 0:
    lr = peak·(s+1)/warmup while s < warmup, then cosine from peak to lrFinal 1.25e-5 over steps − warmup;
    τ = cosine from tauStart to tauEnd over tauSteps (default round(0.6·steps)), then held;
    β = betaFinal·(1 − cosine from 1 to 0 over betaSteps (default round(0.2·steps))).
  optimiser [src/optim/adamw.ts, trainer.ts]: AdamW β (0.9, 0.999), ε 1e-8, decoupled weight decay 1e-4 on
    the 4-D conv weights only (torch.optim.AdamW's arithmetic, which adamw.ts copies); no gradient clipping;
    EMA [src/optim/ema.ts] ema ← d·ema + (1−d)·w after update t (0-based), d = min(0.999, (1+t)/(10+t)),
    started from the initial weights; evaluation uses the EMA weights (what saveTrainer writes).
  data [src/data/cache.ts, split.ts, batches.ts]: the cache's own 'split' field per item (the SHA-1 group
    split was fixed when the cache was prepared); float pixels = uint8/255, NCHW; steps per epoch =
    ⌊train/B⌋; epoch e's order = the train positions shuffled by Fisher–Yates with Rng.stream(seed, 1, e);
    step s takes batch s mod steps-per-epoch of epoch ⌊s/steps-per-epoch⌋; the short last batch is dropped;
    no augmentation (train-vae passes none).
  evaluation [src/dvae/eval.ts]: the split's images in cache order, batches of 32; hard = decode(one-hot of
    argmax logits), soft = decode(softmax((logits + Gumbel)/τ)) with τ = 1/16 (fixed, whatever --tau-end
    was); reconstruction = clamp((σ(μ) − 0.1)/0.8, 0, 1); PSNR per image = 10·log10(1 / max(MSE, 1e-10))
    over its C·H·W values in [0, 1], averaged over images; perplexity = exp(entropy of the histogram of all
    argmax codes of the split), codesUsed = distinct codes, codesUsedShare = codesUsed / K.

Where the two runs cannot be identical:
  - The Gumbel noise (training and the soft-PSNR evaluation) comes from torch's generator seeded with --seed
    (resp. 0), not from dalle-ts's xoshiro128** stream: a per-element pure-Python port would cost tens of
    seconds per step. Hard PSNR, perplexity and codes used do not depend on evaluation noise.
  - The data order and, with --init same (the default), the initial weights ARE drawn from a Python port of
    dalle-ts's Rng (src/tensor/random.ts: Rng(seed + 1) in initDvae's order for the weights,
    Rng.stream(seed, 1, epoch) for the shuffles), so both runs start from the same weights and see the same
    batches; --init torch draws the weights from torch.randn instead (same scale).
  - Float arithmetic differs (ONNX Runtime vs PyTorch kernels; adamw.ts computes its bias corrections in
    float32), so even the same noise would not give bit-identical runs.
  - trainSeconds here is the training loop only (data, noise, steps); `dalle train-vae`'s "trained … in"
    also counts loading, sample grids and checkpoints.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools'))
from dvae_reference import Decoder, Encoder  # noqa: E402
from safetensors_io import save as save_safetensors  # noqa: E402

EPS = 0.1  # LOGIT_LAPLACE_EPS
LN2 = math.log(2)

# src/dvae/config.ts, with the schema's defaults (kind, channels 3, inputKernel 7, logit-laplace) filled in.
PRESETS = {
    'openai': dict(imageSize=256, groups=4, blocksPerGroup=2, hidden=256, decoderInit=128, vocab=8192),
    'small': dict(imageSize=64, groups=3, blocksPerGroup=1, hidden=64, decoderInit=64, vocab=512),
    'small8': dict(imageSize=64, groups=4, blocksPerGroup=1, hidden=32, decoderInit=64, vocab=1024),
    'tiny': dict(imageSize=16, groups=3, blocksPerGroup=1, hidden=8, decoderInit=8, vocab=32, inputKernel=3),
}
CONFIG_KEYS = ['kind', 'imageSize', 'channels', 'groups', 'blocksPerGroup', 'hidden', 'decoderInit', 'vocab', 'inputKernel', 'likelihood']


def fail(message):
    print(f'error: {message}', file=sys.stderr)
    sys.exit(1)


def resolve_config(value):
    if value in PRESETS:
        raw = dict(PRESETS[value])
    elif value.endswith('.json'):
        with open(value) as f:
            raw = json.load(f)
    else:
        fail(f'--config {value}: not a preset ({", ".join(PRESETS)}) nor a .json file')
    c = {'kind': 'dvae', 'channels': 3, 'inputKernel': 7, 'likelihood': 'logit-laplace', **raw}
    unknown = set(c) - set(CONFIG_KEYS)
    if unknown:
        fail(f'--config {value}: unknown fields {sorted(unknown)}')
    if c['channels'] != 3:
        fail('tools/dvae_reference.py is built for 3 channels')
    if c['hidden'] % 4 or c['inputKernel'] % 2 == 0 or c['likelihood'] not in ('logit-laplace', 'mse'):
        fail(f'--config {value}: hidden must be a multiple of 4, inputKernel odd, likelihood logit-laplace or mse')
    if c['imageSize'] % 2 ** (c['groups'] - 1):
        fail(f'--config {value}: imageSize {c["imageSize"]} is not divisible by 2^(groups−1)')
    return {k: c[k] for k in CONFIG_KEYS}


def js_round(x):
    """Math.round for the non-negative values used here (halves round up, unlike Python's round)."""
    return math.floor(x + 0.5)


# ---------------------------------------------------------------------------------------------------------
# dalle-ts's Rng (src/tensor/random.ts): xoshiro128** seeded through splitmix32, same numbers bit for bit.
M32 = 0xFFFFFFFF


def _splitmix32(x):
    z = (x + 0x9E3779B9) & M32
    z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M32
    z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M32
    return z ^ (z >> 16)


class Rng:
    def __init__(self, seed=0, state=None):
        if state is not None:
            self.s = [v & M32 for v in state]
            return
        x = (int(seed) & M32) ^ 0x9E3779B9
        self.s = []
        for _ in range(4):
            self.s.append(_splitmix32(x))
            x = (x + 0x9E3779B9) & M32

    @staticmethod
    def stream(seed, *ids):
        h = _splitmix32((int(seed) & M32) ^ 0x9E3779B9)
        for i in ids:
            h = _splitmix32(h ^ (((int(i) & M32) * 0x27D4EB2F) & M32))
        return Rng(state=[h | 1, _splitmix32(h), _splitmix32(h ^ 0x85EBCA6B), _splitmix32(h ^ 0xC2B2AE35)])

    def next_uint32(self):
        s0, s1, s2, s3 = self.s
        r = (s1 * 5) & M32
        r = ((((r << 7) | (r >> 25)) & M32) * 9) & M32
        t = (s1 << 9) & M32
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = ((s3 << 11) | (s3 >> 21)) & M32
        self.s = [s0, s1, s2, s3]
        return r

    def next(self):
        hi = self.next_uint32() >> 5
        lo = self.next_uint32() >> 6
        return (hi * 67108864 + lo) / 9007199254740992

    def shuffle(self, items):
        for i in range(len(items) - 1, 0, -1):
            j = math.floor(self.next() * (i + 1))
            items[i], items[j] = items[j], items[i]
        return items

    def randn(self, count, std):
        """count draws of std·normal() (Box–Muller as Rng.normal), rounded to float32 like Rng.randn."""
        s0, s1, s2, s3 = self.s
        out = [0.0] * count
        log, sqrt, cos, two_pi = math.log, math.sqrt, math.cos, 2 * math.pi
        for k in range(count):
            u = [0, 0, 0, 0]
            # next_uint32's xoshiro step, inlined: the initial weights need ~10^5–10^6 draws, and a method
            # call per draw makes pure Python several times slower.
            for q in range(4):  # two next() calls, two uint32 each
                r = (s1 * 5) & M32
                u[q] = ((((r << 7) | (r >> 25)) & M32) * 9) & M32
                t = (s1 << 9) & M32
                s2 ^= s0
                s3 ^= s1
                s1 ^= s2
                s0 ^= s3
                s2 ^= t
                s3 = ((s3 << 11) | (s3 >> 21)) & M32
            a = ((u[0] >> 5) * 67108864 + (u[1] >> 6)) / 9007199254740992
            b = ((u[2] >> 5) * 67108864 + (u[3] >> 6)) / 9007199254740992
            out[k] = std * (sqrt(-2 * log(1 - a)) * cos(two_pi * b))
        self.s = [s0, s1, s2, s3]
        return np.array(out, dtype=np.float64).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------
# The prepared cache (src/data/cache.ts): index.json + pixels.u8 (N×H×W×3 uint8, index order).
class Cache:
    def __init__(self, path):
        index_path, pixels_path = os.path.join(path, 'index.json'), os.path.join(path, 'pixels.u8')
        if not os.path.exists(index_path):
            fail(f'{path}: not a prepared cache (no index.json); prepare it with `dalle prepare`')
        with open(index_path) as f:
            self.index = json.load(f)
        if self.index.get('format') != 'dalle-ts-image-cache' or self.index.get('version') != 1:
            fail(f'{index_path}: not a dalle-ts-image-cache version 1 index')
        n, h, w = self.index['count'], self.index['height'], self.index['width']
        if len(self.index['items']) != n:
            fail(f'{index_path}: lists {len(self.index["items"])} items but says count {n}')
        pixels = np.fromfile(pixels_path, dtype=np.uint8)
        if pixels.size != n * h * w * 3:
            fail(f'{pixels_path}: {pixels.size} bytes, expected {n * h * w * 3}')
        self.pixels = pixels.reshape(n, h, w, 3)
        self.width, self.height = w, h

    def indices(self, split):
        return [i for i, item in enumerate(self.index['items']) if item['split'] == split]

    def batch(self, indices):
        """NCHW float32 in [0, 1], u/255 rounded once from double as toNchwFloat does."""
        x = self.pixels[np.asarray(indices, dtype=np.int64)].astype(np.float64) / 255
        return torch.from_numpy(np.ascontiguousarray(x.astype(np.float32).transpose(0, 3, 1, 2)))


# ---------------------------------------------------------------------------------------------------------
# Model, initialisation, loss.
def build(c):
    enc = Encoder(c['hidden'], c['blocksPerGroup'], c['vocab'], group_count=c['groups'], kin=c['inputKernel'])
    dec = Decoder(c['decoderInit'], c['hidden'], c['blocksPerGroup'], c['vocab'], group_count=c['groups'])
    return enc, dec


def conv_order(c):
    """Conv names in initDvae's draw order: per block conv_1…conv_4 then id_path; encoder then decoder."""
    names = []
    for coder in ('encoder', 'decoder'):
        names.append(f'{coder}.blocks.input')
        for g in range(c['groups']):
            for i in range(c['blocksPerGroup']):
                block = f'{coder}.blocks.group_{g + 1}.block_{i + 1}'
                names += [f'{block}.res_path.conv_{k}' for k in range(1, 5)] + [f'{block}.id_path']
        names.append(f'{coder}.blocks.output.conv')
    return names


def named_params(enc, dec):
    return {**{f'encoder.{k}': v for k, v in enc.named_parameters()}, **{f'decoder.{k}': v for k, v in dec.named_parameters()}}


@torch.no_grad()
def init_weights(enc, dec, c, seed, scheme):
    """initDvae: w ~ N(0, 1/fan_in) (initConv2d 'paper'; the decoder's input conv, the codebook, N(0, 1)), b = 0, drawn from Rng(seed + 1) in dalle-ts's order."""
    params = named_params(enc, dec)
    rng = Rng(seed + 1) if scheme == 'same' else None
    gen = torch.Generator().manual_seed(seed + 1)
    seen = set()
    for name in conv_order(c):
        if f'{name}.w' not in params:
            continue  # no id_path where the widths agree, as in initBlock
        w, b = params[f'{name}.w'], params[f'{name}.b']
        std = 1 / math.sqrt(w.shape[1] * w.shape[2] * w.shape[3])
        if rng is not None:
            w.copy_(torch.from_numpy(rng.randn(w.numel(), std).reshape(w.shape)))
        else:
            w.copy_(torch.randn(w.shape, generator=gen) * std)
        if name == 'decoder.blocks.input':
            w.mul_(math.sqrt(w.shape[1]))  # the codebook: N(0, 1), the same draws scaled (model.ts `codebook`)
        b.zero_()
        seen.update((f'{name}.w', f'{name}.b'))
    missing = set(params) - seen
    if missing:
        raise RuntimeError(f'parameters not initialised: {sorted(missing)}')


def map_pixels(x):
    return x * (1 - 2 * EPS) + EPS


def reconstruct(out, c):
    return ((torch.sigmoid(out[:, :c['channels']]) - EPS) / (1 - 2 * EPS)).clamp(0, 1)


def gumbel(shape, gen):
    """Standard Gumbel noise with Rng.gumbel's formula, −log(−log(1e-12 + u(1 − 2e-12))), u uniform (float64)."""
    u = torch.rand(shape, generator=gen, dtype=torch.float64)
    return (-torch.log(-torch.log(1e-12 + u * (1 - 2e-12)))).float()


def dvae_loss(enc, dec, images, noise, tau, beta, c, straight_through):
    x = map_pixels(images)
    logits = enc(x)
    soft = torch.softmax((logits + noise) / tau, 1)
    z = soft
    if straight_through:
        hard = (soft == soft.max(1, keepdim=True).values).float()
        z = (hard - soft).detach() + soft
    out = dec(z)
    n = images.numel()
    if c['likelihood'] == 'mse':
        rec_sum = ((reconstruct(out, c) - images) ** 2).sum()
    else:
        ch = c['channels']
        mu, lnb = out[:, :ch], out[:, ch:2 * ch]
        logit_x = torch.log(x) - torch.log(1 - x)
        rec_sum = (lnb + LN2 + torch.log(x * (1 - x)) + (logit_x - mu).abs() * torch.exp(-lnb)).sum()
    rec = rec_sum / n
    logq = F.log_softmax(logits, 1)
    kl = ((logq.exp() * logq).sum(1) + math.log(logits.shape[1])).sum() / n
    loss = rec + beta * kl
    codes_used = int(torch.unique(logits.detach().argmax(1)).numel())
    return loss, rec.detach(), kl.detach(), codes_used


# ---------------------------------------------------------------------------------------------------------
# Schedules (src/optim/schedule.ts, hyperAt in src/dvae/train.ts).
def cosine_anneal(step, start, end, steps):
    if steps <= 0 or step >= steps:
        return end
    return end + (start - end) * 0.5 * (1 + math.cos(math.pi * max(step, 0) / steps))


def warmup_cosine(step, peak, warmup, total, final):
    if step < warmup:
        return peak * (step + 1) / warmup
    return cosine_anneal(step - warmup, peak, final, total - warmup)


def hyper_at(step, o):
    tau_steps = o.tau_steps or max(1, js_round(o.steps * 0.6))
    beta_steps = o.beta_steps or max(1, js_round(o.steps * 0.2))
    return (warmup_cosine(step, o.lr, o.warmup, o.steps, o.lr_final),
            cosine_anneal(step, o.tau_start, o.tau_end, tau_steps),
            o.beta * (1 - cosine_anneal(step, 1, 0, beta_steps)))


# ---------------------------------------------------------------------------------------------------------
@torch.no_grad()
def evaluate(enc, dec, cache, c, split, batch_size=32, tau=1 / 16, seed=0):
    indices = cache.indices(split)
    if not indices:
        fail(f'the {split} split of the cache is empty')
    gen = torch.Generator().manual_seed(seed)
    g = c['imageSize'] // 2 ** (c['groups'] - 1)
    counts = np.zeros(c['vocab'], dtype=np.int64)
    psnr_hard, psnr_soft = [], []

    def psnr(a, b):
        mse = ((a.double() - b.double()) ** 2).flatten(1).mean(1).clamp_min(1e-10)
        return (10 * torch.log10(1 / mse)).tolist()

    for start in range(0, len(indices), batch_size):
        x = cache.batch(indices[start:start + batch_size])
        logits = enc(map_pixels(x))
        codes = logits.argmax(1)
        soft = reconstruct(dec(torch.softmax((logits + gumbel((x.shape[0], c['vocab'], g, g), gen)) / tau, 1)), c)
        hard = reconstruct(dec(F.one_hot(codes, c['vocab']).permute(0, 3, 1, 2).float()), c)
        psnr_hard += psnr(hard, x)
        psnr_soft += psnr(soft, x)
        counts += np.bincount(codes.flatten().numpy(), minlength=c['vocab'])
    p = counts[counts > 0] / counts.sum()
    used = int((counts > 0).sum())
    return {
        'split': split, 'images': len(indices),
        'psnrHard': float(np.mean(psnr_hard)), 'psnrSoft': float(np.mean(psnr_soft)),
        'perplexity': float(np.exp(-(p * np.log(p)).sum())),
        'codesUsed': used, 'codesUsedShare': used / c['vocab'], 'vocab': c['vocab'],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', required=True, help='prepared dalle-ts cache folder (index.json + pixels.u8)')
    ap.add_argument('--config', default='small', help=f'preset ({", ".join(PRESETS)}) or a JSON config')
    ap.add_argument('--steps', type=int, default=5000)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--lr-final', type=float, default=1.25e-5)
    ap.add_argument('--warmup', type=int, default=100)
    ap.add_argument('--weight-decay', type=float, default=1e-4)
    ap.add_argument('--beta', type=float, default=6.6)
    ap.add_argument('--beta-steps', type=int, default=None, help='default: 20%% of --steps')
    ap.add_argument('--tau-start', type=float, default=1.0)
    ap.add_argument('--tau-end', type=float, default=1 / 16)
    ap.add_argument('--tau-steps', type=int, default=None, help='default: 60%% of --steps')
    ap.add_argument('--ema', type=float, default=0.999)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--straight-through', action='store_true')
    ap.add_argument('--init', choices=['same', 'torch'], default='same',
                    help="'same': dalle-ts's initial weights via its Rng; 'torch': torch.randn, same scale")
    ap.add_argument('--split', choices=['val', 'train'], default='val')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--json', help='also write the result to this file')
    ap.add_argument('--save', help='write the EMA weights as a dalle-ts dVAE folder here')
    o = ap.parse_args()
    for flag, v in (('--steps', o.steps), ('--batch', o.batch), ('--threads', o.threads)):
        if v < 1:
            fail(f'{flag} must be at least 1')
    torch.set_num_threads(o.threads)

    c = resolve_config(o.config)
    cache = Cache(o.data)
    if cache.width != c['imageSize'] or cache.height != c['imageSize']:
        fail(f'{o.data}: the cache holds {cache.width}×{cache.height} images, the model wants {c["imageSize"]}×{c["imageSize"]}')
    train_idx = cache.indices('train')
    if len(train_idx) < o.batch:
        fail(f'{o.data}: {len(train_idx)} training images, fewer than one batch of {o.batch}')

    enc, dec = build(c)
    t_init = time.perf_counter()
    init_weights(enc, dec, c, o.seed, o.init)
    params = named_params(enc, dec)
    print(f'init ({o.init}) {sum(p.numel() for p in params.values()):,} parameters in {time.perf_counter() - t_init:.1f} s; '
          f'{len(train_idx)} train / {len(cache.indices("val"))} val images', file=sys.stderr)
    decay = [p for p in params.values() if p.dim() == 4]
    no_decay = [p for p in params.values() if p.dim() != 4]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': o.weight_decay}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=o.lr, betas=(0.9, 0.999), eps=1e-8)
    ema = {k: p.detach().clone() for k, p in params.items()}

    g = c['imageSize'] // 2 ** (c['groups'] - 1)
    gen = torch.Generator().manual_seed(o.seed)
    steps_per_epoch = len(train_idx) // o.batch
    order_epoch, order = None, None
    window_time, window_steps = 0.0, 0
    t_train = time.perf_counter()
    for step in range(o.steps):
        epoch, offset = divmod(step, steps_per_epoch)
        if epoch != order_epoch:
            order_epoch, order = epoch, Rng.stream(o.seed, 1, epoch).shuffle(list(train_idx))
        images = cache.batch(order[offset * o.batch:(offset + 1) * o.batch])
        lr, tau, beta = hyper_at(step, o)
        noise = gumbel((o.batch, c['vocab'], g, g), gen)
        t0 = time.perf_counter()
        loss, rec, kl, used = dvae_loss(enc, dec, images, noise, tau, beta, c, o.straight_through)
        if not math.isfinite(loss.item()):
            fail(f'the loss became {loss.item()} at step {step + 1}; lower --lr')
        for group in opt.param_groups:
            group['lr'] = lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            d = min(o.ema, (1 + step) / (10 + step))
            for k, p in params.items():
                ema[k].mul_(d).add_(p.detach(), alpha=1 - d)
        window_time += time.perf_counter() - t0
        window_steps += 1
        done = step + 1
        if done % 50 == 0 or done == o.steps:
            print(f'step {done}/{o.steps} loss {loss.item():.4f} rec {rec.item():.4f} kl {kl.item():.4f} tau {tau:.3f} '
                  f'beta {beta:.2f} lr {lr:.2e} codes {used}/{c["vocab"]} img/s {o.batch * window_steps / window_time:.1f}',
                  file=sys.stderr, flush=True)
            window_time, window_steps = 0.0, 0
    train_seconds = time.perf_counter() - t_train

    with torch.no_grad():
        for k, p in params.items():
            p.copy_(ema[k])
    enc.eval()
    dec.eval()
    result = evaluate(enc, dec, cache, c, o.split)
    result.update(trainSeconds=round(train_seconds, 1), steps=o.steps)
    if o.save:
        os.makedirs(o.save, exist_ok=True)
        save_safetensors(os.path.join(o.save, 'model.safetensors'), {k: v.detach().float() for k, v in params.items()},
                         {'source': 'bench/dvae_quality_torch.py (EMA weights)', 'format': 'pt'})
        with open(os.path.join(o.save, 'config.json'), 'w') as f:
            json.dump(c, f, indent=2)
            f.write('\n')
    text = json.dumps(result, indent=2)
    if o.json:
        with open(o.json, 'w') as f:
            f.write(text + '\n')
    print(text)


if __name__ == '__main__':
    main()
