# torch_mlp.py: PyTorch's figures for the same jobs as `make bench` (reference only; the
# project never needs PyTorch). OpenBLAS reads OPENBLAS_CORETYPE and OPENBLAS_NUM_THREADS
# when it loads, so bench.sh starts one process per pair and this script tries the rest.
#
#   python3 torch_mlp.py peak N THREADS
#       GFLOP/s of a square float32 torch.mm (best of 5)
#   python3 torch_mlp.py grid MAX_THREADS JOB...
#       JOB = NAME:SIZES:BATCH:STEPS[:bf16][:bn]; for every torch thread count 1..MAX_THREADS and
#       denormals kept or flushed, one line "NAME TORCH_THREADS keep|flush SAMPLES_PER_S"
#
# The training loop is what a PyTorch user writes at their best: nn.Sequential of Linear and
# ReLU, CrossEntropyLoss, AdamW(foreach=True: one multi-tensor pass per update term instead
# of a Python loop over the parameters), zero_grad(set_to_none=True), batches drawn at random
# from the uint8 MNIST tensor in memory and scaled to [0, 1] per batch, as train does. bf16
# jobs run the forward and backward under torch.autocast("cpu", dtype=torch.bfloat16) (the
# Linear layers in bf16 through oneDNN, weights, gradients and AdamW in float32). bn jobs put
# a BatchNorm1d after every hidden Linear, before its ReLU (train's --norm batch).
#
# glibc returns freed blocks above 128 KB to the kernel (mmap threshold, heap trimming) and
# adapts those thresholds as it goes, so the temporary gradient-sized tensors of a step may
# page-fault afresh for hundreds of steps: measured here, 125k-350k page faults per process
# and a B1 rate of 22k-45k samples/s from run to run. Raising both thresholds keeps freed
# blocks in the heap (55k faults, all at start-up), as jemalloc or tcmalloc would.
import ctypes, os, sys, time

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
try:
    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(M_MMAP_THRESHOLD, 1 << 30)
    libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
except OSError:
    pass

import torch
import torch.nn as nn


def mnist():
    with open("data/mnist/train-images-idx3-ubyte", "rb") as f:
        x = torch.frombuffer(bytearray(f.read()[16:]), dtype=torch.uint8).view(-1, 784)
    with open("data/mnist/train-labels-idx1-ubyte", "rb") as f:
        y = torch.frombuffer(bytearray(f.read()[8:]), dtype=torch.uint8).long()
    return x, y


def peak(n, threads):
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = 0.0
    for _ in range(5):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * n ** 3 / (time.perf_counter() - t0) / 1e9)
    print(f"{best:.1f}")


def rate(x_all, y_all, sizes, batch, steps, bf16, bn):
    """samples/s of AdamW training steps, the better of two timed halves after a warm-up"""
    torch.manual_seed(1)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            if bn:
                layers.append(nn.BatchNorm1d(sizes[i + 1]))
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, foreach=True)
    loss_fn = nn.CrossEntropyLoss()
    n = x_all.shape[0]

    def step():
        idx = torch.randint(0, n, (batch,))
        x = x_all[idx].float().div_(255)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn(model(x), y_all[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(20):
        step()
    best = 0.0
    for _ in range(2):
        t0 = time.perf_counter()
        for _ in range(steps // 2):
            step()
        best = max(best, steps // 2 * batch / (time.perf_counter() - t0))
    return best


def grid(max_threads, jobs):
    x_all, y_all = mnist()
    for threads in range(1, max_threads + 1):
        torch.set_num_threads(threads)
        for flush in ("keep", "flush"):
            torch.set_flush_denormal(flush == "flush")
            for job in jobs:
                f = job.split(":")
                sizes = [int(v) for v in f[1].split("-")]
                r = rate(x_all, y_all, sizes, int(f[2]), int(f[3]), "bf16" in f[4:], "bn" in f[4:])
                print(f"{f[0]} {threads} {flush} {r:.0f}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "peak":
        peak(int(sys.argv[2]), int(sys.argv[3]))
    elif sys.argv[1] == "grid":
        grid(int(sys.argv[2]), sys.argv[3:])
    else:
        sys.exit("usage: torch_mlp.py peak N THREADS | grid MAX_THREADS NAME:SIZES:BATCH:STEPS[:bf16][:bn]...")
