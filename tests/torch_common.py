"""Helpers shared by the PyTorch parity scripts (tests/torch_*_parity.py, run by
tests/cli_torch.sh): MNIST's IDX files from data/mnist, and safetensors files written and read
without the safetensors package."""
import gzip
import json
import os
import struct

import torch


def idx(path):
    raw = open(path, "rb").read() if os.path.exists(path) else gzip.open(path + ".gz").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    magic, = struct.unpack(">I", raw[:4])
    dims = struct.unpack(">" + "I" * (magic & 0xFF), raw[4:4 + 4 * (magic & 0xFF)])
    return torch.frombuffer(bytearray(raw[4 + 4 * len(dims):]), dtype=torch.uint8).reshape(dims)


def data_file(name):
    for spelling in (name, name.replace("-idx", ".idx")):
        for suffix in ("", ".gz"):
            p = os.path.join("data", "mnist", spelling + suffix)
            if os.path.exists(p):
                return p[:-3] if suffix else p
    raise SystemExit("no MNIST in data/mnist")


def mnist(n):
    """The first n MNIST training images (float64, scaled to [0, 1]) and labels."""
    images = idx(data_file("train-images-idx3-ubyte"))[:n].reshape(n, -1).double() / 255
    return images, idx(data_file("train-labels-idx1-ubyte"))[:n].long()


def save_safetensors(path, tensors):
    header, body = {}, b""
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        data = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [len(body), len(body) + len(data)]}
        body += data
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + body)


def load_safetensors(path):
    raw = open(path, "rb").read()
    n, = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, h in header.items():
        b, e = h["data_offsets"]
        dt = {"F32": torch.float32, "I64": torch.int64}[h["dtype"]]
        out[name] = torch.frombuffer(bytearray(raw[8 + n + b:8 + n + e]), dtype=dt).reshape(h["shape"])
    return out
