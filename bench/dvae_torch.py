"""PyTorch side of the dVAE speed comparison (bench/dvae.ts runs it in the same session): OpenAI's dVAE
architecture (the module tree of tools/dvae_reference.py) at a dalle-ts config's sizes — by default the
`small` preset's, 64 px, 3 groups of 1 block, n_hid 64, n_init 64, K = 512; argv[2] may give another config
as JSON (dalle-ts's field names) — trained with the same loss (Gumbel-softmax, logit-Laplace, KL to the
uniform prior) and AdamW, batch 32. Usage: dvae_torch.py THREADS [CONFIG_JSON]. Prints one JSON line:
{"img_s": ...}.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F
from torch_support import median_rate

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'tools'))
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
from dvae_reference import Decoder, Encoder  # noqa: E402

SMALL = {'imageSize': 64, 'groups': 3, 'blocksPerGroup': 1, 'hidden': 64, 'decoderInit': 64, 'vocab': 512, 'inputKernel': 7}
C = {**SMALL, **(json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})}
EPS, K, SIZE, B = 0.1, C['vocab'], C['imageSize'], 32
enc = Encoder(C['hidden'], C['blocksPerGroup'], K, group_count=C['groups'], kin=C['inputKernel'])
dec = Decoder(C['decoderInit'], C['hidden'], C['blocksPerGroup'], K, group_count=C['groups'])
opt = torch.optim.AdamW(list(enc.parameters()) + list(dec.parameters()), lr=1e-4, weight_decay=1e-4)
x = torch.rand(B, 3, SIZE, SIZE)


def step():
    xm = (1 - 2 * EPS) * x + EPS
    logits = enc(xm)
    z = F.gumbel_softmax(logits, tau=1.0, dim=1)
    out = dec(z)
    mu, lnb = out[:, :3], out[:, 3:]
    logit_x = torch.log(xm) - torch.log1p(-xm)
    rec = (lnb + 0.6931471805599453 + torch.log(xm * (1 - xm)) + (logit_x - mu).abs() * torch.exp(-lnb)).sum()
    logq = F.log_softmax(logits, 1)
    kl = ((logq.exp() * logq).sum(1) + torch.log(torch.tensor(float(K)))).sum()
    loss = (rec + 1.0 * kl) / x.numel()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


print(json.dumps({'img_s': median_rate(step, B)}))
