"""PyTorch side of the GPT speed race (bench/gpt.ts runs this in the same session and prints the ratios).

Same model as src/nn/gpt.ts: d=256, 4 layers, 8 heads, vocabulary 1536, 96 tokens; training with AdamW on
batch 32, and sampling 64 tokens after a 32-token prompt at batch 8 with a hand-written key-value cache.
Prints one JSON line: {"train_tok_s": ..., "sample_tok_s": ...}.
Arguments: threads, then optionally a JSON object overriding the sizes, e.g. for the DALL·E small preset's
sampling: '{"V": 4640, "CTX": 288, "D": 256, "L": 8, "H": 8, "prompt": 33, "new": 255, "batch": 8, "train": false}'.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
ARGS = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
V, CTX, D, L, H = (ARGS.get(k, d) for k, d in (('V', 1536), ('CTX', 96), ('D', 256), ('L', 4), ('H', 8)))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
        self.fc, self.out = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)

    def attn(self, x, cache=None, pos=None):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).split(D, dim=2)
        q, k, v = (z.view(b, t, H, D // H).transpose(1, 2) for z in (q, k, v))
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True) if hasattr(F, 'scaled_dot_product_attention') else \
                (((q @ k.transpose(-2, -1)) / math.sqrt(D // H)).masked_fill(torch.ones(t, t).tril() == 0, float('-inf')).softmax(-1) @ v)
            return y.transpose(1, 2).reshape(b, t, D), k, v
        ck, cv = cache
        ck[:, :, pos:pos + t], cv[:, :, pos:pos + t] = k, v
        k, v = ck[:, :, :pos + t], cv[:, :, :pos + t]
        y = (((q @ k.transpose(-2, -1)) / math.sqrt(D // H)).softmax(-1) @ v)
        return y.transpose(1, 2).reshape(b, t, D), None, None

    def forward(self, x, cache=None, pos=None):
        a, k, v = self.attn(self.ln1(x), cache, pos)
        x = x + self.proj(a)
        return x + self.out(F.gelu(self.fc(self.ln2(x)))), k, v


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, D), nn.Embedding(CTX, D)
        self.blocks = nn.ModuleList(Block() for _ in range(L))
        self.ln_f, self.head = nn.LayerNorm(D), nn.Linear(D, V, bias=False)

    def forward(self, ids, caches=None, pos=0):
        x = self.wte(ids) + self.wpe(torch.arange(pos, pos + ids.shape[1]))
        kv = []
        for i, blk in enumerate(self.blocks):
            x, k, v = blk(x, None if caches is None else caches[i], pos)
            kv.append((k, v))
        return self.head(self.ln_f(x)), kv


def bench_train(model, steps=10, warmup=3, batch=32):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1)
    ids = torch.randint(0, V, (batch, CTX + 1))
    for i in range(warmup + steps):
        if i == warmup:
            t0 = time.perf_counter()
        logits, _ = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, V), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return batch * CTX * steps / (time.perf_counter() - t0)


@torch.no_grad()
def bench_sample(model, batch=8, prompt=32, new=64, runs=3):
    best = 0.0
    for _ in range(runs):
        t0 = time.perf_counter()
        ids = torch.randint(0, V, (batch, prompt))
        caches = [(torch.zeros(batch, H, CTX, D // H), torch.zeros(batch, H, CTX, D // H)) for _ in range(L)]
        logits, _ = model(ids, caches, 0)
        pos = prompt
        for _ in range(new):
            tok = torch.multinomial(logits[:, -1].softmax(-1), 1)
            logits, _ = model(tok, caches, pos)
            pos += 1
        best = max(best, batch * new / (time.perf_counter() - t0))
    return best


torch.manual_seed(0)
model = GPT()
train = bench_train(model) if ARGS.get('train', True) else None
model.eval()
sample_int8 = None
if ARGS.get('int8', False):
    # PyTorch's own int8 inference for the same comparison: Linear weights int8 per tensor, activations
    # quantized per call (dynamic quantization), on the oneDNN engine Debian's build has (no fbgemm).
    torch.backends.quantized.engine = 'onednn'
    quantized = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    sample_int8 = bench_sample(quantized, batch=ARGS.get('batch', 8), prompt=ARGS.get('prompt', 32), new=ARGS.get('new', 64), runs=ARGS.get('runs', 3))
sample = bench_sample(model, batch=ARGS.get('batch', 8), prompt=ARGS.get('prompt', 32), new=ARGS.get('new', 64), runs=ARGS.get('runs', 3))
print(json.dumps({'train_tok_s': train, 'sample_tok_s': sample, 'sample_int8_tok_s': sample_int8, 'torch': torch.__version__, 'threads': torch.get_num_threads()}))
