/* Optimizer updates, schedules and clipping against numbers derived by hand from the formulas
 * (each derivation is in the comment above its test; the arithmetic was checked in double). */
#include "test.h"
#include "optim/clip.h"
#include "optim/closure.h"
#include "optim/optim.h"
#include "optim/sched.h"
#include "run/config.h"
#include "run/resolve.h"

/* Runs `steps` updates of optimizer `name` on one parameter with gradients g[0..steps-1];
 * returns the parameter after each step in out. */
static void run_scalar(const char *name, const OptimHyper *h, float lr, float wd, float p0,
                       const float *g, int steps, float *out) {
    const OptimDef *o = optim_find(name);
    float p = p0, s0 = 0, s1 = 0, s2 = 0;
    float *state[3] = {&s0, &s1, &s2};
    Optim self;
    memset(&self, 0, sizeof self);
    for (int t = 1; t <= steps; t++) {
        OptimHyper step_h = *h;
        if (o->prepare) o->prepare(&self, &step_h, t);   /* per-step scalars (nadam's mu product) */
        o->step(&step_h, 1, &p, &g[t - 1], state, t, lr, wd);
        out[t - 1] = p;
    }
}

/* The schedule the options describe, at step t of T. */
static double lr_at(const Config *c, long t, long T) {
    Schedule s = resolve_schedule(c);
    return sched_lr(&s, t, T);
}

static double momentum_at(const Config *c, long t, long T) {
    Schedule s = resolve_schedule(c);
    return sched_momentum(&s, t, T);
}

/* PyTorch's defaults for everything, with the SGD momentum settings given. */
static OptimHyper hyper(double momentum, double dampening, int nesterov) {
    OptimHyper h = {.momentum = momentum, .dampening = dampening, .beta1 = 0.9, .beta2 = 0.999,
                    .eps = 1e-8, .alpha = 0.99, .momentum_decay = 4e-3, .nesterov = nesterov};
    return h;
}

/* Momentum 0.9, lr 0.1, g = -2 every step. PyTorch keeps b (lr outside):
 *   b1 = g = -2 (first step: b = g), b2 = 0.9 b1 + g = -3.8, b3 = -5.42, b4 = -6.878;
 * the lr-inside velocities lr*b are the worked example's -0.2, -0.38, -0.542, -0.6878,
 * and p = -(sum of them): 0.2, 0.58, 1.122, 1.8098. */
static void test_sgd_momentum_worked_example(void) {
    OptimHyper h = hyper(0.9, 0, 0);
    float g[4] = {-2, -2, -2, -2}, p[4];
    run_scalar("sgd", &h, 0.1f, 0, 0, g, 4, p);
    CHECK_NEAR(p[0], 0.2, 1e-6);
    CHECK_NEAR(p[1], 0.58, 1e-6);
    CHECK_NEAR(p[2], 1.122, 1e-6);
    CHECK_NEAR(p[3], 1.8098, 1e-6);
}

/* Nesterov: d = g + mu b. Step 1: b = -2, d = -2 - 1.8 = -3.8, p = 0.38.
 * Step 2: b = -3.8, d = -2 - 3.42 = -5.42, p = 0.922. Step 3: b = -5.42, d = -6.878,
 * p = 1.6098. Momentum's p after 3 steps is 1.122: Nesterov is one velocity ahead. */
static void test_sgd_nesterov(void) {
    OptimHyper h = hyper(0.9, 0, 1);
    float g[3] = {-2, -2, -2}, p[3];
    run_scalar("sgd", &h, 0.1f, 0, 0, g, 3, p);
    CHECK_NEAR(p[0], 0.38, 1e-6);
    CHECK_NEAR(p[1], 0.922, 1e-6);
    CHECK_NEAR(p[2], 1.6098, 1e-6);
}

/* Dampening 0.5 is not applied on the first step: b1 = -2, b2 = 0.9(-2) + 0.5(-2) = -2.8,
 * b3 = 0.9(-2.8) - 1 = -3.52; p = 0.2, 0.48, 0.832. */
static void test_sgd_dampening_first_step(void) {
    OptimHyper h = hyper(0.9, 0.5, 0);
    float g[3] = {-2, -2, -2}, p[3];
    run_scalar("sgd", &h, 0.1f, 0, 0, g, 3, p);
    CHECK_NEAR(p[0], 0.2, 1e-6);
    CHECK_NEAR(p[1], 0.48, 1e-6);
    CHECK_NEAR(p[2], 0.832, 1e-6);
}

/* L2 weight decay, no momentum, g = 0, p0 = 1, lr 0.1, wd 0.1: g' = 0.1 p,
 * p1 = 1 - 0.01 = 0.99, p2 = 0.99 (1 - 0.01) = 0.9801, p3 = 0.970299. */
static void test_sgd_weight_decay(void) {
    OptimHyper h = hyper(0, 0, 0);
    float g[3] = {0, 0, 0}, p[3];
    run_scalar("sgd", &h, 0.1f, 0.1f, 1, g, 3, p);
    CHECK_NEAR(p[0], 0.99, 1e-7);
    CHECK_NEAR(p[1], 0.9801, 1e-7);
    CHECK_NEAR(p[2], 0.970299, 1e-7);
}

/* Adam, lr 0.1, betas (0.9, 0.999), g = 2, -1, 0.5 from p = 0:
 * t=1: m = 0.2, v = 0.004, m^ = 2, v^ = 4: update lr * 2/(2 + 1e-8) = lr sign(g) up to eps
 *      -> p = -0.0999999995
 * t=2: m = 0.08, v = 0.004996, m^ = 0.08/0.19, v^ = 0.004996/0.001999 -> p = -0.126633703
 * t=3: m = 0.122, v = 0.005241004 -> p = -0.160676618 */
static void test_adam_three_steps(void) {
    OptimHyper h = hyper(0, 0, 0);
    float g[3] = {2, -1, 0.5f}, p[3];
    run_scalar("adam", &h, 0.1f, 0, 0, g, 3, p);
    CHECK_NEAR(p[0], -0.0999999995, 1e-7);
    CHECK_NEAR(p[1], -0.126633703, 1e-6);
    CHECK_NEAR(p[2], -0.160676618, 1e-6);
}

/* The seeds' example: g = 2, lr 0.1: first update 0.1. At t = 1, m^ = g and sqrt(v^) = |g|,
 * so the update is lr g / (|g| + eps): lr sign(g) up to eps, which shows only for tiny g:
 * g = -1e-3 gives 0.1 * 1e-3 / (1e-3 + 1e-8) = 0.0999990000. */
static void test_adam_first_update_is_lr(void) {
    OptimHyper h = hyper(0, 0, 0);
    float gs[3] = {2, -1e-3f, 300}, p[1];
    double expect[3] = {0.1, 0.1 * 1e-3 / (1e-3 + 1e-8), 0.1};
    for (int i = 0; i < 3; i++) {
        run_scalar("adam", &h, 0.1f, 0, 0, &gs[i], 1, p);
        CHECK_NEAR(fabs(p[0]), expect[i], 1e-7);
        CHECK(p[0] * gs[i] < 0);
    }
}

/* AdamW decouples: p *= 1 - lr wd before the Adam step. p0 = 1, g = 0.5, lr 0.1, wd 0.1:
 * p = 0.99 - 0.1 = 0.89. Adam with wd 0.1 instead adds 0.1 p to g: its first step is still
 * lr sign(g + wd p) = 0.1, so p = 0.9: the two differ exactly by the decay term. */
static void test_adamw_decoupled(void) {
    OptimHyper h = hyper(0, 0, 0);
    float g[1] = {0.5f}, p[1];
    run_scalar("adamw", &h, 0.1f, 0.1f, 1, g, 1, p);
    CHECK_NEAR(p[0], 0.89, 1e-6);
    run_scalar("adam", &h, 0.1f, 0.1f, 1, g, 1, p);
    CHECK_NEAR(p[0], 0.9, 1e-6);
}

/* Identity: AdamW with wd 0 is Adam, bit for bit, over a vector and several steps. */
static void test_adamw_equals_adam_without_wd(void) {
    OptimHyper h = hyper(0, 0, 0);
    float pa[5] = {0.3f, -1, 2, 0, 5}, pw[5], ma[5] = {0}, va[5] = {0}, mw[5] = {0}, vw[5] = {0};
    float xa[5] = {0}, xw[5] = {0};
    memcpy(pw, pa, sizeof pa);
    float *sa[3] = {ma, va, xa}, *sw[3] = {mw, vw, xw};
    for (int t = 1; t <= 3; t++) {
        float g[5] = {0.1f * t, -2, 0.5f, 3, -0.01f * t};
        optim_find("adam")->step(&h, 5, pa, g, sa, t, 0.01f, 0);
        optim_find("adamw")->step(&h, 5, pw, g, sw, t, 0.01f, 0);
    }
    CHECK(memcmp(pa, pw, sizeof pa) == 0);
}

/* Adagrad, lr 0.1, eps 1e-10, p0 = 1, g = 2, -1, 0.5:
 *   t=1: s = 4,    p = 1 - 0.1 * 2/2                = 0.9
 *   t=2: s = 5,    p = 0.9 + 0.1/sqrt(5)             = 0.944721360
 *   t=3: s = 5.25, p = 0.944721360 - 0.05/sqrt(5.25) = 0.922899571
 * With --lr-decay 0.5 and --initial-accumulator 1: clr = 0.1, 0.1/1.5, 0.1/2; s = 5, 6, 6.25:
 *   p = 1 - 0.2/sqrt(5) = 0.910557281, + (0.1/1.5)/sqrt(6) = 0.937773834, - 0.025/2.5 = 0.927773834 */
static void test_adagrad(void) {
    OptimHyper h = hyper(0, 0, 0);
    h.eps = 1e-10;
    float g[3] = {2, -1, 0.5f}, p[3];
    run_scalar("adagrad", &h, 0.1f, 0, 1, g, 3, p);
    CHECK_NEAR(p[0], 0.900000000005, 1e-6);
    CHECK_NEAR(p[1], 0.9447213595529959, 1e-6);
    CHECK_NEAR(p[2], 0.922899570530349, 1e-6);
    h.lr_decay = 0.5;
    h.initial_accumulator = 1;
    run_scalar("adagrad", &h, 0.1f, 0, 1, g, 3, p);
    CHECK_NEAR(p[0], 0.9105572809040084, 1e-6);
    CHECK_NEAR(p[1], 0.9377738336004882, 1e-6);
    CHECK_NEAR(p[2], 0.9277738336008882, 1e-6);
}

/* RMSprop, the seeds' example: alpha 0.9, g = -2 every step: v = 0.1 * 4 = 0.4,
 * 0.9 * 0.4 + 0.4 = 0.76, 0.9 * 0.76 + 0.4 = 1.084. With lr 0.01, p += 0.02 / sqrt(v):
 * 0.031622776, 0.054564349, 0.073773818.
 * centered: a = -0.2, -0.38, -0.542; d = sqrt(v - a^2) = 0.6, ...: p = 0.033333333, 0.058823970, 0.081322367
 * momentum 0.9: b = g/d = -3.162277660, 0.9 b - 2/sqrt(0.76) = -5.140207162, -6.547133303;
 *   p = -0.01 * sum b = 0.031622776, 0.083024848, 0.148496181 */
static void test_rmsprop(void) {
    OptimHyper h = hyper(0, 0, 0);
    h.alpha = 0.9;
    const OptimDef *o = optim_find("rmsprop");
    float g = -2, v[3], expect_v[3] = {0.4f, 0.76f, 1.084f};
    double expect[3][3] = {{0.0316227761016838, 0.05456434922558208, 0.0737738178009627},
                           {0.03333333277777779, 0.05882396954962058, 0.08132236704582005},
                           {0.0316227761016838, 0.0830248477170975, 0.14849618074635046}};
    for (int variant = 0; variant < 3; variant++) {
        h.centered = variant == 1;
        h.momentum = variant == 2 ? 0.9 : 0;
        float p = 0, s0 = 0, s1 = 0, s2 = 0, *state[3] = {&s0, &s1, &s2};
        for (int t = 1; t <= 3; t++) {
            o->step(&h, 1, &p, &g, state, t, 0.01f, 0);
            v[t - 1] = s0;
            CHECK_NEAR(p, expect[variant][t - 1], 1e-6);
        }
        for (int t = 0; t < 3; t++) CHECK_NEAR(v[t], expect_v[t], 1e-6);
    }
}

/* AMSGrad keeps the largest v seen: after g = 10 then g = 0.1, 0.1, plain Adam's v shrinks
 * (0.1, 0.0999, ...) while amsgrad's denominator stays at the maximum, so its steps are
 * smaller than Adam's and its stored maximum never decreases. */
static void test_amsgrad_denominator_never_shrinks(void) {
    OptimHyper h = hyper(0, 0, 0);
    h.amsgrad = 1;
    float g[4] = {10, 0.1f, 0.1f, 0.1f}, p = 0, m = 0, v = 0, vmax = 0, *state[3] = {&m, &v, &vmax};
    float prev_max = 0, pa[4], pam[4];
    for (int t = 1; t <= 4; t++) {
        optim_find("adam")->step(&h, 1, &p, &g[t - 1], state, t, 0.1f, 0);
        CHECK(vmax >= prev_max && vmax >= v);
        prev_max = vmax;
        pam[t - 1] = p;
    }
    CHECK(v < vmax);
    h.amsgrad = 0;
    run_scalar("adam", &h, 0.1f, 0, 0, g, 4, pa);
    CHECK(pa[0] == pam[0]);               /* identical until v first shrinks */
    CHECK(fabs(pam[3] - pam[2]) < fabs(pa[3] - pa[2]));
    /* the alias is adam with --amsgrad on */
    Config c;
    config_defaults(&c);
    strcpy(c.opt, "amsgrad");
    config_finalize(&c);
    CHECK(c.amsgrad == 1 && optim_find("amsgrad")->step == optim_find("adam")->step);
}

/* NAdam, lr 0.1, betas (0.9, 0.999), psi 4e-3, g = 2, -1, 0.5 from p = 0:
 *   mu_t = 0.9 (1 - 0.5 * 0.96^(0.004 t)): mu_1 = 0.450073474, mu_2 = 0.450146935, mu_3 = 0.450220385
 *   t=1: m = 0.2, v = 0.004, d = sqrt(0.004/0.001) = 2:
 *        p = -0.1 (1 - mu_1)/(1 - mu_1) * 2/2 - 0.1 mu_2/(1 - mu_1 mu_2) * 0.2/2 = -0.105645177
 *   t=2: -> -0.064534205;  t=3: -> -0.091739923 */
static void test_nadam(void) {
    OptimHyper h = hyper(0, 0, 0);
    float g[3] = {2, -1, 0.5f}, p[3];
    run_scalar("nadam", &h, 0.1f, 0, 0, g, 3, p);
    CHECK_NEAR(p[0], -0.105645177307313, 1e-6);
    CHECK_NEAR(p[1], -0.06453420464339844, 1e-6);
    CHECK_NEAR(p[2], -0.09173992325696936, 1e-6);
    /* again from t = 1 (a fresh optimizer): the product of mu restarts */
    run_scalar("nadam", &h, 0.1f, 0, 0, g, 1, p);
    CHECK_NEAR(p[0], -0.105645177307313, 1e-6);
}

/* RAdam, lr 0.1, betas (0.9, 0.999): rho_inf = 1999, rho_t = 1999 - 2t 0.999^t/(1 - 0.999^t):
 * 1.0, 1.9995, 2.9987, 3.9975, 4.9960, 5.9942, ... so steps 1-5 are un-rectified,
 * p -= lr m/(1 - 0.9^t): with g = 2, -1, 0.5, 1, 1: p = -0.2, -0.242105263, -0.287123713,
 * -0.348129820, -0.418658012; step 6 (rho 5.994 > 5) is rectified: -0.420350301, step 7 -0.422665669. */
static void test_radam(void) {
    OptimHyper h = hyper(0, 0, 0);
    float g[7] = {2, -1, 0.5f, 1, 1, 1, 1}, p[7];
    run_scalar("radam", &h, 0.1f, 0, 0, g, 7, p);
    CHECK_NEAR(p[0], -0.2, 1e-6);   /* first step: exactly lr g */
    CHECK_NEAR(p[1], -0.24210526315789482, 1e-6);
    CHECK_NEAR(p[2], -0.2871237133423967, 1e-6);
    CHECK_NEAR(p[3], -0.34812981976868346, 1e-6);
    CHECK_NEAR(p[4], -0.41865801199842145, 1e-6);
    CHECK_NEAR(p[5], -0.4203503009765197, 1e-6);
    CHECK_NEAR(p[6], -0.42266566877756784, 1e-6);
}

/* Adamax, lr 0.1, betas (0.9, 0.999), g = 2, -1, 0.5:
 *   t=1: m = 0.2,   u = max(0, 2 + eps) = 2:        p = -0.1/0.1 * 0.2/2     = -0.1
 *   t=2: m = 0.08,  u = max(1.998, 1 + eps) = 1.998: p -= 0.1/0.19 * 0.08/1.998 -> -0.121073705
 *   t=3: m = 0.122, u = 1.996002:                   p -= 0.1/0.271 * 0.122/1.996002 -> -0.143628016 */
static void test_adamax(void) {
    OptimHyper h = hyper(0, 0, 0);
    float g[3] = {2, -1, 0.5f}, p[3];
    run_scalar("adamax", &h, 0.1f, 0, 0, g, 3, p);
    CHECK_NEAR(p[0], -0.09999999950000003, 1e-6);
    CHECK_NEAR(p[1], -0.12107370467886312, 1e-6);
    CHECK_NEAR(p[2], -0.14362801572635187, 1e-6);
}

/* Lion, lr 0.1, betas (0.9, 0.99), g = 2, -1, 0.5:
 *   t=1: c = 0.1 * 2 = 0.2 > 0        -> p = -0.1;  m = 0.02
 *   t=2: c = 0.018 - 0.1 = -0.082 < 0 -> p = 0;     m = 0.0098
 *   t=3: c = 0.00882 + 0.05 > 0       -> p = -0.1
 * Every coordinate moves by exactly lr; decoupled decay first: p0 = 1, wd 0.5 -> 0.95 - 0.1. */
static void test_lion(void) {
    OptimHyper h = hyper(0, 0, 0);
    h.beta2 = 0.99;
    float g[3] = {2, -1, 0.5f}, p[3];
    run_scalar("lion", &h, 0.1f, 0, 0, g, 3, p);
    CHECK_NEAR(p[0], -0.1, 1e-7);
    CHECK_NEAR(p[1], 0.0, 1e-7);
    CHECK_NEAR(p[2], -0.1, 1e-7);
    float pv[4] = {0.3f, -2, 5, 0}, before[4], m[4] = {0}, *state[1] = {m};
    float gv[4] = {1e-6f, -300, 0.5f, -0.01f};
    memcpy(before, pv, sizeof pv);
    optim_find("lion")->step(&h, 4, pv, gv, state, 1, 0.01f, 0);
    for (int i = 0; i < 4; i++) CHECK_NEAR(fabs(pv[i] - before[i]), 0.01, 1e-6);
    run_scalar("lion", &h, 0.1f, 0.5f, 1, g, 1, p);
    CHECK_NEAR(p[0], 0.85, 1e-6);
}

/* The aliases are sgd with momentum 0.9 (and Nesterov), unless the flags say otherwise;
 * optimizer defaults fill only what the command line did not give. */
static void test_optimizer_aliases_and_defaults(void) {
    Config c;
    config_defaults(&c);
    strcpy(c.opt, "momentum");
    config_finalize(&c);
    CHECK(c.momentum == 0.9 && !c.nesterov && c.lr == 1e-3 && c.wd == 0);
    config_defaults(&c);
    strcpy(c.opt, "nesterov");
    config_finalize(&c);
    CHECK(c.momentum == 0.9 && c.nesterov);
    config_defaults(&c);
    char *argv[] = {"train", "--opt", "momentum", "--momentum", "0.5", "--lr", "0.2", NULL};
    config_parse_args(&c, 7, argv, 1, NULL, NULL);
    config_finalize(&c);
    CHECK(c.momentum == 0.5 && c.lr == 0.2);
    const char *names[] = {"adagrad", "rmsprop", "nadam", "adamax", "lion"};
    const double lrs[] = {1e-2, 1e-2, 2e-3, 2e-3, 1e-4};
    for (int i = 0; i < 5; i++) {
        config_defaults(&c);
        strcpy(c.opt, names[i]);
        config_finalize(&c);
        CHECK_NEAR(c.lr, lrs[i], 1e-15);
    }
    CHECK(c.beta2 == 0.99);   /* lion */
    config_defaults(&c);
    strcpy(c.opt, "adagrad");
    config_finalize(&c);
    CHECK(c.eps == 1e-10);
}

static void test_optimizer_table(void) {
    CHECK(optim_find("sgd") && !strcmp(optim_find("sgd")->slots, "momentum_buffer"));
    CHECK(optim_find("adam") && !strcmp(optim_find("adam")->slots, "exp_avg exp_avg_sq max_exp_avg_sq"));
    CHECK(optim_find("nope") == NULL);
    CHECK_STR(optim_names(), "sgd|momentum|nesterov|adagrad|rmsprop|adam|adamw|amsgrad|nadam|radam|adamax|lion|"
                              "adadelta|adafactor|lamb|lars|lookahead|muon|shampoo|lbfgs|sf-adamw|sf-sgd|sophia");
    for (int i = 0; i < optim_count; i++) {
        const OptimDef *o = &optim_table[i];
        int slots = 0;
        for (const char *q = o->slots; q && *q; q++) slots += (q == o->slots || q[-1] == ' ') && *q != ' ';
        /* element-wise rows name their state slots; per-tensor rows describe their state;
         * whole-vector rows (L-BFGS) have a flat step */
        const OptimClosureRule *rule = optim_closure_rule(o->name);
        CHECK(o->step ? slots <= OPTIM_MAX_STATE && !o->tensor_step
                      : (o->tensor_step && o->state_spec) || (rule && rule->flat_step));
        CHECK_CONTAINS(optim_table[i].defaults, "lr=");
        CHECK_CONTAINS(optim_table[i].defaults, "wd=");
        CHECK_CONTAINS(optim_table[i].defaults, "eps=");
    }
}

/* Schedules: lr 1, min_lr 0.1, warmup 10, total 110 steps.
 * warmup: lr(0) = 1 * 1/10 = 0.1, lr(4) = 0.5, lr(9) = 1 (end of warmup)
 * cosine: s = t - 10 of S = 100: lr(10) = 1, lr(60) = 0.1 + 0.9 (1 + cos(pi/2))/2 = 0.55,
 *         lr(109) = 0.1 + 0.9 (1 + cos(0.99 pi))/2 = 0.10022204783542078 (the last step)
 * constant: 1 after warmup. */
static void test_schedules(void) {
    Config c;
    config_defaults(&c);
    c.lr = 1; c.min_lr = 0.1; c.warmup = 10;
    strcpy(c.schedule, "cosine");
    CHECK_NEAR(lr_at(&c, 0, 110), 0.1, 1e-12);
    CHECK_NEAR(lr_at(&c, 4, 110), 0.5, 1e-12);
    CHECK_NEAR(lr_at(&c, 9, 110), 1.0, 1e-12);
    CHECK_NEAR(lr_at(&c, 10, 110), 1.0, 1e-12);
    CHECK_NEAR(lr_at(&c, 60, 110), 0.55, 1e-12);
    CHECK_NEAR(lr_at(&c, 109, 110), 0.10022204783542078, 1e-12);
    CHECK_NEAR(lr_at(&c, 110, 110), 0.1, 1e-12);
    strcpy(c.schedule, "constant");
    CHECK_NEAR(lr_at(&c, 9, 110), 1.0, 1e-12);
    CHECK_NEAR(lr_at(&c, 50, 110), 1.0, 1e-12);
    c.warmup = 0;
    strcpy(c.schedule, "cosine");
    CHECK_NEAR(lr_at(&c, 0, 100), 1.0, 1e-12);
    CHECK_NEAR(lr_at(&c, 50, 100), 0.55, 1e-12);
}

/* Sets up a config for the schedule tests: lr 1, the given schedule, warmup W. */
static Config sched_config(const char *name, long warmup) {
    Config c;
    config_defaults(&c);
    config_finalize(&c);
    c.lr = 1;
    c.min_lr = 0;
    c.warmup = warmup;
    snprintf(c.schedule, sizeof c.schedule, "%s", name);
    return c;
}

/* step: gamma 0.1 every 10 steps after a warmup of 5: lr(0) = 1/5, lr(4) = 1 (end of warmup),
 * lr(5..14) = 1 (s = 0..9), lr(15) = 0.1 (s = 10), lr(25) = 0.01.
 * multistep: milestones 10,30, gamma 0.5: s = 9 -> 1, 10 -> 0.5, 29 -> 0.5, 30 -> 0.25.
 * exp: gamma 0.9: s = 0 -> 1, s = 2 -> 0.81. */
static void test_schedules_step_family(void) {
    Config c = sched_config("step", 5);
    c.step_size = 10;
    c.gamma = 0.1;
    CHECK_NEAR(lr_at(&c, 0, 100), 0.2, 1e-12);
    CHECK_NEAR(lr_at(&c, 4, 100), 1.0, 1e-12);
    CHECK_NEAR(lr_at(&c, 5, 100), 1.0, 1e-12);
    CHECK_NEAR(lr_at(&c, 14, 100), 1.0, 1e-12);
    CHECK_NEAR(lr_at(&c, 15, 100), 0.1, 1e-12);
    CHECK_NEAR(lr_at(&c, 25, 100), 0.01, 1e-12);
    c = sched_config("multistep", 0);
    strcpy(c.milestones, "10,30");
    c.gamma = 0.5;
    CHECK_NEAR(lr_at(&c, 9, 100), 1.0, 1e-12);
    CHECK_NEAR(lr_at(&c, 10, 100), 0.5, 1e-12);
    CHECK_NEAR(lr_at(&c, 29, 100), 0.5, 1e-12);
    CHECK_NEAR(lr_at(&c, 30, 100), 0.25, 1e-12);
    c = sched_config("exp", 0);
    c.gamma = 0.9;
    CHECK_NEAR(lr_at(&c, 0, 100), 1.0, 1e-12);
    CHECK_NEAR(lr_at(&c, 2, 100), 0.81, 1e-12);
    long m[4];
    char err[512];
    CHECK(sched_parse_milestones("10,30,31", m, 4, err) == 3 && m[2] == 31);
    CHECK(sched_parse_milestones("30,10", m, 4, err) == -1);
    CHECK_CONTAINS(err, "must increase");
    CHECK(sched_parse_milestones("10,x", m, 4, err) == -1);
}

/* poly, power 2, min_lr 0.1, S = 100: s = 0 -> 1, s = 50 -> 0.1 + 0.9/4 = 0.325,
 *   s = 99 (last step) -> 0.1 + 0.9e-4 = 0.10009.
 * linear, min_lr 0.1: s = 0 -> 1, s = 50 -> 0.55, s = 99 -> 0.109. */
static void test_schedules_poly_linear(void) {
    Config c = sched_config("poly", 0);
    c.power = 2;
    c.min_lr = 0.1;
    CHECK_NEAR(lr_at(&c, 0, 100), 1.0, 1e-12);
    CHECK_NEAR(lr_at(&c, 50, 100), 0.325, 1e-12);
    CHECK_NEAR(lr_at(&c, 99, 100), 0.10009, 1e-12);
    strcpy(c.schedule, "linear");
    CHECK_NEAR(lr_at(&c, 0, 100), 1.0, 1e-12);
    CHECK_NEAR(lr_at(&c, 50, 100), 0.55, 1e-12);
    CHECK_NEAR(lr_at(&c, 99, 100), 0.109, 1e-12);
}

/* restarts, T_0 = 10, T_mult = 2, min_lr 0: cycles [0,10), [10,30), [30,70):
 * s = 0 -> 1, 5 -> 0.5, 9 -> (1 + cos(0.9 pi))/2 = 0.024471742, 10 -> 1 (restart),
 * 20 -> 0.5 (half of the 20-step cycle), 29 -> (1 + cos(0.95 pi))/2 = 0.006155830, 30 -> 1.
 * T_mult = 1: s = 25 -> position 5 of 10 -> 0.5. */
static void test_schedule_restarts(void) {
    Config c = sched_config("restarts", 0);
    c.cycle = 10;
    c.cycle_mult = 2;
    CHECK_NEAR(lr_at(&c, 0, 1000), 1.0, 1e-12);
    CHECK_NEAR(lr_at(&c, 5, 1000), 0.5, 1e-12);
    CHECK_NEAR(lr_at(&c, 9, 1000), 0.024471741852423234, 1e-12);
    CHECK_NEAR(lr_at(&c, 10, 1000), 1.0, 1e-12);
    CHECK_NEAR(lr_at(&c, 20, 1000), 0.5, 1e-12);
    CHECK_NEAR(lr_at(&c, 29, 1000), 0.006155829702431115, 1e-12);
    CHECK_NEAR(lr_at(&c, 30, 1000), 1.0, 1e-12);
    c.cycle_mult = 1;
    CHECK_NEAR(lr_at(&c, 25, 1000), 0.5, 1e-12);
}

/* cyclic between min_lr 0.1 and lr 1, 10 steps up and 10 down:
 * triangular: s = 0 -> 0.1, 5 -> 0.55, 10 -> 1, 15 -> 0.55, 20 -> 0.1 (next cycle starts);
 * triangular2: s = 30 is the peak of cycle 2 -> 0.1 + 0.9/2 = 0.55;
 * exp_range, gamma 0.9: s = 10 -> 0.1 + 0.9 * 0.9^10 = 0.413810596. */
static void test_schedule_cyclic(void) {
    Config c = sched_config("cyclic", 0);
    c.min_lr = 0.1;
    c.cycle = 10;
    strcpy(c.cyclic_mode, "triangular");
    CHECK_NEAR(lr_at(&c, 0, 100), 0.1, 1e-12);
    CHECK_NEAR(lr_at(&c, 5, 100), 0.55, 1e-12);
    CHECK_NEAR(lr_at(&c, 10, 100), 1.0, 1e-12);
    CHECK_NEAR(lr_at(&c, 15, 100), 0.55, 1e-12);
    CHECK_NEAR(lr_at(&c, 20, 100), 0.1, 1e-12);
    strcpy(c.cyclic_mode, "triangular2");
    CHECK_NEAR(lr_at(&c, 10, 100), 1.0, 1e-12);
    CHECK_NEAR(lr_at(&c, 30, 100), 0.55, 1e-12);
    strcpy(c.cyclic_mode, "exp_range");
    c.gamma = 0.9;
    CHECK_NEAR(lr_at(&c, 10, 100), 0.41381059609, 1e-10);
}

/* onecycle, lr 1, S = 100, pct_start 0.3, div 25, final_div 1e4: phase ends 29 and 99.
 * s = 0 -> 1/25 = 0.04, s = 29 -> 1 (peak), s = 64 (half of phase 2) -> (1 + 4e-6)/2,
 * s = 99 -> 0.04/1e4 = 4e-6. Momentum mirrors it: 0.95, 0.85 at the peak, 0.95 at the end.
 * three-phase: ends 29, 58, 99: s = 58 -> back to 0.04, s = 99 -> 4e-6, momentum 0.95 in phase 3.
 * With warmup 10 the cycle starts at t = 10 and warmup holds momentum at its maximum. */
static void test_schedule_onecycle(void) {
    Config c = sched_config("onecycle", 0);
    CHECK_NEAR(lr_at(&c, 0, 100), 0.04, 1e-12);
    CHECK_NEAR(lr_at(&c, 29, 100), 1.0, 1e-12);
    CHECK_NEAR(lr_at(&c, 64, 100), 0.500002, 1e-12);
    CHECK_NEAR(lr_at(&c, 99, 100), 4e-6, 1e-15);
    CHECK_NEAR(momentum_at(&c, 0, 100), 0.95, 1e-12);
    CHECK_NEAR(momentum_at(&c, 29, 100), 0.85, 1e-12);
    CHECK_NEAR(momentum_at(&c, 99, 100), 0.95, 1e-12);
    c.three_phase = 1;
    CHECK_NEAR(lr_at(&c, 29, 100), 1.0, 1e-12);
    CHECK_NEAR(lr_at(&c, 58, 100), 0.04, 1e-12);
    CHECK_NEAR(lr_at(&c, 99, 100), 4e-6, 1e-15);
    CHECK_NEAR(momentum_at(&c, 58, 100), 0.95, 1e-12);
    CHECK_NEAR(momentum_at(&c, 80, 100), 0.95, 1e-12);
    c.three_phase = 0;
    c.warmup = 10;
    CHECK_NEAR(lr_at(&c, 0, 110), 0.1, 1e-12);
    CHECK_NEAR(momentum_at(&c, 5, 110), 0.95, 1e-12);
    CHECK_NEAR(lr_at(&c, 10, 110), 0.04, 1e-12);
    CHECK_NEAR(lr_at(&c, 39, 110), 1.0, 1e-12);
    c.cycle_momentum = 0;
    CHECK(isnan(momentum_at(&c, 39, 110)));
    strcpy(c.schedule, "cosine");
    c.cycle_momentum = 1;
    CHECK(isnan(momentum_at(&c, 39, 110)));
}

/* clip_grad_value_: every element clamped to [-1.5, 1.5]. */
static void test_clip_grad_value(void) {
    float g[5] = {3, -4, 0.5f, -1.5f, 1.6f};
    clip_grad_value(g, 5, 1.5);
    CHECK(g[0] == 1.5f && g[1] == -1.5f && g[2] == 0.5f && g[3] == -1.5f && g[4] == 1.5f);
}

/* Clipping: g = (3, 4), norm 5. max_norm 1 -> coef 1/(5 + 1e-6): (0.59999988, 0.79999984).
 * max_norm 10 -> coef > 1: unchanged. */
static void test_clip_grad_norm(void) {
    float g[2] = {3, 4};
    double norm = grad_global_norm(g, 2);
    CHECK_NEAR(norm, 5.0, 1e-12);
    clip_grad_norm(g, 2, norm, 10);
    CHECK(g[0] == 3 && g[1] == 4);
    clip_grad_norm(g, 2, norm, 1);
    CHECK_NEAR(g[0], 3 / (5 + 1e-6), 1e-7);
    CHECK_NEAR(g[1], 4 / (5 + 1e-6), 1e-7);
    CHECK_NEAR(grad_global_norm(g, 2), 1.0, 1e-6);
}

/* ---- the optimizer over tensors ---- */

/* Three tensors as a network lays them out: a weight [2, 3], a bias [2], a norm gain [2]. */
static const OptTensor three_tensors[3] = {
    {"0.weight", 2, {2, 3}, ROLE_WEIGHT, 0, 6},
    {"0.bias", 1, {2, 0}, ROLE_BIAS, 6, 2},
    {"1.weight", 1, {2, 0}, ROLE_NORM, 8, 2},
};

/* Weight decay is for weights: biases and norm parameters get none unless --wd-bias. SGD with
 * lr 0.1, wd 0.5, g = 0, p = 1: weights become 1 - 0.05 = 0.95, the rest stay 1. The state is
 * PyTorch's, named per tensor, and only the slots the hyper-parameters use exist. */
static void test_optimizer_groups_and_state(void) {
    for (int wd_bias = 0; wd_bias <= 1; wd_bias++) {
        OptimHyper h = hyper(0, 0, 0);
        h.wd = 0.5;
        h.wd_bias = wd_bias;
        Optim o;
        optim_init(&o, optim_find("sgd"), &h, three_tensors, 3, 10);
        float p[10], g[10] = {0};
        for (int i = 0; i < 10; i++) p[i] = 1;
        optim_step(&o, p, g, 1, 0.1f, NAN);
        for (int i = 0; i < 10; i++) CHECK_NEAR(p[i], i < 6 || wd_bias ? 0.95 : 1.0, 1e-7);
        CHECK(o.n_states == 0 && o.n_state == 0);   /* no momentum: no momentum_buffer */
        optim_free(&o);
    }
    OptimHyper h = hyper(0, 0, 0);
    Optim o;
    optim_init(&o, optim_find("adamw"), &h, three_tensors, 3, 10);
    CHECK(o.n_states == 6 && o.n_state == 20);
    CHECK(o.states[0].tensor == 0 && !strcmp(o.states[0].name, "exp_avg"));
    CHECK(o.states[1].tensor == 0 && !strcmp(o.states[1].name, "exp_avg_sq"));
    CHECK(o.states[1].ndim == 2 && o.states[1].shape[0] == 2 && o.states[1].shape[1] == 3);
    CHECK(o.states[5].tensor == 2 && o.states[5].size == 2);
    CHECK(optim_state_bytes(&o) == 80);
    optim_free(&o);
    h.amsgrad = 1;
    optim_init(&o, optim_find("adam"), &h, three_tensors, 3, 10);
    CHECK(o.n_states == 9 && !strcmp(o.states[2].name, "max_exp_avg_sq"));
    optim_free(&o);
}

/* A per-tensor rule sees each whole tensor with its name, shape and role, and keeps state of
 * its own shape: here normalised gradient descent p -= lr g / ||g||_tensor, counting its calls
 * in a one-float state tensor per parameter tensor. */
static int seen_calls;
static void unit_step(Optim *o, const OptimHyper *h, const OptTensor *t, float *p, const float *g,
                      float *const *state, long step, float lr, float wd) {
    (void)o; (void)h; (void)step; (void)wd;
    double norm = 0;
    for (long i = 0; i < t->size; i++) norm += (double)g[i] * g[i];
    for (long i = 0; i < t->size; i++) p[i] -= (float)(lr * g[i] / sqrt(norm));
    state[0][0] += 1;
    seen_calls |= 1 << (t->role * 4 + t->ndim);
}
static int unit_state(const OptimHyper *h, const OptTensor *t, OptState *out) {
    (void)h; (void)t;
    snprintf(out[0].name, sizeof out[0].name, "calls");
    out[0].ndim = 1;
    out[0].shape[0] = 1;
    out[0].size = 1;
    return 1;
}

static void test_per_tensor_rule(void) {
    const OptimDef unit = {"unit", NULL, NULL, NULL, unit_step, unit_state, "lr=1 wd=0 eps=1e-8", "",
                           CYCLES_NOTHING, "p -= lr g / ||g||", NULL};
    OptimHyper h = hyper(0, 0, 0);
    Optim o;
    optim_init(&o, &unit, &h, three_tensors, 3, 10);
    CHECK(o.n_states == 3 && o.n_state == 3 && !strcmp(o.states[2].name, "calls"));
    float p[10] = {0}, g[10] = {3, 0, 0, 0, 0, 4, 1, 0, 0, -2};
    seen_calls = 0;
    optim_step(&o, p, g, 1, 0.5f, NAN);
    optim_step(&o, p, g, 2, 0.5f, NAN);
    /* weight: g / 5, twice; bias: (1, 0); norm gain: (0, -1) */
    CHECK_NEAR(p[0], -2 * 0.5 * 0.6, 1e-7);
    CHECK_NEAR(p[5], -2 * 0.5 * 0.8, 1e-7);
    CHECK_NEAR(p[6], -1.0, 1e-7);
    CHECK_NEAR(p[9], 1.0, 1e-7);
    CHECK(o.state[0] == 2 && o.state[1] == 2 && o.state[2] == 2);
    CHECK(seen_calls == ((1 << (ROLE_WEIGHT * 4 + 2)) | (1 << (ROLE_BIAS * 4 + 1)) | (1 << (ROLE_NORM * 4 + 1))));
    optim_free(&o);
}

int main(void) {
    RUN(test_sgd_momentum_worked_example);
    RUN(test_sgd_nesterov);
    RUN(test_sgd_dampening_first_step);
    RUN(test_sgd_weight_decay);
    RUN(test_adam_three_steps);
    RUN(test_adam_first_update_is_lr);
    RUN(test_adamw_decoupled);
    RUN(test_adamw_equals_adam_without_wd);
    RUN(test_adagrad);
    RUN(test_rmsprop);
    RUN(test_amsgrad_denominator_never_shrinks);
    RUN(test_nadam);
    RUN(test_radam);
    RUN(test_adamax);
    RUN(test_lion);
    RUN(test_optimizer_aliases_and_defaults);
    RUN(test_optimizer_table);
    RUN(test_optimizer_groups_and_state);
    RUN(test_per_tensor_rule);
    RUN(test_schedules);
    RUN(test_schedules_step_family);
    RUN(test_schedules_poly_linear);
    RUN(test_schedule_restarts);
    RUN(test_schedule_cyclic);
    RUN(test_schedule_onecycle);
    RUN(test_clip_grad_norm);
    RUN(test_clip_grad_value);
    return test_summary();
}
