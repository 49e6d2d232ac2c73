/* rules_pertensor.c: the layer-wise adaptive rules for large batches, LAMB and LARS. Each
 * scales a tensor's update by a trust ratio of norms taken over the whole tensor. Weights are
 * adapted; biases and norm gains are not (they take the plain update), as in timm, whose
 * optimizer factory puts them in the group without weight decay, which it does not adapt.
 * Norms are summed in double and rounded to float, as PyTorch's 0-d float tensors. */
#include "optim/rows.h"

#include <math.h>

static float norm_of(const float *x, long n) {
    return (float)sqrt(sum_squares(x, n));
}

/* LAMB (You et al. 2020, Algorithm 2; timm's Lamb without its global gradient clipping):
 *   m <- lerp(m, g, 1 - b1),  v <- b2 v + (1 - b2) g^2
 *   u = (m / (1 - b1^t)) / (sqrt(v) / sqrt(1 - b2^t) + eps) + wd p
 *   weights: u <- u ||p|| / ||u|| (1 when either norm is 0; at most 1 with --trust-clip)
 *   p <- p - lr u */
int lamb_state(const OptimHyper *h, const OptTensor *t, OptState *out) {
    (void)h;
    state_entry(&out[0], "exp_avg", t->ndim, t->shape[0], t->shape[1]);
    state_entry(&out[1], "exp_avg_sq", t->ndim, t->shape[0], t->shape[1]);
    workspace_entry(&out[2], t->size);
    return 3;
}

void lamb_step(Optim *o, const OptimHyper *h, const OptTensor *tensor, float *p, const float *g,
               float *const *state, long t, float lr, float wd) {
    long n = tensor->size;
    float *m = state[0], *v = state[1], *u = o->scratch;
    float w1 = (float)(1.0 - h->beta1), b2 = (float)h->beta2, a2 = (float)(1.0 - h->beta2);
    float eps = (float)h->eps, bc1 = (float)(1.0 - pow(h->beta1, (double)t));
    float sqrt_bc2 = (float)sqrt(1.0 - pow(h->beta2, (double)t));
    _Pragma("omp simd")
    for (long i = 0; i < n; i++) {
        m[i] = torch_lerp(m[i], g[i], w1);
        v[i] = v[i] * b2 + a2 * g[i] * g[i];
        u[i] = m[i] / bc1 / (sqrtf(v[i]) / sqrt_bc2 + eps);
        if (wd != 0) u[i] += wd * p[i];
    }
    float ratio = 1.0f;
    if (tensor->role == ROLE_WEIGHT) {
        float wn = norm_of(p, n), un = norm_of(u, n);
        if (wn > 0 && un > 0) ratio = wn / un;
        if (h->trust_clip && ratio > 1.0f) ratio = 1.0f;
    }
    _Pragma("omp simd")
    for (long i = 0; i < n; i++) p[i] += -lr * (u[i] * ratio);
}

/* LARS (You et al. 2017; timm's Lars): for weights
 *   trust = eta ||p|| / (||g|| + wd ||p|| + eps)  (1 when either norm is 0);
 *   --trust-clip (LARC): trust <- min(trust / lr, 1);  d = (g + wd p) trust
 * biases and norm gains: d = g + wd p. Then SGD's momentum on d:
 *   b <- d at t = 1, else mu b + (1 - dampening) d;  p <- p - lr (nesterov ? d + mu b : b) */
int lars_state(const OptimHyper *h, const OptTensor *t, OptState *out) {
    if (h->momentum == 0 && !h->cycled) return 0;
    state_entry(&out[0], "momentum_buffer", t->ndim, t->shape[0], t->shape[1]);
    return 1;
}

void lars_step(Optim *o, const OptimHyper *h, const OptTensor *tensor, float *p, const float *g,
               float *const *state, long t, float lr, float wd) {
    (void)o;
    long n = tensor->size;
    float trust = 1.0f;
    if (tensor->role == ROLE_WEIGHT) {
        float wn = norm_of(p, n), gn = norm_of(g, n);
        if (wn > 0 && gn > 0) trust = (float)h->trust_coeff * wn / (gn + wn * wd + (float)h->eps);
        if (h->trust_clip) trust = fminf(trust / lr, 1.0f);
    }
    float scale = tensor->role == ROLE_WEIGHT ? trust : 1.0f;
    sgd_update(n, p, g, state[0], wd, scale, (float)h->momentum, (float)(1.0 - h->dampening),
               h->nesterov, t == 1, lr);
}
