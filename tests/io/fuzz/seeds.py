# SPDX-License-Identifier: MIT
# Writes small valid seed files for the fuzz targets (stdlib only): seeds.py DIR
import gzip
import io
import json
import os
import struct
import sys
import zipfile

out = sys.argv[1]
for sub in ("safetensors", "idx", "npy"):
    os.makedirs(os.path.join(out, sub), exist_ok=True)

header = {"__metadata__": {"format": "pt"},
          "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
          "b": {"dtype": "I64", "shape": [], "data_offsets": [16, 24]},
          "c": {"dtype": "F16", "shape": [2], "data_offsets": [24, 28]}}
text = json.dumps(header).encode()
text += b" " * ((8 - len(text) % 8) % 8)
st = struct.pack("<Q", len(text)) + text + struct.pack("<4f", 1, 2, 3, 4) + struct.pack("<q", 7) + b"\x00\x3c\x00\xc0"
open(os.path.join(out, "safetensors", "seed1"), "wb").write(st)

idx = bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, 3, 2) + bytes(range(12))
open(os.path.join(out, "idx", "plain"), "wb").write(idx)
open(os.path.join(out, "idx", "gz"), "wb").write(gzip.compress(idx))


def npy(descr, shape, payload):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    total = 10 + len(h) + 1
    h += " " * ((64 - total % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + payload


a = npy("<f4", "(2, 2)", struct.pack("<4f", 1, 2, 3, 4))
b = npy("|u1", "(3,)", bytes([1, 2, 3]))
open(os.path.join(out, "npy", "f4"), "wb").write(a)
open(os.path.join(out, "npy", "u1"), "wb").write(b)
for method, name in ((zipfile.ZIP_STORED, "stored.npz"), (zipfile.ZIP_DEFLATED, "deflate.npz")):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        z.writestr("images.npy", a)
        z.writestr("labels.npy", b)
    open(os.path.join(out, "npy", name), "wb").write(buf.getvalue())
