/* adadelta.c: Adadelta (Zeiler 2012) as torch.optim.Adadelta computes it, and the helpers the
 * rows outside rules.c share. */
#include "optim/rows.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

double sum_squares(const float *x, long n) {
    double s = 0;
    for (long i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

void state_entry(OptState *s, const char *name, int ndim, int d0, int d1) {
    snprintf(s->name, sizeof s->name, "%s", name);
    s->ndim = ndim;
    s->shape[0] = d0;
    s->shape[1] = ndim == 2 ? d1 : 0;
    s->size = ndim == 2 ? (long)d0 * d1 : d0;
    s->workspace = 0;
}

void workspace_entry(OptState *s, long n) {
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "workspace");
    s->size = n;
    s->workspace = 1;
}

/* Adadelta: g <- g + wd p;  v <- rho v + (1 - rho) g^2;
 *   d = sqrt(u + eps) / sqrt(v + eps) * g;  u <- rho u + (1 - rho) d^2;  p <- p - lr d.
 * v is square_avg, u acc_delta (PyTorch's names); the order of the float operations is
 * PyTorch's: std = (v + eps).sqrt(), d = (u + eps).sqrt() / std * g. */
void adadelta_step(const OptimHyper *h, long n, float *p, const float *g, float *const *state,
                   long t, float lr, float wd) {
    (void)t;
    float rho = (float)h->rho, one_rho = (float)(1.0 - h->rho), eps = (float)h->eps;
    float *v = state[0], *u = state[1];
    _Pragma("omp simd")
    for (long i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        v[i] = v[i] * rho + one_rho * gi * gi;   /* addcmul: value * g * g */
        float d = sqrtf(u[i] + eps) / sqrtf(v[i] + eps) * gi;
        u[i] = u[i] * rho + one_rho * d * d;
        p[i] -= lr * d;
    }
}
