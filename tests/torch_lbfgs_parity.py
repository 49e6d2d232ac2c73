"""L-BFGS against torch.optim.LBFGS, without and with its strong Wolfe line search: the same
initial weights (a safetensors file given to ./train --init), the first N MNIST training
images as one full batch, 50 optimizer steps with torch's defaults (lr 1, max_iter 20,
max_eval 25, history 100, tolerances 1e-7 and 1e-9), on an MLP and, with max_iter 5 so that
the history and direction carry over many steps, on logistic regression.

PyTorch runs in float64 (the reference) and in float32. L-BFGS on a network is chaotic: a
float32 rounding of the initial weights moves PyTorch's own float32 result by far more than
the rounding, so "float32 precision" is measured as the largest distance from the float64 run
of PyTorch float32 runs from the initial weights and from ENSEMBLE copies of them perturbed by
one part in 1e7. train's weights, and the loss of every step, must be within FACTOR times
that of the float64 run; the iteration and evaluation counts are printed beside torch's.
Run by tests/cli_torch.sh when torch exists.

usage: torch_lbfgs_parity.py TRAIN_BIN WORKDIR"""
import csv
import json
import os
import struct
import subprocess
import sys

import torch
import torch.nn as nn

from torch_io import load_safetensors, mnist_train, save_safetensors

STEPS, FACTOR, ENSEMBLE = 50, 3, 3
TRAIN, WORK = sys.argv[1], sys.argv[2]
CASES = [  # (name, hidden width or 0, examples, max_iter, line search)
    ("mlp", 64, 512, 20, None),
    ("mlp-wolfe", 64, 512, 20, "strong_wolfe"),
    ("linear-iter5", 0, 4096, 5, None),
    ("linear-iter5-wolfe", 0, 4096, 5, "strong_wolfe"),
]


def model_of(hidden):
    layers = [nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10)] if hidden else [nn.Linear(784, 10)]
    return nn.Sequential(*layers)


def train_torch(hidden, images, labels, init, dtype, max_iter, line_search):
    model = model_of(hidden)
    model.load_state_dict(init)
    model = model.to(dtype)
    o = torch.optim.LBFGS(model.parameters(), max_iter=max_iter, line_search_fn=line_search)
    x = images.to(dtype)

    def closure():
        o.zero_grad()
        loss = nn.functional.cross_entropy(model(x), labels)
        loss.backward()
        return loss

    losses = [float(o.step(closure)) for _ in range(STEPS)]
    state = o.state[o._params[0]]
    return model.state_dict(), losses, (state["n_iter"], state["func_evals"])


def metadata(path):
    raw = open(path, "rb").read()
    n, = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n]).get("__metadata__", {})


def distances(weights, losses, ref, ref_losses):
    d = {key: (weights[key].double() - r).abs().max().item() for key, r in ref.items()}
    d["loss"] = max(abs(a - b) for a, b in zip(losses, ref_losses))
    return d


def run_case(name, hidden, n, max_iter, line_search):
    images, labels = mnist_train(n)
    torch.manual_seed(1)
    init = model_of(hidden).state_dict()
    path = os.path.join(WORK, f"init-{name}.safetensors")
    save_safetensors(path, init)
    flags = ["--quiet", "--force", "--runs-dir", WORK, "--run", name, "--init", path,
             "--model", f"784-{hidden}-10" if hidden else "784-10", "--subset", str(n), "--val", "0",
             "--batch", "full", "--steps", str(STEPS), "--opt", "lbfgs", "--max-iter", str(max_iter),
             "--denormals", "keep", "--ckpt-every", "0", "--log-every", "1"]
    if line_search:
        flags += ["--line-search", line_search]
    subprocess.run([TRAIN] + flags, check=True, stdout=subprocess.DEVNULL)
    ckpt = os.path.join(WORK, name, "last.safetensors")
    ours = load_safetensors(ckpt)
    ours_losses = [float(row["loss"]) for row in csv.DictReader(open(os.path.join(WORK, name, "log.csv")))]
    scalars = dict(kv.split("=") for kv in metadata(ckpt)["optimizer_scalars"].split())
    ref, ref_losses, ref_counts = train_torch(hidden, images, labels, init, torch.float64, max_iter, line_search)
    spread, counts32 = None, None
    for k in range(ENSEMBLE + 1):
        g = torch.Generator().manual_seed(k)
        start = {key: v * (1 + (1e-7 if k else 0) * torch.randn(v.shape, generator=g)) for key, v in init.items()}
        w, losses, counts = train_torch(hidden, images, labels, start, torch.float32, max_iter, line_search)
        d = distances(w, losses, ref, ref_losses)
        spread = d if spread is None else {key: max(spread[key], d[key]) for key in d}
        counts32 = counts32 or counts
    mine = distances(ours, ours_losses, ref, ref_losses)
    ok = len(ours_losses) == STEPS
    for key in mine:
        good = mine[key] <= FACTOR * spread[key] + 1e-7
        ok &= good
        print(f"  {name} {key}: max |train - float64| {mine[key]:.3g}, torch float32 runs up to "
              f"{spread[key]:.3g} {'ok' if good else 'FAIL'}")
    print(f"  {name}: loss {ref_losses[0]:.6f} -> {ref_losses[-1]:.3g}; iterations, evaluations: "
          f"train {int(float(scalars['n_iter']))}, {int(float(scalars['func_evals']))}; torch float64 "
          f"{ref_counts[0]}, {ref_counts[1]}; float32 {counts32[0]}, {counts32[1]}")
    return ok


results = [run_case(*case) for case in CASES]
print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
sys.exit(0 if all(results) else 1)
