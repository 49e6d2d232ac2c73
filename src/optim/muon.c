/* muon.c: Muon (Jordan et al. 2024) as torch.optim.Muon computes it, for every 2-D weight;
 * every other tensor (biases, norm gains) is updated by AdamW with its own state, as the
 * Muon authors pair it. For a rows x cols weight:
 *   B <- lerp(B, g, 1 - mu)                                  (momentum_buffer)
 *   U = nesterov ? lerp(g, B, mu) : B
 *   O = NS5(U): U / max(||U||_F, eps), then 5 quintic Newton-Schulz iterations
 *       X <- a X + (b A + c A^2) X,  A = X X^T,  (a, b, c) = (3.4445, -4.7750, 2.0315)
 *   p <- p (1 - lr wd);  p <- p - lr s O,  s = sqrt(max(1, rows / cols))  ("original")
 *                                       or 0.2 sqrt(max(rows, cols))     (match_rms_adamw)
 * The iteration runs in float32 through the project's GEMM (PyTorch runs it in bfloat16). */
#include "optim/rows.h"
#include "kernels/kernels.h"

#include <math.h>
#include <string.h>

#define NS_A 3.4445f
#define NS_B (-4.7750f)
#define NS_C 2.0315f

static int orthogonalised(const OptTensor *t) {
    return t->ndim == 2 && t->role == ROLE_WEIGHT;
}

void newton_schulz(float *x, int rows, int cols, int steps, float eps, float *work) {
    int wide = rows <= cols, m = wide ? rows : cols, n = wide ? cols : rows;
    long mn = (long)m * n;
    float *X = work, *next = X + mn, *A = next + mn, *B = A + (long)m * m;
    if (wide) {
        memcpy(X, x, sizeof(float) * (size_t)mn);
    } else {   /* X = x^T: the Gram matrices are then min(rows, cols) square */
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) X[(long)j * rows + i] = x[(long)i * cols + j];
    }
    float norm = (float)sqrt(sum_squares(X, mn));
    if (norm < eps) norm = eps;
    for (long i = 0; i < mn; i++) X[i] /= norm;
    for (int s = 0; s < steps; s++) {
        sgemm(0, 1, m, m, n, 1.0f, X, n, X, n, 0.0f, A, m);        /* A = X X^T */
        sgemm(0, 0, m, m, m, NS_C, A, m, A, m, 0.0f, B, m);        /* B = c A A */
        for (long i = 0; i < (long)m * m; i++) B[i] = NS_B * A[i] + B[i];
        sgemm(0, 0, m, n, m, 1.0f, B, m, X, n, 0.0f, next, n);     /* B X */
        for (long i = 0; i < mn; i++) next[i] = NS_A * X[i] + next[i];
        float *swap = X; X = next; next = swap;
    }
    if (wide) {
        memcpy(x, X, sizeof(float) * (size_t)mn);
    } else {
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) x[(long)i * cols + j] = X[(long)j * rows + i];
    }
}

/* 2-D weights: momentum_buffer, and a workspace for U and the iteration; other tensors:
 * AdamW's exp_avg and exp_avg_sq. */
int muon_state(const OptimHyper *h, const OptTensor *t, OptState *out) {
    (void)h;
    if (!orthogonalised(t)) {
        state_entry(&out[0], "exp_avg", t->ndim, t->shape[0], t->shape[1]);
        state_entry(&out[1], "exp_avg_sq", t->ndim, t->shape[0], t->shape[1]);
        return 2;
    }
    long m = t->shape[0] < t->shape[1] ? t->shape[0] : t->shape[1];
    state_entry(&out[0], "momentum_buffer", 2, t->shape[0], t->shape[1]);
    workspace_entry(&out[1], 3 * t->size + 2 * m * m);
    return 2;
}

void muon_step(Optim *o, const OptimHyper *h, const OptTensor *tensor, float *p, const float *g,
               float *const *state, long t, float lr, float wd) {
    long n = tensor->size;
    if (!orthogonalised(tensor)) {   /* torch.optim.AdamW, as the adamw row */
        OptimHyper adam = *h;
        adam.amsgrad = 0;
        float *slots[OPTIM_MAX_STATE] = {state[0], state[1], NULL};
        optim_find("adamw")->step(&adam, n, p, g, slots, t, lr, wd);
        return;
    }
    int rows = tensor->shape[0], cols = tensor->shape[1];
    float *buf = state[0], *u = o->scratch;
    float mu = (float)h->momentum, w = (float)(1.0 - h->momentum);
    for (long i = 0; i < n; i++) {
        buf[i] = torch_lerp(buf[i], g[i], w);
        u[i] = h->nesterov ? torch_lerp(g[i], buf[i], mu) : buf[i];
    }
    newton_schulz(u, rows, cols, h->ns_steps, (float)h->ns_eps, u + n);
    double scale = h->muon_adjust == MUON_ADJUST_MATCH_RMS_ADAMW
                       ? 0.2 * sqrt((double)(rows > cols ? rows : cols))
                       : sqrt(fmax(1.0, (double)rows / cols));
    float keep = (float)(1.0 - (double)lr * wd), step = (float)(-(double)lr * scale);
    for (long i = 0; i < n; i++) p[i] *= keep;
    for (long i = 0; i < n; i++) p[i] += step * u[i];
}
