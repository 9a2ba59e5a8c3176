"""Convert OpenAI's released dVAE (encoder.pkl, decoder.pkl from the openai/DALL-E project) into a dalle-ts
dVAE folder: config.json (the `openai` preset) and model.safetensors with the weights named
`encoder.blocks.…` and `decoder.blocks.…`, exactly the module paths of OpenAI's code.

Run by hand, where the pickles and OpenAI's `dall_e` package are available (the pickles are whole PyTorch
modules, so unpickling imports dall_e):
    /usr/bin/python3 tools/convert_openai_dvae.py encoder.pkl decoder.pkl models/openai-dvae
Then e.g.  npx dalle encode --vae models/openai-dvae image.png
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import save  # noqa: E402

OPENAI_PRESET = {'kind': 'dvae', 'imageSize': 256, 'channels': 3, 'groups': 4, 'blocksPerGroup': 2, 'hidden': 256,
                 'decoderInit': 128, 'vocab': 8192, 'inputKernel': 7, 'likelihood': 'logit-laplace'}


def main(encoder_pkl, decoder_pkl, out_dir):
    tensors = {}
    for prefix, path in (('encoder', encoder_pkl), ('decoder', decoder_pkl)):
        module = torch.load(path, map_location='cpu')
        for name, value in module.state_dict().items():
            tensors[f'{prefix}.{name}'] = value.detach().float()
    os.makedirs(out_dir, exist_ok=True)
    save(os.path.join(out_dir, 'model.safetensors'), tensors, {'source': 'OpenAI DALL-E dVAE', 'format': 'pt'})
    with open(os.path.join(out_dir, 'config.json'), 'w') as f:
        json.dump(OPENAI_PRESET, f, indent=2)
    print(f'wrote {len(tensors)} tensors to {out_dir}')


if __name__ == '__main__':
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
