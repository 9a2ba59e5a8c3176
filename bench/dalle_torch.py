"""PyTorch side of the DALL·E transformer training-speed comparison (issue #6). bench/dalle.ts runs it in the
same session (`npm run bench dalle`) and prints the ratio; run alone it measures the `small` preset:
    /usr/bin/python3 bench/dalle_torch.py [threads] ['{json overrides}']

What it measures: training tokens/s (batch × sequence length / median step time over `steps` steps after
`warmup` warm-up steps) of the same model as src/dalle/model.ts, written plainly as nn.Modules:
  - input [caption (textLength) | start-of-image | image codes 0 … grid²−2]; caption positions past the
    caption hold their own padding token (text table = textVocab + textLength rows); text embedding + text
    position embedding; image embedding (codebook + start-of-image row) + row and column embeddings of the
    cell each position predicts;
  - pre-LN blocks (x + attn(ln1 x), x + mlp(ln2 x)), GELU MLP of width mlpRatio·dim, attention by matmul +
    masked_fill + one softmax over text and image keys, under each layer's boolean mask built by the rule of
    src/dalle/masks.ts (the paper's schedule: row, column when (i − 2) mod 4 = 0, convolutional last); row
    and column layers computed as src/dalle/masks.ts's grouped attention does (each row's or column's image
    queries against the caption keys and their own key blocks only), or densely with `"attention": "dense"`;
  - logits restricted by slicing the head (text positions → the text table's rows, image positions → the
    codebook's rows), cross-entropy normalised separately over text and image tokens, weighted 1/8 : 7/8;
  - AdamW (β 0.9/0.96, ε 1e-8, weight decay 4.5e-2 on the tensors that src/optim/adamw.ts's defaultDecays
    picks, by the same names), gradient clipping at global norm 4, and the host-side weight EMA (0.999) that
    `dalle train` keeps; dropout 0.
The JSON argument (bench/dalle.ts passes the whole config and run settings) overrides any of SMALL and RUN
below, and `masks` (one kind per layer). Prints one JSON line: tokens/s, the parameter count, every
parameter's name, shape and whether it decays, a checksum of each layer's mask, and the first
step's loss, so that bench/dalle.ts can check that both sides built the same model.
"""
import functools
import json
import math
import re
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)

# The `small` preset of src/dalle/config.ts and the defaults of `dalle train` (src/dalle/train.ts, src/cli/dalle.ts).
SMALL = dict(textLength=32, textVocab=4096, imageVocab=512, grid=16, dim=256, layers=8, heads=8, mlpRatio=4,
             convKernel=11, textLossWeight=1 / 8, imageLossWeight=7 / 8)
RUN = dict(batch=32, warmup=3, steps=8, lr=1e-3, beta1=0.9, beta2=0.96, eps=1e-8, weightDecay=4.5e-2, clipNorm=4.0,
           emaDecay=0.999, attention='grouped')
C = {**SMALL, **RUN, **(json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})}
T_LEN, G, D, H = C['textLength'], C['grid'], C['dim'], C['heads']
TEXT_TABLE = C['textVocab'] + T_LEN
N_IMAGE = G * G
SEQ = T_LEN + N_IMAGE


def paper_masks(layers):
    return ['conv' if i == layers - 1 else 'column' if (i - 2) % 4 == 0 else 'row' for i in range(layers)]


def mask_matrix(kind, n):
    """[n, n] bool, True = may attend: src/dalle/masks.ts's `allowed` for every (query, key)."""
    q = torch.arange(n).view(-1, 1)
    k = torch.arange(n).view(1, -1)
    cell, key_cell = q - T_LEN, k - T_LEN - 1  # the cell a query predicts; the cell whose token a key holds
    qr, qc = torch.div(cell, G, rounding_mode='floor'), cell % G
    kr, kc = torch.div(key_cell, G, rounding_mode='floor'), key_cell % G
    r = (C['convKernel'] - 1) // 2
    image = {'full': torch.ones(n, n, dtype=torch.bool), 'row': kr == qr, 'column': kc == qc,
             'conv': ((kr - qr).abs() <= r) & ((kc - qc).abs() <= r)}[kind]
    always = (k < T_LEN) | (k == T_LEN) | (k == q) | (q < T_LEN)
    return (k <= q) & (always | image)


def group_layout(kind):
    """src/dalle/masks.ts's groupLayout: group g's i-th query position and its key slots (None: padding)."""
    shared = list(range(T_LEN + 1))
    at = lambda p: p if p < SEQ else None  # noqa: E731
    if kind == 'row':
        return (lambda r, i: T_LEN + r * G + i), (lambda r: shared + [at(T_LEN + r * G + j) for j in range(G)])
    return ((lambda c, i: T_LEN + i * G + c),
            (lambda c: shared + [at(T_LEN + j * G + c) for j in range(G)] + [at(T_LEN + 1 + j * G + c) for j in range(G)]))


def group_bias(kind, mask):
    """[groups, members, slots] additive bias: 0 where the dense mask allows the key, at its first slot only."""
    query, keys = group_layout(kind)
    slots = len(keys(0))
    bias = torch.full((G, G, slots), float('-inf'))
    for g in range(G):
        ks = keys(g)
        for i in range(G):
            for j, k in enumerate(ks):
                if k is not None and ks.index(k) == j and mask[query(g, i), k]:
                    bias[g, i, j] = 0
    return bias


def grouped_attention(kind, bias, text_mask, q, k, v):
    """src/dalle/masks.ts's groupedAttention: q (scaled), k, v [B, H, SEQ, d] → [B, H, SEQ, d]; `text_mask` is
    the layer mask's caption block, [T_LEN, T_LEN]."""
    b, h, _, d = q.shape
    n = N_IMAGE

    def image(x, start):
        part = x[:, :, start:start + n]
        if part.shape[2] < n:
            part = F.pad(part, (0, 0, 0, n - part.shape[2]))
        rows = part.reshape(b, h, G, G, d)
        return rows if kind == 'row' else rows.transpose(2, 3)

    qi = image(q, T_LEN)
    blocks = [(image(k, T_LEN), image(v, T_LEN))] + ([(image(k, T_LEN + 1), image(v, T_LEN + 1))] if kind == 'column' else [])
    ks, vs = k[:, :, :T_LEN + 1], v[:, :, :T_LEN + 1]
    shared = (qi.reshape(b, h, n, d) @ ks.transpose(-2, -1)).reshape(b, h, G, G, T_LEN + 1)
    scores = torch.cat([shared] + [qi @ kb.transpose(-2, -1) for kb, _ in blocks], -1) + bias
    parts = scores.softmax(-1).split([T_LEN + 1] + [G] * len(blocks), -1)
    out = (parts[0].reshape(b, h, n, T_LEN + 1) @ vs).reshape(b, h, G, G, d)
    for w, (_, vb) in zip(parts[1:], blocks):
        out = out + w @ vb
    image_out = (out if kind == 'row' else out.transpose(2, 3)).reshape(b, h, n, d)
    qt, kt, vt = q[:, :, :T_LEN], k[:, :, :T_LEN], v[:, :, :T_LEN]
    text_out = (qt @ kt.transpose(-2, -1)).masked_fill(~text_mask, float('-inf')).softmax(-1) @ vt
    return torch.cat([text_out, image_out], 2)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)

    def forward(self, x, mask):
        """`mask`: the dense [SEQ, SEQ] bool mask, or a function (q, k, v) → attended values."""
        b, n, _ = x.shape
        q, k, v = self.qkv(x).split(D, dim=2)
        q, k, v = (z.view(b, n, H, D // H).transpose(1, 2) for z in (q, k, v))
        q = q / math.sqrt(D // H)
        if callable(mask):
            y = mask(q, k, v)
        else:
            y = (q @ k.transpose(-2, -1)).masked_fill(~mask, float('-inf')).softmax(-1) @ v
        return self.proj(y.transpose(1, 2).reshape(b, n, D))


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.proj = nn.Linear(D, C['mlpRatio'] * D), nn.Linear(C['mlpRatio'] * D, D)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x)))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.attn, self.ln2, self.mlp = nn.LayerNorm(D), Attention(), nn.LayerNorm(D), Mlp()

    def forward(self, x, mask):
        x = x + self.attn(self.ln1(x), mask)
        return x + self.mlp(self.ln2(x))


class Dalle(nn.Module):
    """Parameter names follow src/dalle/model.ts's DalleParams (text_emb.weight, blocks.0.attn.qkv.weight, …)."""

    def __init__(self, masks):
        super().__init__()
        self.text_emb, self.text_pos_emb = nn.Embedding(TEXT_TABLE, D), nn.Embedding(T_LEN, D)
        self.image_emb = nn.Embedding(C['imageVocab'] + 1, D)  # the codebook, then start-of-image
        self.image_row_emb, self.image_col_emb = nn.Embedding(G, D), nn.Embedding(G, D)
        self.blocks = nn.ModuleList(Block() for _ in range(C['layers']))
        self.ln_f = nn.LayerNorm(D)
        self.head = nn.Linear(D, TEXT_TABLE + C['imageVocab'], bias=False)
        self.masks = [mask_matrix(kind, SEQ) for kind in masks]
        self.patterns = [
            functools.partial(grouped_attention, kind, group_bias(kind, m), m[:T_LEN, :T_LEN])
            if C['attention'] == 'grouped' and kind in ('row', 'column') else m
            for kind, m in zip(masks, self.masks)]
        # GPT-2's initialisation, as src/nn/transformer.ts's initBlocks and model.ts's initDalle.
        for name, p in self.named_parameters():
            if p.ndim == 1:
                nn.init.ones_(p) if name.split('.')[-2].startswith('ln') and name.endswith('weight') else nn.init.zeros_(p)
            else:
                residual = re.search(r'\.(attn|mlp)\.proj\.weight$', name)
                nn.init.normal_(p, 0, 0.02 / math.sqrt(2 * C['layers']) if residual else 0.02)

    def forward(self, text, codes):
        b = text.shape[0]
        image = torch.cat([torch.full((b, 1), C['imageVocab'], dtype=torch.long), codes[:, :-1]], 1)
        cells = torch.arange(N_IMAGE)
        x = torch.cat([
            self.text_emb(text) + self.text_pos_emb(torch.arange(T_LEN)),
            self.image_emb(image) + self.image_row_emb(cells // G) + self.image_col_emb(cells % G),
        ], 1)
        for block, pattern in zip(self.blocks, self.patterns):
            x = block(x, pattern)
        h = self.ln_f(x)
        text_logits = F.linear(h[:, :T_LEN - 1], self.head.weight[:TEXT_TABLE])
        image_logits = F.linear(h[:, T_LEN:], self.head.weight[TEXT_TABLE:])
        text_loss = F.cross_entropy(text_logits.reshape(-1, TEXT_TABLE), text[:, 1:].reshape(-1))
        image_loss = F.cross_entropy(image_logits.reshape(-1, C['imageVocab']), codes.reshape(-1))
        return C['textLossWeight'] * text_loss + C['imageLossWeight'] * image_loss


# src/optim/adamw.ts's defaultDecays: tensors of rank ≥ 2 except embeddings (a name part starting embed/emb/wte/…).
NO_DECAY = re.compile(r'(^|[._])(embed|emb|embedding|wte|wpe)[^.]*\.', re.I)
decays = lambda name, p: p.ndim >= 2 and not NO_DECAY.search(name)  # noqa: E731

torch.manual_seed(0)
model = Dalle(C['masks'] if isinstance(C.get('masks'), list) else paper_masks(C['layers']))
named = list(model.named_parameters())
params = [p for _, p in named]
opt = torch.optim.AdamW([
    {'params': [p for n, p in named if decays(n, p)], 'weight_decay': C['weightDecay']},
    {'params': [p for n, p in named if not decays(n, p)], 'weight_decay': 0.0},
], lr=C['lr'], betas=(C['beta1'], C['beta2']), eps=C['eps'])
ema = [p.detach().clone() for p in params]

# Random captions (a random length of BPE ids, then per-position padding) and image codes.
B = C['batch']
lengths = torch.randint(1, T_LEN + 1, (B, 1))
positions = torch.arange(T_LEN).view(1, -1)
text = torch.where(positions < lengths, torch.randint(0, C['textVocab'], (B, T_LEN)), C['textVocab'] + positions)
codes = torch.randint(0, C['imageVocab'], (B, N_IMAGE))


def train_step(step):
    loss = model(text, codes)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, C['clipNorm'])
    opt.step()
    d = min(C['emaDecay'], (1 + step) / (10 + step))
    with torch.no_grad():
        for e, p in zip(ema, params):
            e.mul_(d).add_(p, alpha=1 - d)
    return loss.item()


loss0 = None
times = []
for i in range(C['warmup'] + C['steps']):
    t0 = time.perf_counter()
    loss = train_step(i)
    if i >= C['warmup']:
        times.append(time.perf_counter() - t0)
    loss0 = loss if loss0 is None else loss0
times.sort()
print(json.dumps({
    'tok_s': B * SEQ / times[len(times) // 2],
    'params': sum(p.numel() for p in params),
    'names': {n: [list(p.shape), bool(decays(n, p))] for n, p in named},
    # per layer: how many (query, key) pairs may attend, and the sum of their flat indices query·n + key
    'mask_allowed': [[int(m.sum()), int(m.flatten().nonzero().sum())] for m in model.masks],
    'loss0': loss0,
    'torch': torch.__version__,
    'threads': torch.get_num_threads(),
}))
