"""PyTorch side of the contrastive reranker's speed comparison (bench/clip.ts runs it in the same session):
the model of src/clip/model.ts at a dalle-ts config's sizes (argv[2], dalle-ts's field names) — a pre-norm
transformer over the caption's real tokens with mean pooling, a conv net of strided stages with residual
3×3 convs and GELU, layer norms, projections, unit-length embeddings, a learned logit scale — trained with
the symmetric cross-entropy and AdamW (β 0.9/0.98, weight decay 0.1, clipping at norm 1) at batch argv[3].
Usage: clip_torch.py THREADS CONFIG_JSON BATCH. Prints one JSON line: {"img_s": ...}.
"""
import json
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch_support import median_rate

torch.set_num_threads(int(sys.argv[1]))
C = json.loads(sys.argv[2])
B = int(sys.argv[3])
T, V, D, H = C['textLength'], C['textVocab'], C['textDim'], C['textHeads']


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
        self.fc, self.out = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)

    def forward(self, x, bias):
        b, t, _ = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, H, D // H).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D // H) + bias, -1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, D))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class Clip(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok, self.pos = nn.Embedding(V, D), nn.Parameter(torch.zeros(T, D))
        self.blocks = nn.ModuleList(Block() for _ in range(C['textLayers']))
        self.ln_t, self.proj_t = nn.LayerNorm(D), nn.Linear(D, C['embedDim'], bias=False)
        w = C['imageChannels']
        self.stem = nn.Conv2d(3, w[0], 3, padding=1)
        self.down = nn.ModuleList(nn.Conv2d(w[i - 1], w[i], 3, stride=2, padding=1) for i in range(1, len(w)))
        self.conv = nn.ModuleList(nn.Conv2d(w[i], w[i], 3, padding=1) for i in range(1, len(w)))
        self.ln_i, self.proj_i = nn.LayerNorm(w[-1]), nn.Linear(w[-1], C['embedDim'], bias=False)
        self.scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def text(self, ids):
        real = ids < V
        x = self.tok(torch.where(real, ids, 0)) + self.pos
        bias = torch.where(real, 0.0, -1e9)[:, None, None, :]
        for blk in self.blocks:
            x = blk(x, bias)
        w = real.float()[..., None]
        return F.normalize(self.proj_t((self.ln_t(x) * w).sum(1) / w.sum(1).clamp(min=1)), dim=-1)

    def image(self, x):
        x = F.gelu(self.stem(x * 2 - 1))
        for down, conv in zip(self.down, self.conv):
            x = F.gelu(down(x))
            x = x + F.gelu(conv(x))
        return F.normalize(self.proj_i(self.ln_i(x.mean((2, 3)))), dim=-1)


model = Clip()
decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and not n.startswith('tok')]
rest = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and not n.startswith('tok'))]
opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': rest, 'weight_decay': 0.0}], lr=1e-4, betas=(0.9, 0.98), eps=1e-6)
lengths = 3 + torch.arange(B) % 8
ids = torch.where(torch.arange(T)[None, :] < lengths[:, None], torch.randint(0, V, (B, T)), V + torch.arange(T)[None, :])
images = torch.rand(B, 3, C['imageSize'], C['imageSize'])
own = torch.arange(B)


def step():
    logits = model.image(images) @ model.text(ids).T * model.scale.clamp(max=math.log(100)).exp()
    loss = (F.cross_entropy(logits, own) + F.cross_entropy(logits.T, own)) / 2
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()


print(json.dumps({'img_s': median_rate(step, B)}))
