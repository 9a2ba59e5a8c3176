"""A tiny safetensors writer/reader for the fixture scripts (Debian has no python3-safetensors).

Layout: 8-byte little-endian header length, JSON header {name: {dtype, shape, data_offsets}}, data.
"""
import json
import struct

import numpy as np

_DTYPES = {np.dtype('float32'): 'F32', np.dtype('int64'): 'I64', np.dtype('float64'): 'F64', np.dtype('uint8'): 'U8'}
_NP = {v: k for k, v in _DTYPES.items()}


def save(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, value in tensors.items():
        arr = np.ascontiguousarray(value.detach().cpu().numpy() if hasattr(value, 'detach') else value)
        data = arr.tobytes()
        header[name] = {'dtype': _DTYPES[arr.dtype], 'shape': list(arr.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header['__metadata__'] = metadata
    raw = json.dumps(header).encode()
    raw += b' ' * (-len(raw) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def load(path):
    with open(path, 'rb') as f:
        (n,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    header.pop('__metadata__', None)
    return {k: np.frombuffer(data[v['data_offsets'][0]:v['data_offsets'][1]], dtype=_NP[v['dtype']]).reshape(v['shape'])
            for k, v in header.items()}
