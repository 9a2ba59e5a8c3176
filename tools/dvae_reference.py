"""OpenAI's dVAE architecture in PyTorch (dall_e/encoder.py, decoder.py, utils.py: the same module tree, so
the same state-dict names), written for this project's fixtures and benchmarks: tools/golden_dvae.py and
bench/dvae_torch.py import it.
"""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

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
