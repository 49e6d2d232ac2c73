/* rules.c: the update rules, one function each, and the table that names them.
 * Notation: p parameter, g gradient, t step (1-based), lr learning rate, wd weight decay.
 * Scalars (bias corrections, step sizes, and 1 - beta) are computed in double and rounded to
 * float once, as PyTorch computes them in Python floats before handing them to its float
 * kernels; element-wise arithmetic is float. */
#include "optim/optim.h"
#include "optim/closure.h"
#include "optim/rows.h"

#include <math.h>
#include <string.h>

/* SGD (torch.optim.SGD): g <- g + wd p; with momentum mu:
 *   b <- g on the first step, b <- mu b + (1 - dampening) g after;
 *   d <- g + mu b (nesterov) or b;  p <- p - lr d.  Without momentum d = g. */
static void sgd_step(const OptimHyper *h, long n, float *p, const float *g, float *const *state,
                     long t, float lr, float wd) {
    sgd_update(n, p, g, state[0], wd, 1.0f, (float)h->momentum, (float)(1.0 - h->dampening),
               h->nesterov, t == 1, lr);
}

/* Adagrad (torch.optim.Adagrad): g <- g + wd p;  s <- s + g^2 (s starts at
 * --initial-accumulator);  p <- p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps). */
static void adagrad_step(const OptimHyper *h, long n, float *p, const float *g,
                         float *const *state, long t, float lr, float wd) {
    float *s = state[0], eps = (float)h->eps, init = (float)h->initial_accumulator;
    float clr = (float)(lr / (1.0 + (double)(t - 1) * h->lr_decay));
    _Pragma("omp simd")
    for (long i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        s[i] = (t == 1 ? init : s[i]) + gi * gi;
        p[i] -= clr * (gi / (sqrtf(s[i]) + eps));
    }
}

/* RMSprop (torch.optim.RMSprop): g <- g + wd p;  v <- alpha v + (1 - alpha) g^2;
 *   centered: a <- alpha a + (1 - alpha) g, d = sqrt(v - a^2) + eps; else d = sqrt(v) + eps;
 *   momentum mu > 0: b <- mu b + g / d, p <- p - lr b;  else p <- p - lr g / d. */
static void rmsprop_step(const OptimHyper *h, long n, float *p, const float *g,
                         float *const *state, long t, float lr, float wd) {
    (void)t;
    float alpha = (float)h->alpha, one_alpha = (float)(1.0 - h->alpha), eps = (float)h->eps;
    float mu = (float)h->momentum;
    float *v = state[0], *a = state[1], *b = state[2];
    _Pragma("omp simd")
    for (long i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        v[i] = alpha * v[i] + one_alpha * (gi * gi);
        float d;
        if (h->centered) {
            a[i] = alpha * a[i] + one_alpha * gi;
            d = sqrtf(v[i] - a[i] * a[i]) + eps;
        } else {
            d = sqrtf(v[i]) + eps;
        }
        if (mu > 0.0f) {
            b[i] = mu * b[i] + gi / d;
            p[i] -= lr * b[i];
        } else {
            p[i] -= lr * (gi / d);
        }
    }
}

/* Adam core (torch.optim.Adam, single-tensor path), after AdamW's decoupled decay
 * p <- keep p (keep = 1 - lr wd, or 1) and with an L2 term wd_l2 p added to g:
 *   m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,  amsgrad: vmax <- max(vmax, v)
 *   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v or vmax) / sqrt(1 - b2^t) + eps)
 * One pass over memory does both the decay and the update; the arithmetic is the same, in
 * the same order, as the two passes PyTorch makes (keep p is rounded before it is used). */
typedef struct {
    float b1, b2, a1, a2, eps, step_size, bc2_sqrt, wd_l2, keep;
} AdamConsts;

static inline __attribute__((always_inline)) void adam_loop(long n, float *p, const float *g,
                                                            float *m, float *v, float *vmax,
                                                            const AdamConsts *k, int amsgrad) {
    _Pragma("omp simd")
    for (long i = 0; i < n; i++) {
        float pi = p[i] * k->keep;
        float gi = g[i] + k->wd_l2 * pi;
        m[i] = k->b1 * m[i] + k->a1 * gi;
        v[i] = k->b2 * v[i] + k->a2 * (gi * gi);
        float second = v[i];
        if (amsgrad) second = vmax[i] = vmax[i] > v[i] ? vmax[i] : v[i];
        p[i] = pi - k->step_size * (m[i] / (sqrtf(second) / k->bc2_sqrt + k->eps));
    }
}

static void adam_update(const OptimHyper *h, long n, float *p, const float *g, float *const *state,
                        long t, float lr, float wd_l2, float keep) {
    AdamConsts k = {(float)h->beta1, (float)h->beta2, (float)(1.0 - h->beta1), (float)(1.0 - h->beta2),
                    (float)h->eps, (float)(lr / (1.0 - pow(h->beta1, (double)t))),
                    (float)sqrt(1.0 - pow(h->beta2, (double)t)), wd_l2, keep};
    if (h->amsgrad) adam_loop(n, p, g, state[0], state[1], state[2], &k, 1);
    else adam_loop(n, p, g, state[0], state[1], state[2], &k, 0);
}

/* Adam: weight decay is L2, added to the gradient. */
static void adam_step(const OptimHyper *h, long n, float *p, const float *g, float *const *state,
                      long t, float lr, float wd) {
    adam_update(h, n, p, g, state, t, lr, wd, 1.0f);
}

/* 1 - lr wd, the factor of decoupled weight decay (AdamW, Lion). */
static float decay_factor(float lr, float wd) {
    return (float)(1.0 - (double)lr * wd);
}

/* AdamW (torch.optim.AdamW): decoupled decay p <- p (1 - lr wd), then Adam without L2. */
static void adamw_step(const OptimHyper *h, long n, float *p, const float *g, float *const *state,
                       long t, float lr, float wd) {
    adam_update(h, n, p, g, state, t, lr, 0.0f, decay_factor(lr, wd));
}

/* NAdam's momentum schedule mu_t = b1 (1 - 0.5 * 0.96^(t psi)), psi = --momentum-decay, and
 * the running product mu_1 ... mu_t. PyTorch keeps the product as state; it is a pure function
 * of t, so it is not saved in checkpoints. */
static double nadam_mu(const OptimHyper *h, long t) {
    return h->beta1 * (1.0 - 0.5 * pow(0.96, (double)t * h->momentum_decay));
}

/* The running product is extended by one factor per step, with that step's beta1 (as
 * PyTorch's), and recomputed from scratch when t does not follow on (a resume); only then,
 * under onecycle's beta1 cycling, are past factors taken at the current beta1.
 * o->cache_t: the step of the product, cache[0]: the product, cache[1]: the psi it used. */
static void nadam_prepare(Optim *o, OptimHyper *h, long t) {
    if (t != o->cache_t && t != o->cache_t + 1) o->cache_t = 0;
    if (o->cache_t == 0 || o->cache[1] != h->momentum_decay) {
        o->cache_t = 0;
        o->cache[0] = 1.0;
        o->cache[1] = h->momentum_decay;
    }
    while (o->cache_t < t) o->cache[0] *= nadam_mu(h, ++o->cache_t);
    h->mu_product = o->cache[0];
}

/* NAdam (torch.optim.NAdam): g <- g + wd p;  m, v as Adam;  d = sqrt(v / (1 - b2^t)) + eps;
 *   p <- p - lr (1 - mu_t) / (1 - prod mu_1..t) g / d - lr mu_{t+1} / (1 - prod mu_1..t+1) m / d */
static void nadam_step(const OptimHyper *h, long n, float *p, const float *g, float *const *state,
                       long t, float lr, float wd) {
    float b1 = (float)h->beta1, b2 = (float)h->beta2, eps = (float)h->eps;
    float a1 = (float)(1.0 - h->beta1), a2 = (float)(1.0 - h->beta2);
    double mu = nadam_mu(h, t), mu_next = nadam_mu(h, t + 1);
    double prod = h->mu_product, prod_next = prod * mu_next;
    float bc2 = (float)(1.0 - pow(h->beta2, (double)t));
    float coef_g = (float)(-(double)lr * (1.0 - mu) / (1.0 - prod));
    float coef_m = (float)(-(double)lr * mu_next / (1.0 - prod_next));
    float *m = state[0], *v = state[1];
    _Pragma("omp simd")
    for (long i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = b1 * m[i] + a1 * gi;
        v[i] = b2 * v[i] + a2 * (gi * gi);
        float d = sqrtf(v[i] / bc2) + eps;
        p[i] += coef_g * (gi / d);
        p[i] += coef_m * (m[i] / d);
    }
}

/* RAdam (torch.optim.RAdam): g <- g + wd p;  m, v as Adam;  rho_inf = 2 / (1 - b2) - 1,
 *   rho_t = rho_inf - 2 t b2^t / (1 - b2^t).  rho_t > 5: rectified Adam step
 *   p <- p - lr m / (1 - b1^t) * sqrt(1 - b2^t) / (sqrt(v) + eps) * r,
 *   r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t));
 *   otherwise the un-rectified momentum step p <- p - lr m / (1 - b1^t). */
static void radam_step(const OptimHyper *h, long n, float *p, const float *g, float *const *state,
                       long t, float lr, float wd) {
    float b1 = (float)h->beta1, b2 = (float)h->beta2, eps = (float)h->eps;
    float a1 = (float)(1.0 - h->beta1), a2 = (float)(1.0 - h->beta2);
    double bc1 = 1.0 - pow(h->beta1, (double)t), bc2 = 1.0 - pow(h->beta2, (double)t);
    double rho_inf = 2.0 / (1.0 - h->beta2) - 1.0;
    double rho_t = rho_inf - 2.0 * (double)t * pow(h->beta2, (double)t) / bc2;
    int rectified = rho_t > 5.0;
    float rect = rectified ? (float)sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
                                         ((rho_inf - 4) * (rho_inf - 2) * rho_t)) : 0.0f;
    float fbc1 = (float)bc1, sqrt_bc2 = (float)sqrt(bc2);
    float *m = state[0], *v = state[1];
    _Pragma("omp simd")
    for (long i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = b1 * m[i] + a1 * gi;
        v[i] = b2 * v[i] + a2 * (gi * gi);
        float m_hat = m[i] / fbc1;
        if (rectified) p[i] -= m_hat * lr * (sqrt_bc2 / (sqrtf(v[i]) + eps)) * rect;
        else p[i] -= m_hat * lr;
    }
}

/* Adamax (torch.optim.Adamax): g <- g + wd p;  m <- b1 m + (1 - b1) g;
 *   u <- max(b2 u, |g| + eps);  p <- p - lr / (1 - b1^t) * m / u. */
static void adamax_step(const OptimHyper *h, long n, float *p, const float *g, float *const *state,
                        long t, float lr, float wd) {
    float b1 = (float)h->beta1, b2 = (float)h->beta2, eps = (float)h->eps;
    float a1 = (float)(1.0 - h->beta1);
    float clr = (float)(lr / (1.0 - pow(h->beta1, (double)t)));
    float *m = state[0], *u = state[1];
    _Pragma("omp simd")
    for (long i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = b1 * m[i] + a1 * gi;
        float a = b2 * u[i], b = fabsf(gi) + eps;
        u[i] = a > b ? a : b;
        p[i] -= clr * (m[i] / u[i]);
    }
}

/* Lion: p <- p (1 - lr wd);  p <- p - lr sign(b1 m + (1 - b1) g);  m <- b2 m + (1 - b2) g.
 * Every coordinate moves by exactly lr (or 0 where the interpolation is 0). */
static void lion_step(const OptimHyper *h, long n, float *p, const float *g, float *const *state,
                      long t, float lr, float wd) {
    (void)t;
    float b1 = (float)h->beta1, b2 = (float)h->beta2;
    float a1 = (float)(1.0 - h->beta1), a2 = (float)(1.0 - h->beta2);
    float *m = state[0], keep = decay_factor(lr, wd);
    _Pragma("omp simd")
    for (long i = 0; i < n; i++) {
        float c = b1 * m[i] + a1 * g[i];
        p[i] = p[i] * keep - lr * (float)((c > 0.0f) - (c < 0.0f));
        m[i] = b2 * m[i] + a2 * g[i];
    }
}

/* which state slots a row uses: bit k for slot k */
static unsigned sgd_slots(const OptimHyper *h) {
    return h->momentum != 0 || h->cycled ? 1u : 0u;
}
static unsigned rmsprop_slots(const OptimHyper *h) {
    return 1u | (h->centered ? 2u : 0u) | (h->momentum > 0 || h->cycled ? 4u : 0u);
}
static unsigned adam_slots(const OptimHyper *h) {
    return 3u | (h->amsgrad ? 4u : 0u);
}

#define SGD_FLAGS "--momentum --dampening --nesterov --wd"
#define ADAM_FLAGS "--beta1 --beta2 --eps --wd --amsgrad"
#define ELEMENTWISE(slots, active, fn) slots, active, fn, NULL, NULL
const OptimDef optim_table[] = {
    {"sgd", ELEMENTWISE("momentum_buffer", sgd_slots, sgd_step), "lr=1e-3 wd=0 eps=1e-8", SGD_FLAGS,
     CYCLES_MOMENTUM, "g += wd p; b = mu b + (1-dampening) g (b = g at t=1); p -= lr (nesterov ? g + mu b : b)", NULL},
    {"momentum", ELEMENTWISE("momentum_buffer", sgd_slots, sgd_step), "lr=1e-3 wd=0 eps=1e-8 momentum=0.9",
     SGD_FLAGS, CYCLES_MOMENTUM, "sgd with momentum 0.9", NULL},
    {"nesterov", ELEMENTWISE("momentum_buffer", sgd_slots, sgd_step),
     "lr=1e-3 wd=0 eps=1e-8 momentum=0.9 nesterov=on", SGD_FLAGS, CYCLES_MOMENTUM,
     "sgd with momentum 0.9, Nesterov", NULL},
    {"adagrad", ELEMENTWISE("sum", NULL, adagrad_step), "lr=1e-2 wd=0 eps=1e-10",
     "--lr-decay --initial-accumulator --eps --wd", CYCLES_NOTHING,
     "g += wd p; s += g^2 (s0 = initial-accumulator); p -= lr/(1+(t-1) lr_decay) g/(sqrt(s)+eps)", NULL},
    {"rmsprop", ELEMENTWISE("square_avg grad_avg momentum_buffer", rmsprop_slots, rmsprop_step),
     "lr=1e-2 wd=0 eps=1e-8", "--alpha --eps --centered --momentum --wd", CYCLES_MOMENTUM,
     "g += wd p; v = alpha v + (1-alpha) g^2; d = sqrt(v [- a^2]) + eps; p -= lr g/d (or via b = mu b + g/d)", NULL},
    {"adam", ELEMENTWISE("exp_avg exp_avg_sq max_exp_avg_sq", adam_slots, adam_step), "lr=1e-3 wd=0 eps=1e-8",
     ADAM_FLAGS, CYCLES_BETA1,
     "g += wd p; m,v = EMAs of g, g^2; p -= lr/(1-b1^t) m / (sqrt(v or max v)/sqrt(1-b2^t) + eps)", NULL},
    {"adamw", ELEMENTWISE("exp_avg exp_avg_sq max_exp_avg_sq", adam_slots, adamw_step), "lr=1e-3 wd=0.01 eps=1e-8",
     ADAM_FLAGS, CYCLES_BETA1, "p *= 1 - lr wd; then the Adam step without the wd p term", NULL},
    {"amsgrad", ELEMENTWISE("exp_avg exp_avg_sq max_exp_avg_sq", adam_slots, adam_step),
     "lr=1e-3 wd=0 eps=1e-8 amsgrad=on", ADAM_FLAGS, CYCLES_BETA1,
     "adam --amsgrad: the denominator uses the running max of v", NULL},
    {"nadam", ELEMENTWISE("exp_avg exp_avg_sq", NULL, nadam_step), "lr=2e-3 wd=0 eps=1e-8",
     "--beta1 --beta2 --eps --momentum-decay --wd", CYCLES_BETA1,
     "mu_t = b1 (1 - 0.96^(t psi)/2); p -= lr (1-mu_t)/(1-prod mu) g/d + lr mu_t+1/(1-prod mu) m/d",
     nadam_prepare},
    {"radam", ELEMENTWISE("exp_avg exp_avg_sq", NULL, radam_step), "lr=1e-3 wd=0 eps=1e-8",
     "--beta1 --beta2 --eps --wd", CYCLES_BETA1,
     "rho_t > 5: Adam step scaled by the rectifier r(rho_t); else p -= lr m/(1-b1^t)", NULL},
    {"adamax", ELEMENTWISE("exp_avg exp_inf", NULL, adamax_step), "lr=2e-3 wd=0 eps=1e-8",
     "--beta1 --beta2 --eps --wd", CYCLES_BETA1,
     "m = EMA of g; u = max(b2 u, |g| + eps); p -= lr/(1-b1^t) m/u", NULL},
    {"lion", ELEMENTWISE("exp_avg", NULL, lion_step), "lr=1e-4 wd=0 eps=1e-8 beta2=0.99",
     "--beta1 --beta2 --wd", CYCLES_BETA1,
     "p *= 1 - lr wd; p -= lr sign(b1 m + (1-b1) g); m = b2 m + (1-b2) g", NULL},
    {"adadelta", ELEMENTWISE("square_avg acc_delta", NULL, adadelta_step), "lr=1 wd=0 eps=1e-6",
     "--rho --eps --wd", CYCLES_NOTHING,
     "g += wd p; v = rho v + (1-rho) g^2; d = sqrt(u + eps)/sqrt(v + eps) g; u = rho u + (1-rho) d^2; p -= lr d",
     NULL},
    {"adafactor", PER_TENSOR(adafactor_step, adafactor_state), "lr=1e-2 wd=0 eps=1.1920928955078125e-07",
     "--beta2-decay --eps --eps2 --clip-threshold --wd", CYCLES_NOTHING,
     "p *= 1 - lr wd; V = factored EMA of g^2 (rows, cols), beta2_t = 1 - t^decay; U = g/sqrt(V); "
     "p -= max(eps2, RMS(p)) min(lr, t^-1/2) U / max(1, RMS(U)/d)", NULL},
    {"lamb", PER_TENSOR(lamb_step, lamb_state), "lr=1e-3 wd=0.01 eps=1e-6", "--beta1 --beta2 --eps --wd --trust-clip",
     CYCLES_BETA1, "u = Adam direction + wd p; weights: u *= ||p|| / ||u||; p -= lr u", NULL},
    {"lars", PER_TENSOR(lars_step, lars_state), "lr=1 wd=0 eps=1e-8 momentum=0.9",
     "--momentum --dampening --nesterov --trust-coeff --trust-clip --eps --wd", CYCLES_MOMENTUM,
     "d = g + wd p; weights: d *= eta ||p|| / (||g|| + wd ||p|| + eps); sgd momentum on d", NULL},
    {"lookahead", PER_TENSOR(lookahead_step, lookahead_state), "lr=1e-3 wd=0.01 eps=1e-8",
     "--inner --lookahead-k --lookahead-alpha", CYCLES_INNER,
     "the --inner optimizer's step (its flags and defaults apply); every k steps slow += alpha (p - slow), p = slow",
     lookahead_prepare},
    {"muon", PER_TENSOR(muon_step, muon_state), "lr=1e-3 wd=0.1 eps=1e-8 momentum=0.95 nesterov=on",
     "--momentum --nesterov --ns-steps --ns-eps --muon-adjust --beta1 --beta2 --eps --wd", CYCLES_MOMENTUM,
     "2-D weights: B = lerp(B, g, 1-mu); O = NewtonSchulz5(nesterov ? lerp(g, B, mu) : B); "
     "p *= 1 - lr wd; p -= lr sqrt(max(1, rows/cols)) O; other tensors: adamw", NULL},
    {"shampoo", PER_TENSOR(shampoo_step, shampoo_state), "lr=1e-2 wd=0 eps=1e-6 momentum=0.9 nesterov=on",
     "--momentum --nesterov --block --precond-every --matrix-eps --eps --wd", CYCLES_MOMENTUM,
     "per block L += G G^T, R += G^T G; S = L^-1/4 G R^-1/4 scaled to ||adagrad step||; "
     "M = mu M + S + wd p; p -= lr (nesterov ? mu M + S + wd p : M)", NULL},
    {"lbfgs", NULL, NULL, NULL, NULL, NULL, "lr=1 wd=0 eps=1e-8 schedule=constant",
     "--max-iter --max-eval --history-size --tolerance-grad --tolerance-change --line-search", CYCLES_NOTHING,
     "per step up to max-iter iterations on its batch: d = -H g (two-loop recursion), p += t d (t = lr or strong Wolfe)",
     NULL},
    {"sf-adamw", ELEMENTWISE("z exp_avg_sq", NULL, sf_adamw_step), "lr=2.5e-3 wd=0 eps=1e-8 schedule=constant",
     "--beta1 --beta2 --eps --wd --weight-step-power --weight-lr-power", CYCLES_NOTHING,
     "u = g/(sqrt(v/(1-b2^t))+eps) + wd y; y = lerp(y,z,c) + lr (b1 (1-c) - 1) u; z -= lr u; evaluated at x",
     sf_prepare},
    {"sf-sgd", ELEMENTWISE("z", NULL, sf_sgd_step), "lr=1 wd=0 eps=1e-8 momentum=0.9 schedule=constant",
     "--momentum --wd --weight-step-power --weight-lr-power", CYCLES_NOTHING,
     "u = g + wd y; y = lerp(y,z,c) + lr (mu (1-c) - 1) u; z -= lr u; evaluated at x = lerp(y,z,1-1/mu)",
     sf_prepare},
    {"sophia", ELEMENTWISE("exp_avg hessian", NULL, sophia_step), "lr=1e-4 wd=0.1 eps=1e-15 beta1=0.965 beta2=0.99 rho=0.04",
     "--beta1 --beta2 --eps --wd --rho --hess-every", CYCLES_BETA1,
     "p *= 1 - lr wd; m = EMA of g; p -= lr sign(m) min(|m|/(rho bs h + eps), 1); every k steps h = EMA of ghat^2",
     NULL},
};
const int optim_count = sizeof optim_table / sizeof optim_table[0];
