"""PyTorch side of bench/engine.ts: matmul 1024^3 and a conv forward+backward (64->64, 3x3, 32x32, batch 32,
padding 1), float32 on the CPU, median of 9 runs after warm-up.

Prints one JSON line: {"matmul_gflops": ..., "conv_step_ms": ...}.
"""
import json
import sys

import torch
import torch.nn.functional as F
from torch_support import median_ms

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
torch.manual_seed(0)


n = 1024
a, b = torch.randn(n, n), torch.randn(n, n)
matmul_ms = median_ms(lambda: torch.mm(a, b), reps=9)

x = torch.randn(32, 64, 32, 32, requires_grad=True)
w = torch.randn(64, 64, 3, 3, requires_grad=True)
g = torch.randn(32, 64, 32, 32)


def conv_step():
    x.grad = w.grad = None
    y = F.conv2d(x, w, padding=1)
    y.backward(g)
    return y


print(json.dumps({"matmul_gflops": 2 * n ** 3 / matmul_ms / 1e6, "conv_step_ms": median_ms(conv_step, reps=9)}))
