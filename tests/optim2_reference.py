"""Reference numbers for tests/test_optim2.c: each rule written out again from its published
form (torch.optim.Adadelta, torch.optim.Adafactor of PyTorch 2.5+, timm's Lamb and Lars,
torch.optim.Muon, the Shampoo reference of Anil et al., Lookahead of Zhang et al.) in numpy
float64, independently of the C code. The C tests compare the float32 implementation with
these numbers; running this script prints them as they are quoted there.

usage: python3 tests/optim2_reference.py   (needs numpy)"""
import numpy as np

np.set_printoptions(precision=10, suppress=False)


def show(name, x):
    print(f"{name}: " + ", ".join(f"{v:.10g}" for v in np.asarray(x, dtype=float).ravel()))


def adadelta(p, grads, lr=1.0, rho=0.9, eps=1e-6, wd=0.0):
    v = np.zeros_like(p); u = np.zeros_like(p); out = []
    for g in grads:
        g = g + wd * p
        v = rho * v + (1 - rho) * g * g
        d = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * d * d
        p = p - lr * d
        out.append(p.copy())
    return out


def adafactor(p, grads, lr=1e-2, decay=-0.8, eps1=np.finfo(np.float32).eps, eps2=1e-3, d=1.0, wd=0.0):
    out = []
    if p.ndim == 2:
        r = np.zeros((p.shape[0], 1)); c = np.zeros((1, p.shape[1]))
    else:
        v = np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        w = t ** decay                      # 1 - beta2_t
        rho = min(lr, 1 / np.sqrt(t))
        alpha = max(eps2, np.sqrt(np.mean(p * p))) * rho
        p = p * (1 - lr * wd)
        if p.ndim == 2:
            r = r + w * (np.mean(g * g, axis=1, keepdims=True) - r)
            c = c + w * (np.mean(g * g, axis=0, keepdims=True) - c)
            V = r @ c / max(np.mean(r), eps1)
        else:
            v = v + w * (g * g - v)
            V = v
        U = g / np.sqrt(np.maximum(V, eps1 * eps1))
        p = p - alpha / max(1.0, np.sqrt(np.mean(U * U)) / d) * U
        out.append(p.copy())
    return out


def lamb(p, grads, adapt, lr=1e-3, b1=0.9, b2=0.999, eps=1e-6, wd=0.01, clip=False):
    m = np.zeros_like(p); v = np.zeros_like(p); out = []
    for t, g in enumerate(grads, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        u = (m / (1 - b1 ** t)) / (np.sqrt(v) / np.sqrt(1 - b2 ** t) + eps) + wd * p
        if adapt:
            ratio = np.linalg.norm(p) / np.linalg.norm(u)
            u = u * (min(ratio, 1.0) if clip else ratio)
        p = p - lr * u
        out.append(p.copy())
    return out


def lars(p, grads, adapt, lr=1.0, mu=0.9, eta=1e-3, eps=1e-8, wd=0.0, nesterov=False, larc=False):
    b = None; out = []
    for g in grads:
        d = g + wd * p
        if adapt:
            wn, gn = np.linalg.norm(p), np.linalg.norm(g)
            trust = eta * wn / (gn + wn * wd + eps)
            if larc:
                trust = min(trust / lr, 1.0)
            d = d * trust
        b = d.copy() if b is None else mu * b + d
        p = p - lr * (d + mu * b if nesterov else b)
        out.append(p.copy())
    return out


A, B, C = 3.4445, -4.7750, 2.0315


def newton_schulz(G, steps=5, eps=1e-7):
    X = G.T if G.shape[0] > G.shape[1] else G
    X = X / max(np.linalg.norm(X), eps)
    for _ in range(steps):
        M = X @ X.T
        X = A * X + (B * M + C * M @ M) @ X
    return X.T if G.shape[0] > G.shape[1] else X


def lookahead(p, grads, inner_step, k=5, alpha=0.5):
    slow = p.copy(); state = {}; out = []
    for t, g in enumerate(grads, 1):
        p = inner_step(p, g, state)
        if t % k == 0:
            slow = slow + alpha * (p - slow)
            p = slow.copy()
        out.append(p.copy())
    return out


def sgd_momentum(lr, mu):
    def step(p, g, state):
        state["b"] = g.copy() if "b" not in state else mu * state["b"] + g
        return p - lr * state["b"]
    return step


def muon(p, grads, lr=1e-3, mu=0.95, wd=0.1, nesterov=True, adjust="original"):
    buf = np.zeros_like(p); out = []
    rows, cols = p.shape
    scale = np.sqrt(max(1, rows / cols)) if adjust == "original" else 0.2 * np.sqrt(max(rows, cols))
    for g in grads:
        buf = buf + (1 - mu) * (g - buf)
        u = g + mu * (buf - g) if nesterov else buf
        O = newton_schulz(u)
        p = p * (1 - lr * wd) - lr * scale * O
        out.append(p.copy())
    return out


def inv_root(S, eps):
    w, V = np.linalg.eigh((S + S.T) / 2)
    ridge = eps * w.max()
    return V @ np.diag((np.maximum(w, 0) + ridge) ** -0.25) @ V.T


def shampoo(p, grads, block, lr=1e-2, mu=0.9, eps=1e-6, meps=1e-12, wd=0.0, nesterov=True, every=1):
    rows, cols = p.shape
    rs = [(i, min(block, rows - i)) for i in range(0, rows, block)]
    cs = [(j, min(block, cols - j)) for j in range(0, cols, block)]
    L = {(i, j): meps * np.eye(nr) for i, nr in rs for j, nc in cs}
    R = {(i, j): meps * np.eye(nc) for i, nr in rs for j, nc in cs}
    PL = {k: np.eye(L[k].shape[0]) for k in L}; PR = {k: np.eye(R[k].shape[0]) for k in R}
    a = np.zeros_like(p); M = np.zeros_like(p); out = []
    for t, g in enumerate(grads, 1):
        a = a + g * g
        graft = g / (np.sqrt(a) + eps)
        S = np.zeros_like(p)
        for i, nr in rs:
            for j, nc in cs:
                gb = g[i:i + nr, j:j + nc]
                L[i, j] = L[i, j] + gb @ gb.T
                R[i, j] = R[i, j] + gb.T @ gb
                if t % every == 0:
                    PL[i, j] = inv_root(L[i, j], meps); PR[i, j] = inv_root(R[i, j], meps)
                S[i:i + nr, j:j + nc] = PL[i, j] @ gb @ PR[i, j]
        S = S * np.linalg.norm(graft) / (np.linalg.norm(S) + 1e-16)
        d = S + wd * p
        M = mu * M + d
        p = p - lr * (mu * M + d if nesterov else M)
        out.append(p.copy())
    return out


def shampoo_vector(p, grads, lr=1e-2, mu=0.9, eps=1e-6, nesterov=True):
    a = np.zeros_like(p); M = np.zeros_like(p); out = []
    for g in grads:
        a = a + g * g
        S = g * np.linalg.norm(g / (np.sqrt(a) + eps)) / (np.linalg.norm(g) + 1e-16)
        M = mu * M + S
        p = p - lr * (mu * M + S if nesterov else M)
        out.append(p.copy())
    return out


if __name__ == "__main__":
    print("adadelta, p0 = 1, g = 0.5, -1, 2 (lr 1, rho 0.9, eps 1e-6)")
    show("  p", adadelta(np.array([1.0]), [np.array([0.5]), np.array([-1.0]), np.array([2.0])]))
    print("adadelta with wd 0.1, lr 0.5, rho 0.5, eps 1e-3: p0 = 2, g = 1, 1, 1")
    show("  p", adadelta(np.array([2.0]), [np.array([1.0])] * 3, lr=0.5, rho=0.5, eps=1e-3, wd=0.1))

    W0 = np.array([[0.5, -0.2, 0.1], [0.3, 0.4, -0.6]])
    GW = [np.array([[0.1, -0.3, 0.2], [0.05, 0.4, -0.1]]), np.array([[-0.2, 0.1, 0.3], [0.2, -0.1, 0.05]]),
          np.array([[0.3, 0.2, -0.1], [-0.4, 0.1, 0.2]])]
    b0 = np.array([0.1, -0.2, 0.0005])
    gb = [np.array([0.3, -0.1, 0.2]), np.array([0.1, 0.2, -0.3]), np.array([-0.2, 0.05, 0.1])]
    print("adafactor (defaults), W0 2x3 and b0 as in the C test")
    show("  W after 1", adafactor(W0, GW)[0]); show("  W after 3", adafactor(W0, GW)[2])
    show("  b after 3", adafactor(b0, gb)[2])
    print("adafactor, lr 0.5 (rho_t = 1/sqrt(t)), wd 0.1, d 1.5, decay -0.5")
    show("  W after 3", adafactor(W0, GW, lr=0.5, wd=0.1, d=1.5, decay=-0.5)[2])

    print("lamb (lr 1e-2, wd 0.01 on W, 0 on b): W adapted, b not")
    show("  W after 3", lamb(W0, GW, True, lr=1e-2)[2])
    show("  b after 3", lamb(b0, gb, False, lr=1e-2, wd=0.0)[2])
    show("  10 W after 3", lamb(10 * W0, GW, True, lr=1e-2)[2])
    show("  10 W after 3, trust clip", lamb(10 * W0, GW, True, lr=1e-2, clip=True)[2])

    print("lars (lr 1, momentum 0.9, eta 1e-3, wd 1e-2 on W)")
    show("  W after 3", lars(W0, GW, True, wd=1e-2)[2])
    show("  b after 3", lars(b0, gb, False)[2])
    show("  W after 3, nesterov", lars(W0, GW, True, wd=1e-2, nesterov=True)[2])
    show("  W after 3, LARC (lr 0.1)", lars(W0, GW, True, lr=0.1, wd=1e-2, larc=True)[2])
    show("  W after 3, LARC (lr 0.1, eta 1: clipped)", lars(W0, GW, True, lr=0.1, eta=1, wd=1e-2, larc=True)[2])

    print("lookahead (k 2, alpha 0.5) around sgd (lr 0.1, momentum 0.9), p0 = 1, g = 1 x 5")
    show("  p", lookahead(np.array([1.0]), [np.array([1.0])] * 5, sgd_momentum(0.1, 0.9), k=2))

    print("muon (lr 0.02, momentum 0.95, nesterov, wd 0.1): W 2x3 (wide) and its transpose (tall)")
    show("  W after 3", muon(W0, GW, lr=0.02)[2])
    show("  W^T after 3", muon(W0.T.copy(), [g.T.copy() for g in GW], lr=0.02)[2])
    show("  W after 3, match_rms_adamw, no nesterov",
         muon(W0, GW, lr=0.02, nesterov=False, adjust="match_rms_adamw")[2])

    print("shampoo (lr 1e-2, momentum 0.9, nesterov, block 4): W 2x3 in one block, b a vector")
    show("  W after 1", shampoo(W0, GW, 4)[0]); show("  W after 3", shampoo(W0, GW, 4)[2])
    show("  b after 3", shampoo_vector(b0, gb)[2])
    W5 = np.arange(15, dtype=float).reshape(5, 3) / 10 - 0.7
    G5 = [np.sin(np.arange(15) * (k + 1.3)).reshape(5, 3) for k in range(3)]
    print("shampoo, block 2 (blocks of rows 2,2,1 x cols 2,1), roots every 2 steps, wd 0.01, no nesterov")
    show("  W5 after 3", shampoo(W5, G5, 2, every=2, wd=0.01, nesterov=False)[2])
