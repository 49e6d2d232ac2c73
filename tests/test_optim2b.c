/* L-BFGS, schedule-free AdamW and SGD, Sophia-G and the weight averages against numbers from
 * float64 references (quoted with each test), and what they keep for exact resume. The
 * optimizers run through optim_step with a closure of the test's own (a function of the
 * parameters), as the trainer's closure evaluates the network. */
#include "test.h"
#include "optim/average.h"
#include "optim/closure.h"
#include "optim/flat.h"
#include "optim/rows.h"
#include "run/group.h"

#include <stdlib.h>

/* ---- a closure over a function of a few parameters: f and its gradient, in double */
typedef struct {
    float *p, *g;
    int n, evals;
    double (*f)(const float *p, double *grad);
} Fn;

static double fn_loss_grad(void *ctx) {
    Fn *fn = ctx;
    double grad[8], f = fn->f(fn->p, grad);
    for (int i = 0; i < fn->n; i++) fn->g[i] = (float)grad[i];
    fn->evals++;
    return f;
}

/* f = x'Ax/2 - b'x + 0.025 sum x^4, A = [[3,1,0],[1,2,.5],[0,.5,1]], b = (1,-2,.5): convex */
static double quartic(const float *p, double *g) {
    static const double A[3][3] = {{3, 1, 0}, {1, 2, .5}, {0, .5, 1}}, b[3] = {1, -2, .5};
    double f = 0;
    for (int i = 0; i < 3; i++) {
        double ax = 0;
        for (int j = 0; j < 3; j++) ax += A[i][j] * p[j];
        f += 0.5 * p[i] * ax - b[i] * p[i] + 0.025 * pow(p[i], 4);
        g[i] = ax - b[i] + 0.1 * pow(p[i], 3);
    }
    return f;
}

/* a scaled Rosenbrock function, (1 - x)^2 + 10 (y - x^2)^2 */
static double rosenbrock(const float *p, double *g) {
    double x = p[0], y = p[1];
    g[0] = -2 * (1 - x) - 40 * x * (y - x * x);
    g[1] = 20 * (y - x * x);
    return (1 - x) * (1 - x) + 10 * (y - x * x) * (y - x * x);
}

static OptimHyper defaults(void) {
    OptimHyper h = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .max_iter = 20, .max_eval = 25,
                    .history_size = 100, .tolerance_grad = 1e-7, .tolerance_change = 1e-9,
                    .weight_lr_power = 2, .rho = 0.04, .hess_every = 10, .seed = 1};
    return h;
}

/* An optimizer of row `name` over one weight tensor of n elements. */
static void make_optim(Optim *o, const char *name, const OptimHyper *h, int n) {
    OptTensor t = {"w", 1, {n, 0}, ROLE_WEIGHT, 0, n};
    optim_init(o, optim_find(name), h, &t, 1, n);
}

/* Three L-BFGS steps of torch.optim.LBFGS in float64 (PyTorch 1.13):
 *   x = torch.tensor(x0, requires_grad=True); o = torch.optim.LBFGS([x], **kw)
 *   def closure(): o.zero_grad(); l = f(x); l.backward(); return l
 *   for step in range(3): l = o.step(closure); print(l, x, o.state[x]["n_iter"], ..."func_evals")
 * quartic from (1, 1, 1), max_iter 4 (so max_eval 5), history_size 2 (the oldest pair leaves):
 *   step 1: loss 5.075         x (0.8282041098, -1.523019124, 1.021032554)  n_iter 4, func_evals 4
 *   step 2: loss -2.380486426  x (0.8201311752, -1.515531021, 1.118079888)  n_iter 8, func_evals 8
 *   step 3: loss -2.38733608   x (0.8201135416, -1.515521331, 1.118033855)  n_iter 10, func_evals 10
 *   (step 3 stops after 2 iterations: |loss - prev_loss| < tolerance_change) */
static void test_lbfgs_against_torch(void) {
    static const double x[3][3] = {{0.8282041098, -1.523019124, 1.021032554},
                                   {0.8201311752, -1.515531021, 1.118079888},
                                   {0.8201135416, -1.515521331, 1.118033855}};
    static const double loss[3] = {5.075, -2.380486426, -2.38733608};
    static const int n_iter[3] = {4, 8, 10}, evals[3] = {4, 8, 10};
    OptimHyper h = defaults();
    h.max_iter = 4;
    h.max_eval = 5;
    h.history_size = 2;
    Optim o;
    make_optim(&o, "lbfgs", &h, 3);
    float p[3] = {1, 1, 1}, g[3];
    Fn fn = {p, g, 3, 0, quartic};
    OptimClosure c = {fn_loss_grad, NULL, &fn, g, 0};
    o.closure = &c;
    for (int step = 0; step < 3; step++) {
        c.loss = fn_loss_grad(&fn);   /* the trainer's evaluation, then the step */
        CHECK_NEAR(c.loss, loss[step], 1e-6);
        optim_step(&o, p, g, step + 1, 1.0f, NAN);
        for (int i = 0; i < 3; i++) CHECK_NEAR(p[i], x[step][i], 2e-6);
        CHECK(o.scalars[1] == n_iter[step] && o.scalars[0] == evals[step]);
    }
    CHECK(o.scalars[5] == 2);   /* the history holds two pairs */
    optim_free(&o);
}

/* The same with the strong Wolfe line search on the Rosenbrock function from (-1.2, 1),
 * max_iter 6 (max_eval 7: step 1 stops on it), history_size 3, line_search_fn="strong_wolfe":
 *   step 1: loss 6.776         x (-0.6258974915, 0.1815196327)  n_iter 5, func_evals 7
 *   step 2: loss 3.085500929   x (0.3509215992, 0.05673486358)  n_iter 10, func_evals 14
 *   step 3: loss 0.4654071194  x (0.9561434316, 0.9047561823)   n_iter 15, func_evals 22,
 *   t 0.5832062315 (an interpolated step)
 * The valley amplifies rounding: PyTorch's own float32 run ends at x (0.9561978579,
 * 0.9048528671), t 0.5839482546, 1e-4 from its float64 run, hence the tolerances. */
static void test_lbfgs_strong_wolfe_against_torch(void) {
    static const double x[3][2] = {{-0.6258974915, 0.1815196327}, {0.3509215992, 0.05673486358},
                                   {0.9561434316, 0.9047561823}};
    static const double loss[3] = {6.776, 3.085500929, 0.4654071194};
    static const int n_iter[3] = {5, 10, 15}, evals[3] = {7, 14, 22};
    OptimHyper h = defaults();
    h.max_iter = 6;
    h.max_eval = 7;
    h.history_size = 3;
    h.strong_wolfe = 1;
    Optim o;
    make_optim(&o, "lbfgs", &h, 2);
    float p[2] = {-1.2f, 1}, g[2];
    Fn fn = {p, g, 2, 0, rosenbrock};
    OptimClosure c = {fn_loss_grad, NULL, &fn, g, 0};
    o.closure = &c;
    for (int step = 0; step < 3; step++) {
        c.loss = fn_loss_grad(&fn);
        CHECK_NEAR(c.loss, loss[step], 2e-5);
        optim_step(&o, p, g, step + 1, 1.0f, NAN);
        for (int i = 0; i < 2; i++) CHECK_NEAR(p[i], x[step][i], 2e-4);
        CHECK(o.scalars[1] == n_iter[step] && o.scalars[0] == evals[step]);
    }
    CHECK_NEAR(o.scalars[2], 0.5832062315, 2e-3);
    /* the closure's evaluations are the step's own plus func_evals - 1 per step */
    CHECK(fn.evals == 3 + 22 - 3);
    optim_free(&o);
}

/* A gradient at most tolerance_grad in size ends the step before any iteration, as PyTorch's
 * does (func_evals counts the evaluation, n_iter stays 0, nothing moves). */
static void test_lbfgs_optimal_at_start(void) {
    OptimHyper h = defaults();
    Optim o;
    make_optim(&o, "lbfgs", &h, 2);
    float p[2] = {1, 1}, g[2] = {5e-8f, -9e-8f};
    OptimClosure c = {fn_loss_grad, NULL, NULL, g, 0.5};
    o.closure = &c;
    optim_step(&o, p, g, 1, 1.0f, NAN);
    CHECK(p[0] == 1 && p[1] == 1 && o.scalars[0] == 1 && o.scalars[1] == 0);
    /* its state: d, prev_flat_grad, old_dirs and old_stps [100, 2], ro [100], with the first
     * tensor as PyTorch keeps it */
    CHECK(o.n_states == 5 && !strcmp(o.states[2].name, "old_dirs") && o.states[2].shape[0] == 100 &&
          o.states[2].shape[1] == 2 && o.states[4].size == 100 && o.states[0].tensor == 0);
    optim_free(&o);
}

/* Schedule-free AdamW and SGD against a float64 transcription of the reference's step
 * (AdamWScheduleFree / SGDScheduleFree, single-tensor path) on one parameter from 1.0 with
 * gradients 0.5, -0.2, 0.3, 0.1: lr 0.1, warmup_steps 2 (lr 0.05 then 0.1), r 0.5,
 * weight_lr_power 2, weight decay 0.1, betas 0.9/0.999 (sgd: momentum 0.9), eps 1e-8:
 *   lr_max = max(lr_max, lr_k); w = (k+1)^r lr_max^2; c = w / sum w;
 *   adamw u = g / (sqrt(v / (1 - b2^(k+1))) + eps), sgd u = g;  u += wd y
 *   y = y + c (z - y);  y += lr (beta (1 - c) - 1) u;  z -= lr u;  x = y + (1 - 1/beta)(z - y)
 *           c                y               z               x
 * adamw 1   1                0.945000001     0.945000001     0.945000001
 *       2   0.849778895178   0.98225743359   0.988082088493  0.981610249712
 *       3   0.509987038376   0.932608654959  0.893949037974  0.936904167957
 *       4   0.370626763792   0.900345777922  0.852583554012  0.90565269169
 * sgd   1   1                0.97            0.97            0.97
 *       2   0.849778895178   0.978907450358  0.9803          0.97875272262
 *       3   0.509987038376   0.957376004136  0.940510925496  0.959249901763
 *       4   0.370626763792   0.942638875209  0.920937165455  0.945050176293 */
static void check_schedule_free(const char *name, const double expect[4][3]) {
    static const float grads[4] = {0.5f, -0.2f, 0.3f, 0.1f};
    OptimHyper h = defaults();
    h.wd = 0.1;
    h.r = 0.5;
    h.momentum = 0.9;
    Optim o;
    make_optim(&o, name, &h, 1);
    float p = 1.0f, x;
    o.rule->eval_point(&o, &p, &x);
    CHECK(x == 1.0f);   /* before the first step x is y */
    for (int k = 0; k < 4; k++) {
        float lr = k < 2 ? 0.1f * (float)(k + 1) / 2 : 0.1f;   /* --warmup 2 */
        optim_step(&o, &p, &grads[k], k + 1, lr, NAN);
        o.rule->eval_point(&o, &p, &x);
        CHECK_NEAR(p, expect[k][0], 2e-7);
        CHECK_NEAR(o.state[0], expect[k][1], 2e-7);   /* z */
        CHECK_NEAR(x, expect[k][2], 2e-7);
    }
    CHECK(o.scalars[0] == 4);   /* k, weight_sum, lr_max */
    CHECK_NEAR(o.scalars[2], 0.1, 1e-8);
    optim_free(&o);
}

static void test_schedule_free_adamw(void) {
    static const double e[4][3] = {{0.945000001, 0.945000001, 0.945000001},
                                   {0.98225743359, 0.988082088493, 0.981610249712},
                                   {0.932608654959, 0.893949037974, 0.936904167957},
                                   {0.900345777922, 0.852583554012, 0.90565269169}};
    check_schedule_free("sf-adamw", e);
}

static void test_schedule_free_sgd(void) {
    static const double e[4][3] = {{0.97, 0.97, 0.97}, {0.978907450358, 0.9803, 0.97875272262},
                                   {0.957376004136, 0.940510925496, 0.959249901763},
                                   {0.942638875209, 0.920937165455, 0.945050176293}};
    check_schedule_free("sf-sgd", e);
}

/* Sophia-G against a float64 transcription of the reference (sophia.py's
 * _single_tensor_sophiag and update_hessian) on one parameter from 1.0: lr 0.1, betas
 * 0.9/0.99, rho 0.04, weight decay 0.1, bs 10, eps 1e-15, the Hessian EMA after every 2nd step
 * with sampled-label gradients 3 then 5, gradients 0.5, -0.2, 0.3, 0.1, -0.4:
 *   p *= 1 - lr wd; m = b1 m + (1-b1) g; r = min(|m| / (rho bs h + eps), 1); p -= lr sign(m) r
 *   t   p               m         h        r
 *   1   0.89            0.05      0        1   (h = 0: a sign step)
 *   2   0.7811          0.025     0.09     1   (h = 0.01 * 3^2 after the step)
 *   3   0.673289        0.0525    0.09     1   (0.0525 / 0.036 > 1: clipped)
 *   4   0.56655611      0.05725   0.3391   1
 *   5   0.552393792781  0.011525  0.3391   0.0849675611914 */
static int hess_draws;
static void fake_sampled_grad(void *ctx, Rng *rng) {
    float *g = ctx;
    (void)rng;
    g[0] = ++hess_draws == 1 ? 3.0f : 5.0f;
}

static void test_sophia(void) {
    static const float grads[5] = {0.5f, -0.2f, 0.3f, 0.1f, -0.4f};
    static const double p_expect[5] = {0.89, 0.7811, 0.673289, 0.56655611, 0.552393792781};
    static const double h_expect[5] = {0, 0.09, 0.09, 0.3391, 0.3391};
    OptimHyper h = defaults();
    h.beta1 = 0.9;
    h.beta2 = 0.99;
    h.wd = 0.1;
    h.eps = 1e-15;
    h.hess_every = 2;
    h.examples = 10;
    Optim o;
    make_optim(&o, "sophia", &h, 1);
    float p = 1.0f, g;
    OptimClosure c = {NULL, fake_sampled_grad, &g, &g, 0};
    o.closure = &c;
    hess_draws = 0;
    for (int t = 1; t <= 5; t++) {
        g = grads[t - 1];
        optim_step(&o, &p, &g, t, 0.1f, NAN);
        CHECK_NEAR(p, p_expect[t - 1], 2e-7);
        CHECK_NEAR(o.state[1], h_expect[t - 1], 1e-7);   /* hessian (exp_avg is state[0]) */
    }
    CHECK(hess_draws == 2);
    optim_free(&o);
}

/* The estimator's labels: drawn from softmax(z). Logits (0, ln 2, ln 3) give probabilities
 * 1/6, 2/6, 3/6; 60000 draws land within 1% of 10000, 20000, 30000 (the standard deviations
 * are about 91, 115 and 122), and the same stream draws the same labels. */
static void test_sampled_labels_follow_softmax(void) {
    enum { ROWS = 60000 };
    float *z = malloc(sizeof(float) * 3 * ROWS);
    int *y = malloc(sizeof(int) * ROWS), *y2 = malloc(sizeof(int) * ROWS), count[3] = {0};
    for (int i = 0; i < ROWS; i++) { z[3 * i] = 0; z[3 * i + 1] = logf(2); z[3 * i + 2] = logf(3); }
    Rng a, b;
    rng_seed(&a, 7, STREAM_OPTIM);
    rng_seed(&b, 7, STREAM_OPTIM);
    group_sample_labels(z, ROWS, 3, &a, y);
    group_sample_labels(z, ROWS, 3, &b, y2);
    for (int i = 0; i < ROWS; i++) count[y[i]]++;
    CHECK(fabs(count[0] - 10000.0) < 100 && fabs(count[1] - 20000.0) < 200 && fabs(count[2] - 30000.0) < 300);
    CHECK(!memcmp(y, y2, sizeof(int) * ROWS));
    free(z); free(y); free(y2);
}

/* AveragedModel: the first update copies; EMA with decay 0.75 then averages with weight 0.25,
 * SWA with 1 / (n + 1). Weights 4, 8, 0, 2 (the values are exact in float):
 *   ema: 4, 4 + 0.25 (8 - 4) = 5, 5 + 0.25 (0 - 5) = 3.75, 3.75 + 0.25 (2 - 3.75) = 3.3125
 *   swa: 4, 6, 4, 3.5 (the means of the first 1, 2, 3, 4) */
static void test_weight_averages(void) {
    static const float w[4] = {4, 8, 0, 2};
    static const float ema[4] = {4, 5, 3.75f, 3.3125f}, swa[4] = {4, 6, 4, 3.5f};
    float e = -1, s = -1;
    for (int k = 0; k < 4; k++) {
        average_ema(&e, &w[k], 1, k, 0.75);
        average_swa(&s, &w[k], 1, k);
        CHECK(e == ema[k] && s == swa[k]);
    }
    /* torch.lerp's two forms: below 1/2 from the start, above it from the end */
    CHECK(torch_lerp(1, 3, 0.25f) == 1.5f && torch_lerp(1, 3, 0.75f) == 2.5f && torch_lerp(2, 6, 1.0f) == 6.0f);
}

/* The scalars and the stream go into checkpoint metadata as text and come back exactly. */
static void test_scalars_round_trip(void) {
    OptimHyper h = defaults();
    Optim a, b;
    make_optim(&a, "lbfgs", &h, 2);
    make_optim(&b, "lbfgs", &h, 2);
    for (int i = 0; i < 5; i++) a.scalars[i] = 1.0 / (i + 3) + i;
    a.scalars[5] = 3;   /* hist_count, hist_first: positions in the history of 100 */
    a.scalars[6] = 99;
    char text[512], err[256];
    optim_scalars_text(&a, text, sizeof text);
    CHECK_CONTAINS(text, "func_evals=0.33333333333333331 n_iter=1.25 ");
    CHECK(strstr(text, "hist_first=") != NULL);
    CHECK(optim_scalars_parse(&b, text, err) == 0 && !memcmp(a.scalars, b.scalars, sizeof a.scalars));
    CHECK(optim_scalars_parse(&b, "func_evals=1", err) == -1);
    CHECK_CONTAINS(err, "'n_iter' missing");
    /* a hostile file: a history position outside the history, a non-finite scalar */
    char bad[600];
    snprintf(bad, sizeof bad, "%.*shist_first=100", (int)(strstr(text, "hist_first=") - text), text);
    CHECK(optim_scalars_parse(&b, bad, err) == -1);
    CHECK_CONTAINS(err, "do not fit a history of 100");
    snprintf(bad, sizeof bad, "%.*shist_first=2.5", (int)(strstr(text, "hist_first=") - text), text);
    CHECK(optim_scalars_parse(&b, bad, err) == -1);
    snprintf(bad, sizeof bad, "func_evals=nan%s", strstr(text, " n_iter="));
    CHECK(optim_scalars_parse(&b, bad, err) == -1);
    CHECK_CONTAINS(err, "not finite");
    optim_free(&a);
    optim_free(&b);
    make_optim(&a, "sophia", &h, 2);
    make_optim(&b, "sophia", &h, 2);
    rng_u32(&a.rng);
    optim_rng_text(&a, text, sizeof text);
    CHECK(optim_rng_parse(&b, text, err) == 0 && a.rng.state == b.rng.state && a.rng.inc == b.rng.inc);
    CHECK(optim_rng_parse(&b, "5 4", err) == -1);   /* an even increment: not a PCG32 stream */
    CHECK(optim_rng_parse(&b, NULL, err) == -1);
    optim_free(&a);
    optim_free(&b);
}

/* The flat dot product is the gradient norm's sum: chunked, in double, thread-invariant. */
static void test_flat_arithmetic(void) {
    enum { N = 200003 };
    float *a = malloc(sizeof(float) * N), *b = malloc(sizeof(float) * N);
    double exact = 0;
    for (long i = 0; i < N; i++) {
        a[i] = (float)((i % 7) - 3) / 4;
        b[i] = (float)((i % 5) - 2) / 2;
        exact += (double)a[i] * b[i];
    }
    CHECK(flat_dot(a, b, N) == exact);   /* every product and partial sum is exact here */
    CHECK(flat_abs_max(a, N) == 0.75 && flat_abs_sum(b, 5) == 3);
    flat_axpy(a, 2.0f, b, N);
    CHECK(a[0] == -0.75f - 2.0f && a[4] == 0.25f + 2.0f);
    free(a); free(b);
}

int main(void) {
    RUN(test_lbfgs_against_torch);
    RUN(test_lbfgs_strong_wolfe_against_torch);
    RUN(test_lbfgs_optimal_at_start);
    RUN(test_schedule_free_adamw);
    RUN(test_schedule_free_sgd);
    RUN(test_sophia);
    RUN(test_sampled_labels_follow_softmax);
    RUN(test_weight_averages);
    RUN(test_scalars_round_trip);
    RUN(test_flat_arithmetic);
    return test_summary();
}
