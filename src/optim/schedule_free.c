/* schedule_free.c: schedule-free AdamW and SGD (Defazio et al. 2024), as the authors'
 * reference implementation (facebookresearch/schedule_free: AdamWScheduleFree,
 * SGDScheduleFree; without the optional inner momentum).
 *
 * Three sequences: z takes the base optimizer's steps, x is a weighted average of the z's,
 * and the gradient is taken at y = (1 - beta) z + beta x, which is what the network holds
 * while training (p = y). Step k (0-based; t = k + 1 here):
 *   lr_k = the step's lr (--warmup gives the reference's warmup_steps: lr (k + 1) / W)
 *   lr_max = max(lr_max, lr_k);  weight = (k + 1)^r lr_max^weight_lr_power
 *   weight_sum += weight;  c = weight / weight_sum (0 when the sum is 0)
 *   sf-adamw:  v = b2 v + (1 - b2) g^2;  u = g / (sqrt(v / (1 - b2^(k+1))) + eps)
 *   sf-sgd:    u = g
 *   u += wd y (weight decay taken at y);  y = lerp(y, z, c);
 *   y += lr (beta (1 - c) - 1) u;  z -= lr u
 * with beta = beta1 (sf-adamw) or momentum (sf-sgd), and z = y before the first step. These
 * move y to (1 - beta) z_{k+1} + beta x_{k+1} without storing x, where x_{k+1} = (1 - c) x_k
 * + c z_{k+1}. Evaluation and checkpoints use x = lerp(y, z, 1 - 1/beta) (the reference's
 * eval()). Scalars: k, weight_sum, lr_max; state: z (and exp_avg_sq). */
#include "optim/closure.h"
#include "optim/rows.h"

#include <math.h>

enum { K, WEIGHT_SUM, LR_MAX };

void sf_prepare(Optim *o, OptimHyper *h, long t) {
    double *sc = o->scalars;
    sc[LR_MAX] = h->lr > sc[LR_MAX] ? h->lr : sc[LR_MAX];
    double weight = pow((double)t, h->r) * pow(sc[LR_MAX], h->weight_lr_power);
    sc[WEIGHT_SUM] += weight;
    h->ckp1 = sc[WEIGHT_SUM] != 0 ? weight / sc[WEIGHT_SUM] : 0;
    sc[K] = (double)t;
}

/* The y and z updates shared by both: u is the step direction before weight decay. */
static inline __attribute__((always_inline)) void sf_update(float *y, float *z, float u, float wd,
                                                            float ckp1, float y_coef, float lr) {
    u += wd * *y;
    *y = torch_lerp(*y, *z, ckp1);
    *y += y_coef * u;
    *z -= lr * u;
}

/* lr (beta (1 - c) - 1), the coefficient of u in y's update */
static float y_coefficient(const OptimHyper *h, double beta, float lr) {
    return (float)((double)lr * (beta * (1.0 - h->ckp1) - 1.0));
}

void sf_adamw_step(const OptimHyper *h, long n, float *p, const float *g, float *const *state,
                   long t, float lr, float wd) {
    float *z = state[0], *v = state[1];
    float b2 = (float)h->beta2, a2 = (float)(1.0 - h->beta2), eps = (float)h->eps;
    float bc2 = (float)(1.0 - pow(h->beta2, (double)t)), ckp1 = (float)h->ckp1;
    float y_coef = y_coefficient(h, h->beta1, lr);
    for (long i = 0; i < n; i++) {
        if (t == 1) z[i] = p[i];
        v[i] = v[i] * b2 + a2 * g[i] * g[i];
        float u = g[i] / (sqrtf(v[i] / bc2) + eps);
        sf_update(&p[i], &z[i], u, wd, ckp1, y_coef, lr);
    }
}

void sf_sgd_step(const OptimHyper *h, long n, float *p, const float *g, float *const *state,
                 long t, float lr, float wd) {
    float *z = state[0], ckp1 = (float)h->ckp1, y_coef = y_coefficient(h, h->momentum, lr);
    for (long i = 0; i < n; i++) {
        if (t == 1) z[i] = p[i];
        sf_update(&p[i], &z[i], g[i], wd, ckp1, y_coef, lr);
    }
}

/* x = lerp(y, z, 1 - 1/beta); before the first step there is no z and x = y */
static void sf_eval_point(const Optim *o, const float *params, float *out, double beta) {
    float w = (float)(1.0 - 1.0 / beta);
    int started = o->scalars[K] > 0;
    for (int s = 0; s < o->n_slices; s++) {
        const OptSlice *slice = &o->slices[s];
        const float *y = params + slice->offset, *z = slice->state[0];
        float *x = out + slice->offset;
        for (long i = 0; i < slice->size; i++) x[i] = started ? torch_lerp(y[i], z[i], w) : y[i];
    }
}

static void sf_adamw_eval_point(const Optim *o, const float *params, float *out) {
    sf_eval_point(o, params, out, o->h.beta1);
}

static void sf_sgd_eval_point(const Optim *o, const float *params, float *out) {
    sf_eval_point(o, params, out, o->h.momentum);
}

const OptimClosureRule sf_adamw_rule = {"k weight_sum lr_max", 0, NULL, NULL, NULL, NULL, sf_adamw_eval_point, NULL};
const OptimClosureRule sf_sgd_rule = {"k weight_sum lr_max", 0, NULL, NULL, NULL, NULL, sf_sgd_eval_point, NULL};
