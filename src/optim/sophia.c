/* sophia.c: Sophia-G (Liu et al. 2023), as the authors' sophia.py (SophiaG: lr 1e-4, betas
 * 0.965/0.99, rho 0.04, weight decay 0.1, eps 1e-15) and its training loop (a curvature
 * estimate every k = 10 steps).
 *
 * Every step, element-wise:
 *   p *= 1 - lr wd;  m = b1 m + (1 - b1) g
 *   p -= lr sign(m) min(|m| / (rho bs h + eps), 1)
 * where bs is the number of examples in a step (the reference's bs: tokens per batch) and h
 * the curvature estimate. After every k-th update (t % k == 0), on the same batch at the
 * updated weights, the Gauss-Newton-Bartlett estimator: labels y^ drawn from the model's own
 * softmax, g^ the gradient of their mean cross-entropy (closure.h), and
 *   h = b2 h + (1 - b2) g^ * g^
 * (the paper's estimate is bs g^ * g^: the reference keeps bs in the denominator instead).
 * Until the first estimate h = 0 and every coordinate moves by lr sign(m). State: exp_avg,
 * hessian; the sampling stream is the optimizer's (checkpointed). */
#include "optim/closure.h"

#include <math.h>

void sophia_step(const OptimHyper *h, long n, float *p, const float *g, float *const *state,
                 long t, float lr, float wd) {
    (void)t;
    float *m = state[0], *hess = state[1];
    float b1 = (float)h->beta1, a1 = (float)(1.0 - h->beta1), eps = (float)h->eps;
    float keep = (float)(1.0 - (double)lr * wd), rho_bs = (float)(h->rho * (double)h->examples);
    for (long i = 0; i < n; i++) {
        p[i] *= keep;
        m[i] = m[i] * b1 + a1 * g[i];
        float ratio = fabsf(m[i]) / (rho_bs * hess[i] + eps);
        if (ratio > 1.0f) ratio = 1.0f;
        float sign = (float)((m[i] > 0.0f) - (m[i] < 0.0f));
        p[i] += -lr * sign * ratio;
    }
}

static void sophia_after_step(Optim *o, const OptimHyper *h, float *params, long t, float lr) {
    (void)params; (void)lr;
    if (t % h->hess_every != 0) return;
    o->closure->sampled_grad(o->closure->ctx, &o->rng);
    const float *g = o->closure->grads;
    float b2 = (float)h->beta2, a2 = (float)(1.0 - h->beta2);
    for (int s = 0; s < o->n_slices; s++) {
        const OptSlice *slice = &o->slices[s];
        float *hess = slice->state[1];
        const float *gs = g + slice->offset;
        for (long i = 0; i < slice->size; i++) hess[i] = hess[i] * b2 + a2 * gs[i] * gs[i];
    }
}

const OptimClosureRule sophia_rule = {"", 1, NULL, NULL, NULL, sophia_after_step, NULL, NULL};
