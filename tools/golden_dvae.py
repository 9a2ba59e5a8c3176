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
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import save  # noqa: E402

from dvae_reference import EPS, Decoder, Encoder  # noqa: E402

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
