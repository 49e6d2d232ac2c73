# torch_mlp.py: PyTorch's figures for the same jobs as `make bench` (reference only; the
# project never needs PyTorch). Usage: python3 torch_mlp.py SIZES BATCH STEPS THREADS [flush]
#   prints samples/s of AdamW training (forward, cross-entropy, backward, step) on MNIST
#   tensors in memory, after a warm-up; or `python3 torch_mlp.py peak N THREADS` for the
#   GFLOP/s of a square float32 matmul.
import sys, time, torch
import torch.nn as nn

def images():
    with open("data/mnist/train-images-idx3-ubyte", "rb") as f:
        x = torch.frombuffer(bytearray(f.read()[16:]), dtype=torch.uint8).view(-1, 784)
    with open("data/mnist/train-labels-idx1-ubyte", "rb") as f:
        y = torch.frombuffer(bytearray(f.read()[8:]), dtype=torch.uint8).long()
    return x, y

if sys.argv[1] == "peak":
    n, threads = int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = 0
    for _ in range(5):
        t0 = time.perf_counter(); torch.mm(a, b); s = time.perf_counter() - t0
        best = max(best, 2 * n ** 3 / s / 1e9)
    print(f"{best:.1f}")
    sys.exit(0)

sizes = [int(v) for v in sys.argv[1].split("-")]
batch, steps, threads = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
if len(sys.argv) > 5 and sys.argv[5] == "flush":
    torch.set_flush_denormal(True)
torch.manual_seed(1)
layers = []
for i in range(len(sizes) - 1):
    layers.append(nn.Linear(sizes[i], sizes[i + 1]))
    if i < len(sizes) - 2:
        layers.append(nn.ReLU())
model = nn.Sequential(*layers)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
x_all, y_all = images()
n = x_all.shape[0]
def step(i):
    idx = torch.randint(0, n, (batch,))
    x = x_all[idx].float().div_(255)
    loss = loss_fn(model(x), y_all[idx])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
for i in range(20):
    step(i)
t0 = time.perf_counter()
for i in range(steps):
    step(i)
print(f"{steps * batch / (time.perf_counter() - t0):.0f}")
