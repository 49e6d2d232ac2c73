"""LayerNorm and BatchNorm MLPs against PyTorch: the same initial weights (a safetensors file
written here and given to ./train --init), the same first N MNIST training images as one full
batch, the same optimizer for STEPS steps; PyTorch runs once in float64 (the reference) and once
in float32. train's weights and running statistics must be as close to the float64 result as
PyTorch's own float32 run is (within a factor), and the file train writes must load into the
equivalent nn.Sequential with load_state_dict. Run by tests/cli_torch.sh when torch exists.

usage: torch_norm_parity.py TRAIN_BIN WORKDIR"""
import os
import subprocess
import sys

import torch
import torch.nn as nn

from torch_io import as_close_as_torch, load_safetensors, mnist_train, save_safetensors

N, STEPS = 512, 50
TRAIN, WORK = sys.argv[1], sys.argv[2]
images, labels = mnist_train(N)


def mlp(norm):
    layers, dims = [], [784, 64, 32, 10]
    for i in range(1, len(dims)):
        layers.append(nn.Linear(dims[i - 1], dims[i]))
        if i < len(dims) - 1:
            layers.append(nn.LayerNorm(dims[i]) if norm == "layer" else nn.BatchNorm1d(dims[i]))
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def train_torch(norm, opt, init, dtype):
    torch.manual_seed(0)
    model = mlp(norm)
    model.load_state_dict(init)
    model = model.to(dtype)
    model.train()
    decay = [p for n, p in model.named_parameters() if n.endswith("weight") and p.dim() == 2]
    rest = [p for n, p in model.named_parameters() if not (n.endswith("weight") and p.dim() == 2)]
    if opt == "adamw":
        o = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0}], lr=1e-3)
    else:
        o = torch.optim.SGD([{"params": decay}, {"params": rest}], lr=0.05, momentum=0.9)
    x, y = images.to(dtype), labels
    for _ in range(STEPS):
        o.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        o.step()
    return model.state_dict()


def run_case(norm, opt):
    torch.manual_seed(1)
    init = mlp(norm).state_dict()
    path = os.path.join(WORK, f"init-{norm}.safetensors")
    save_safetensors(path, init)
    name = f"{norm}-{opt}"
    flags = ["--quiet", "--force", "--runs-dir", WORK, "--run", name, "--init", path, "--model", "784-64-32-10",
             "--norm", norm, "--subset", str(N), "--val", "0", "--batch", "full", "--steps", str(STEPS),
             "--schedule", "constant", "--opt", opt, "--denormals", "keep", "--ckpt-every", "0"]
    if opt == "momentum":
        flags += ["--lr", "0.05"]
    subprocess.run([TRAIN] + flags, check=True, stdout=subprocess.DEVNULL)
    ours = load_safetensors(os.path.join(WORK, name, "last.safetensors"))
    ref = train_torch(norm, opt, init, torch.float64)
    f32 = train_torch(norm, opt, init, torch.float32)
    ok = True
    for key, r in ref.items():
        if key.endswith("num_batches_tracked"):
            same = int(ours[key]) == int(r) == STEPS
            print(f"  {name} {key}: {int(ours[key])} (PyTorch {int(r)}) {'ok' if same else 'FAIL'}")
            ok &= same
            continue
        ok &= as_close_as_torch(f"{name} {key}", ours[key], r, f32[key], 10)
    model = mlp(norm)   # the file loads as it is, optimizer state aside
    model.load_state_dict({k: v for k, v in ours.items() if not k.startswith("optimizer.")})
    return ok


results = [run_case(norm, opt) for norm in ("layer", "batch") for opt in ("adamw", "momentum")]
print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
sys.exit(0 if all(results) else 1)
