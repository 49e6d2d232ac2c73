/* rows.h: the functions of the optimizer rows that live outside rules.c (one file per kind:
 * adadelta.c, adafactor.c, rules_pertensor.c for lamb and lars, muon.c, shampoo.c,
 * lookahead.c), and the arithmetic they share. rules.c's table names them. */
#ifndef OPTIM_ROWS_H
#define OPTIM_ROWS_H

#include "optim/optim.h"

#include <math.h>

/* A per-tensor row's entries in the table: no slots, its step and its state. */
#define PER_TENSOR(step, spec) NULL, NULL, NULL, step, spec

/* PyTorch's lerp (ATen's CPU kernel): a + w (b - a) when |w| < 0.5, else b - (b - a)(1 - w),
 * so the result is exactly a at w = 0 and exactly b at w = 1. */
static inline float torch_lerp(float a, float b, float w) {
    return fabsf(w) < 0.5f ? a + w * (b - a) : b - (b - a) * (1.0f - w);
}

/* SGD's update (torch.optim.SGD) on the step d = (g + wd p) scale, for SGD (scale 1: the
 * product is exact) and LARS (its trust ratio): with momentum mu != 0, b <- d on the first
 * step, else b <- mu b + damp d, and d <- d + mu b (nesterov) or b; then p <- p - lr d.
 * The flags are loop-invariant locals, so the loop vectorises (with blends). */
static inline void sgd_update(long n, float *p, const float *g, float *b, float wd, float scale,
                              float mu, float damp, int nesterov, int first, float lr) {
    if (mu == 0.0f) {
        _Pragma("omp simd")
        for (long i = 0; i < n; i++) p[i] -= lr * ((g[i] + wd * p[i]) * scale);
        return;
    }
    _Pragma("omp simd")
    for (long i = 0; i < n; i++) {
        float d = (g[i] + wd * p[i]) * scale;
        float bi = first ? d : mu * b[i] + damp * d;
        b[i] = bi;
        p[i] -= lr * (nesterov ? d + mu * bi : bi);
    }
}

/* sum of x[i]^2 in double, in index order (a fixed order: the same bits for any threads) */
double sum_squares(const float *x, long n);

/* Fills one state entry: name, shape [d0] (ndim 1) or [d0, d1]. */
void state_entry(OptState *s, const char *name, int ndim, int d0, int d1);
/* The workspace entry of a state_spec (see OptState.workspace): n floats. */
void workspace_entry(OptState *s, long n);

void adadelta_step(const OptimHyper *h, long n, float *p, const float *g, float *const *state,
                   long t, float lr, float wd);

void adafactor_step(Optim *o, const OptimHyper *h, const OptTensor *tensor, float *p,
                    const float *g, float *const *state, long t, float lr, float wd);
int adafactor_state(const OptimHyper *h, const OptTensor *t, OptState *out);

void lamb_step(Optim *o, const OptimHyper *h, const OptTensor *tensor, float *p, const float *g,
               float *const *state, long t, float lr, float wd);
int lamb_state(const OptimHyper *h, const OptTensor *t, OptState *out);
void lars_step(Optim *o, const OptimHyper *h, const OptTensor *tensor, float *p, const float *g,
               float *const *state, long t, float lr, float wd);
int lars_state(const OptimHyper *h, const OptTensor *t, OptState *out);

void muon_step(Optim *o, const OptimHyper *h, const OptTensor *tensor, float *p, const float *g,
               float *const *state, long t, float lr, float wd);
int muon_state(const OptimHyper *h, const OptTensor *t, OptState *out);
/* Newton-Schulz orthogonalisation of the rows x cols matrix x (row-major), in place:
 * x / max(||x||_F, eps), then `steps` quintic iterations X = a X + (b A + c A^2) X with
 * A = X X^T, on the orientation with fewer rows. work: 2 rows cols + 2 min(rows, cols)^2
 * floats. */
void newton_schulz(float *x, int rows, int cols, int steps, float eps, float *work);

void shampoo_step(Optim *o, const OptimHyper *h, const OptTensor *tensor, float *p,
                  const float *g, float *const *state, long t, float lr, float wd);
int shampoo_state(const OptimHyper *h, const OptTensor *t, OptState *out);

void lookahead_step(Optim *o, const OptimHyper *h, const OptTensor *tensor, float *p,
                    const float *g, float *const *state, long t, float lr, float wd);
int lookahead_state(const OptimHyper *h, const OptTensor *t, OptState *out);
void lookahead_prepare(Optim *o, OptimHyper *h, long t);

#endif
