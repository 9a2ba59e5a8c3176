"""Golden fixture for the dVAE: a PyTorch re-implementation of OpenAI's dVAE architecture (dall_e/encoder.py,
decoder.py, utils.py: same module tree, so the same state-dict names) at a reduced width, with random
weights drawn as OpenAI's Conv2d draws them.

Run by hand (Debian's python3-torch):  /usr/bin/python3 tools/golden_dvae.py
Writes test/fixtures/golden_dvae.safetensors with the weights under `encoder.` and `decoder.`, an input
batch, the encoder logits, the decoder output for the argmax codes, and the reconstruction; the test
test/dvae.golden.test.ts loads the weights through the same loader as OpenAI's converted files and must
match within 1e-4.
"""
import os
import sys
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import save  # noqa: E402

EPS = 0.1


class Conv2d(nn.Module):
    def __init__(self, n_in, n_out, kw):
        super().__init__()
        self.w = nn.Parameter(torch.randn(n_out, n_in, kw, kw) / (n_in * kw ** 2) ** 0.5)
        # OpenAI initialises biases to zero; random biases here make the test see them.
        self.b = nn.Parameter(torch.randn(n_out) * 0.1)
        self.kw = kw

    def forward(self, x):
        return F.conv2d(x, self.w, self.b, padding=(self.kw - 1) // 2)


class Block(nn.Module):
    def __init__(self, n_in, n_out, n_layers, kernels):
        super().__init__()
        n_hid = n_out // 4
        self.post_gain = 1 / n_layers ** 2
        self.id_path = Conv2d(n_in, n_out, 1) if n_in != n_out else nn.Identity()
        widths = [n_in, n_hid, n_hid, n_hid, n_out]
        layers = []
        for i, k in enumerate(kernels):
            layers += [(f'relu_{i + 1}', nn.ReLU()), (f'conv_{i + 1}', Conv2d(widths[i], widths[i + 1], k))]
        self.res_path = nn.Sequential(OrderedDict(layers))

    def forward(self, x):
        return self.id_path(x) + self.post_gain * self.res_path(x)


def groups(widths, first_in, blocks, n_layers, kernels, between):
    out, prev = [], first_in
    for g, w in enumerate(widths):
        mods = [(f'block_{i + 1}', Block(prev if i == 0 else w, w, n_layers, kernels)) for i in range(blocks)]
        if g < len(widths) - 1:
            mods.append(between())
        out.append((f'group_{g + 1}', nn.Sequential(OrderedDict(mods))))
        prev = w
    return out


class Encoder(nn.Module):
    def __init__(self, n_hid, blocks, vocab, group_count=4, kin=7):
        super().__init__()
        widths = [2 ** g * n_hid for g in range(group_count)]
        self.blocks = nn.Sequential(OrderedDict([
            ('input', Conv2d(3, n_hid, kin)),
            *groups(widths, n_hid, blocks, group_count * blocks, [3, 3, 3, 1], lambda: ('pool', nn.MaxPool2d(2))),
            ('output', nn.Sequential(OrderedDict([('relu', nn.ReLU()), ('conv', Conv2d(widths[-1], vocab, 1))]))),
        ]))

    def forward(self, x):
        return self.blocks(x)


class Decoder(nn.Module):
    def __init__(self, n_init, n_hid, blocks, vocab, group_count=4):
        super().__init__()
        widths = [2 ** g * n_hid for g in reversed(range(group_count))]
        self.blocks = nn.Sequential(OrderedDict([
            ('input', Conv2d(vocab, n_init, 1)),
            *groups(widths, n_init, blocks, group_count * blocks, [1, 3, 3, 3],
                    lambda: ('upsample', nn.Upsample(scale_factor=2, mode='nearest'))),
            ('output', nn.Sequential(OrderedDict([('relu', nn.ReLU()), ('conv', Conv2d(n_hid, 6, 1))]))),
        ]))

    def forward(self, z):
        return self.blocks(z)


torch.manual_seed(7)
torch.set_default_dtype(torch.float64)
# Reduced width: n_hid 8, 2 blocks per group, 4 groups, K = 32, 16 px → 2×2 codes.
cfg = dict(n_hid=8, blocks=2, vocab=32, n_init=8, image=16)
enc = Encoder(cfg['n_hid'], cfg['blocks'], cfg['vocab'])
dec = Decoder(cfg['n_init'], cfg['n_hid'], cfg['blocks'], cfg['vocab'])
for p in list(enc.parameters()) + list(dec.parameters()):
    p.data = p.data.float().double()  # what the float32 fixture stores

x = torch.rand(2, 3, cfg['image'], cfg['image']).float().double()
with torch.no_grad():
    logits = enc((1 - 2 * EPS) * x + EPS)
    z = F.one_hot(logits.argmax(1), cfg['vocab']).permute(0, 3, 1, 2).double()
    out = dec(z)
    recon = torch.clamp((torch.sigmoid(out[:, :3]) - EPS) / (1 - 2 * EPS), 0, 1)

tensors = {f'encoder.{k}': v for k, v in enc.state_dict().items()}
tensors.update({f'decoder.{k}': v for k, v in dec.state_dict().items()})
tensors.update({'x': x, 'logits': logits, 'codes': logits.argmax(1), 'decoder_out': out, 'recon': recon})
tensors = {k: (v.float() if v.dtype == torch.float64 else v) for k, v in tensors.items()}
path = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'golden_dvae.safetensors')
save(path, tensors, {'source': 'tools/golden_dvae.py', 'config': str(cfg)})
print(f'wrote {len(tensors)} tensors to {os.path.normpath(path)}')
