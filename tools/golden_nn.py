"""Golden fixtures for the building blocks, from PyTorch.

Run by hand (Debian's python3-torch):  /usr/bin/python3 tools/golden_nn.py
Writes test/fixtures/golden_nn.safetensors: inputs, weights, outputs and gradients of a linear layer, a
conv, a layer norm, a GELU MLP, a causal multi-head attention block, and three AdamW steps. The tests in
test/nn.golden.test.ts rebuild each computation with src/nn and src/optim and compare within 1e-5.
Every gradient is of sum(output * cot) for a random cotangent `cot` stored beside it.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import save  # noqa: E402

torch.manual_seed(1234)
torch.set_default_dtype(torch.float64)  # compute in float64, store float32: the fixture is exact to ~1e-7
out = {}


def put(prefix, **tensors):
    for k, v in tensors.items():
        out[f'{prefix}.{k}'] = v.detach().to(torch.float32)


def backward(prefix, y, **leaves):
    cot = torch.randn_like(y)
    (y * cot).sum().backward()
    put(prefix, y=y, cot=cot)
    for k, v in leaves.items():
        put(prefix, **{f'grad.{k}': v.grad})


def leaf(*shape):
    # Round through float32 so the TypeScript side, which reads float32, starts from the same values.
    return torch.randn(*shape).float().double().requires_grad_()


# Linear 5 → 4 on [2, 3, 5]
x, w, b = leaf(2, 3, 5), leaf(4, 5), leaf(4)
put('linear', x=x, weight=w, bias=b)
backward('linear', F.linear(x, w, b), x=x, weight=w, bias=b)

# Conv 3 → 4, 3×3, stride 2, padding 1, on [2, 3, 7, 7]
x, w, b = leaf(2, 3, 7, 7), leaf(4, 3, 3, 3), leaf(4)
put('conv', x=x, weight=w, bias=b)
backward('conv', F.conv2d(x, w, b, stride=2, padding=1), x=x, weight=w, bias=b)

# Layer norm over 6 on [3, 4, 6]
x, w, b = leaf(3, 4, 6), leaf(6), leaf(6)
put('layernorm', x=x, weight=w, bias=b)
backward('layernorm', F.layer_norm(x, (6,), w, b, eps=1e-5), x=x, weight=w, bias=b)

# GELU MLP 6 → 12 → 6
x, w1, b1, w2, b2 = leaf(2, 3, 6), leaf(12, 6), leaf(12), leaf(6, 12), leaf(6)
put('mlp', x=x, **{'fc.weight': w1, 'fc.bias': b1, 'proj.weight': w2, 'proj.bias': b2})
y = F.linear(F.gelu(F.linear(x, w1, b1)), w2, b2)
backward('mlp', y, x=x, **{'fc.weight': w1, 'fc.bias': b1, 'proj.weight': w2, 'proj.bias': b2})

# Causal attention: batch 2, 5 tokens, width 8, 2 heads; qkv stacked as one linear, then a projection.
B, T, D, H = 2, 5, 8, 2
x, wqkv, bqkv, wo, bo = leaf(B, T, D), leaf(3 * D, D), leaf(3 * D), leaf(D, D), leaf(D)
put('attention', x=x, **{'qkv.weight': wqkv, 'qkv.bias': bqkv, 'proj.weight': wo, 'proj.bias': bo})
q, k, v = F.linear(x, wqkv, bqkv).split(D, dim=2)
q, k, v = (t.view(B, T, H, D // H).transpose(1, 2) for t in (q, k, v))
scores = (q @ k.transpose(-2, -1)) / math.sqrt(D // H)
scores = scores.masked_fill(torch.ones(T, T).tril() == 0, float('-inf'))
y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, D)
y = F.linear(y, wo, bo)
backward('attention', y, x=x, **{'qkv.weight': wqkv, 'qkv.bias': bqkv, 'proj.weight': wo, 'proj.bias': bo})

# AdamW: three steps with given gradients; 'weight' decays, 'bias' does not (two parameter groups).
weight, bias = torch.randn(4, 3).float().double(), torch.randn(4).float().double()
put('adamw', weight0=weight, bias0=bias)
pw, pb = weight.clone().requires_grad_(), bias.clone().requires_grad_()
opt = torch.optim.AdamW([{'params': [pw], 'weight_decay': 0.1}, {'params': [pb], 'weight_decay': 0.0}],
                        lr=1e-2, betas=(0.9, 0.96), eps=1e-8)
for step in range(3):
    gw, gb = torch.randn(4, 3).float().double(), torch.randn(4).float().double()
    put('adamw', **{f'grad{step}.weight': gw, f'grad{step}.bias': gb})
    pw.grad, pb.grad = gw.clone(), gb.clone()
    opt.step()
put('adamw', weight3=pw, bias3=pb)

path = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'golden_nn.safetensors')
save(path, out, {'source': 'tools/golden_nn.py', 'torch': torch.__version__})
print(f'wrote {len(out)} tensors to {os.path.normpath(path)}')
