"""Adadelta against torch.optim.Adadelta: an MLP 784-64-10 from the same initial weights (a
safetensors file written here and given to ./train --init), the first N MNIST training images
as one full batch, STEPS steps; PyTorch runs once in float64 (the reference) and once in
float32. train's weights and its optimizer state (square_avg, acc_delta) must be as close to
the float64 result as PyTorch's own float32 run is (within 5x: they differ by about 2x at most). Two cases: the defaults
(lr 1, rho 0.9, eps 1e-6), and lr 0.5, rho 0.8, eps 1e-5 with weight decay 0.01 on every
tensor (--wd-bias, as PyTorch decays every parameter it is given). Run by
tests/cli_optim2_torch.sh when torch exists.

usage: torch_optim2_parity.py TRAIN_BIN WORKDIR"""
import os
import subprocess
import sys

import torch
import torch.nn as nn

from torch_io import as_close_as_torch, load_safetensors, mnist_train, save_safetensors

N, STEPS = 512, 50
TRAIN, WORK = sys.argv[1], sys.argv[2]
images, labels = mnist_train(N)


def mlp():
    return nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))


def train_torch(init, dtype, lr, rho, eps, wd):
    model = mlp()
    model.load_state_dict(init)
    model = model.to(dtype)
    opt = torch.optim.Adadelta(model.parameters(), lr=lr, rho=rho, eps=eps, weight_decay=wd)
    x = images.to(dtype)
    for _ in range(STEPS):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), labels).backward()
        opt.step()
    out = dict(model.state_dict())
    for name, p in model.named_parameters():
        for key in ("square_avg", "acc_delta"):
            out[f"optimizer.{name}.{key}"] = opt.state[p][key]
    return out


def run_case(name, lr, rho, eps, wd):
    torch.manual_seed(1)
    init = mlp().state_dict()
    path = os.path.join(WORK, "init.safetensors")
    save_safetensors(path, init)
    flags = ["--quiet", "--force", "--runs-dir", WORK, "--run", name, "--init", path, "--model", "784-64-10",
             "--subset", str(N), "--val", "0", "--batch", "full", "--steps", str(STEPS), "--schedule",
             "constant", "--opt", "adadelta", "--lr", str(lr), "--rho", str(rho), "--eps", str(eps),
             "--wd", str(wd), "--denormals", "keep", "--ckpt-every", "0"]
    if wd:
        flags.append("--wd-bias")
    subprocess.run([TRAIN] + flags, check=True, stdout=subprocess.DEVNULL)
    ours = load_safetensors(os.path.join(WORK, name, "last.safetensors"))
    ref = train_torch(init, torch.float64, lr, rho, eps, wd)
    f32 = train_torch(init, torch.float32, lr, rho, eps, wd)
    ok = set(ours) == set(ref)
    for key, r in ref.items():
        ok &= as_close_as_torch(f"{name} {key}", ours[key], r, f32[key], 5)
    moved = (ref["0.weight"] - init["0.weight"].double()).abs().max().item()
    print(f"  {name}: the weights moved by up to {moved:.3g}")
    return ok and moved > 1e-3


results = [run_case("adadelta-defaults", 1.0, 0.9, 1e-6, 0.0), run_case("adadelta-wd", 0.5, 0.8, 1e-5, 0.01)]
print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
sys.exit(0 if all(results) else 1)
