"""Shared by the PyTorch parity scripts (tests/torch_*_parity.py): MNIST's IDX files as
tensors, and safetensors files written and read without the safetensors package."""
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


def mnist_train(n):
    """The first n MNIST training images (float64, scaled to [0, 1], one row each) and labels."""
    images = idx(data_file("train-images-idx3-ubyte"))[:n].reshape(n, -1).double() / 255
    labels = idx(data_file("train-labels-idx1-ubyte"))[:n].long()
    return images, labels


def as_close_as_torch(label, ours, ref, f32, factor):
    """train's tensor ours against the float64 reference ref: at most factor times as far from
    it as PyTorch's own float32 result f32 (plus 1e-6 of its size); prints the figures."""
    ours_err = (ours.double() - ref).abs().max().item()
    torch_err = (f32.double() - ref).abs().max().item()
    good = ours_err <= factor * torch_err + 1e-6 * ref.abs().max().item()
    print(f"  {label}: max |train - float64| {ours_err:.3g}, |torch float32 - float64| {torch_err:.3g} "
          f"{'ok' if good else 'FAIL'}")
    return good
