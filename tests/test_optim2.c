/* The optimizers adadelta, adafactor, lamb, lars, lookahead, muon and shampoo against
 * numbers computed independently: tests/optim2_reference.py writes each rule out again in
 * numpy float64 from its published form and prints the values quoted here (its output is
 * pasted in the comments). Also: Newton-Schulz keeps the singular vectors and maps the
 * singular values as the scalar quintic does; the eigen-solver and Shampoo's inverse 4th
 * roots against a direct (Jacobi) eigendecomposition; lookahead around element-wise and
 * per-tensor rows; state names, shapes and the memory `train optimizers` reports. */
#include "test.h"
#include "optim/optim.h"
#include "optim/rows.h"
#include "optim/symeig.h"
#include "run/config.h"
#include "run/optim_memory.h"
#include "run/resolve.h"
#include "util/rng.h"

#include <stdlib.h>

/* W [2, 3] (a weight) and b [3] (a bias), one flat vector of 9, with three steps of
 * gradients: the inputs of every case of tests/optim2_reference.py */
static const OptTensor w_and_b[2] = {
    {"0.weight", 2, {2, 3}, ROLE_WEIGHT, 0, 6},
    {"0.bias", 1, {3, 0}, ROLE_BIAS, 6, 3},
};
static const float P0[9] = {0.5f, -0.2f, 0.1f, 0.3f, 0.4f, -0.6f, 0.1f, -0.2f, 0.0005f};
static const float G[3][9] = {
    {0.1f, -0.3f, 0.2f, 0.05f, 0.4f, -0.1f, 0.3f, -0.1f, 0.2f},
    {-0.2f, 0.1f, 0.3f, 0.2f, -0.1f, 0.05f, 0.1f, 0.2f, -0.3f},
    {0.3f, 0.2f, -0.1f, -0.4f, 0.1f, 0.2f, -0.2f, 0.05f, 0.1f},
};

/* The hyper-parameters `--opt name` resolves to, with no other flag: the defaults checked too */
static OptimHyper hyper_of(const char *name, double *lr) {
    Config c;
    config_defaults(&c);
    snprintf(c.opt, sizeof c.opt, "%s", name);
    config_finalize(&c);
    if (lr) *lr = c.lr;
    return resolve_optim_hyper(&c);
}

/* `steps` updates of row `name` over tensors (n floats), from p0 with gradients g[t] */
static void run_rule(const char *name, const OptimHyper *h, float lr, const OptTensor *tensors,
                     int n_tensors, long n, const float *p0, const float *g, int steps, float *p) {
    Optim o;
    optim_init(&o, optim_find(name), h, tensors, n_tensors, n);
    memcpy(p, p0, sizeof(float) * (size_t)n);
    for (int t = 1; t <= steps; t++) optim_step(&o, p, g + (t - 1) * n, t, lr, NAN);
    optim_free(&o);
}

static void check_all(const float *got, const double *want, int n, double tol) {
    for (int i = 0; i < n; i++) CHECK_NEAR(got[i], want[i], tol);
}

/* `steps` updates of W and b from P0 with the gradients G; the first n values must be want */
static void expect(const char *name, const OptimHyper *h, float lr, int steps, const double *want,
                   int n, double tol) {
    float p[9];
    run_rule(name, h, lr, w_and_b, 2, 9, P0, G[0], steps, p);
    check_all(p, want, n, tol);
}

/* Adadelta, p0 = 1, g = 0.5, -1, 2, defaults (lr 1, rho 0.9, eps 1e-6). Step 1 by hand:
 * v = 0.1 * 0.25 = 0.025, d = sqrt(1e-6) / sqrt(0.025001) * 0.5 = 3.16221e-3, p = 0.99683779;
 * the reference: 0.9968377856, 1.000878339, 0.995615943. With wd 0.1, lr 0.5, rho 0.5,
 * eps 1e-3, p0 = 2, g = 1 (g + wd p = 1.2 first): 1.977654832, 1.951871912, 1.923487621. */
static void test_adadelta(void) {
    double lr;
    OptimHyper h = hyper_of("adadelta", &lr);
    CHECK(lr == 1 && h.rho == 0.9 && h.eps == 1e-6 && h.wd == 0);
    const OptTensor one[1] = {{"0.weight", 1, {1, 0}, ROLE_WEIGHT, 0, 1}};
    float g[3] = {0.5f, -1, 2}, p[1], p0 = 1;
    const double want[3] = {0.9968377856, 1.000878339, 0.995615943};
    for (int s = 1; s <= 3; s++) {
        run_rule("adadelta", &h, (float)lr, one, 1, 1, &p0, g, s, p);
        CHECK_NEAR(p[0], want[s - 1], 1e-6);
    }
    h.rho = 0.5; h.eps = 1e-3; h.wd = 0.1;
    float ones[3] = {1, 1, 1}, two = 2;
    const double want_wd[3] = {1.977654832, 1.951871912, 1.923487621};
    for (int s = 1; s <= 3; s++) {
        run_rule("adadelta", &h, 0.5f, one, 1, 1, &two, ones, s, p);
        CHECK_NEAR(p[0], want_wd[s - 1], 1e-6);
    }
}

/* Adafactor, defaults (lr 1e-2, beta2_decay -0.8, eps1 float32's epsilon, eps2 1e-3, d 1).
 * Step 1 of W by hand: beta2_1 = 0, so R = row means of g^2 = (0.14/3, 0.1725/3),
 * C = column means (0.00625, 0.125, 0.025), V = R C / mean(R); rho_1 = min(0.01, 1) and
 * alpha = RMS(W0) * 0.01 = 0.0040825; U = g / sqrt(V) has RMS above 1, clipped to 1.
 * Reference: W after 1: 0.4949046714, -0.1965819497, 0.09490467142, 0.2977048469,
 * 0.3958943053, -0.5977048469; after 3: 0.4949904074, -0.2016599721, 0.09142443382,
 * 0.2982020652, 0.3958701744, -0.6029235784; b after 3: 0.09935020207, -0.2007544084,
 * 6.218434764e-05 (RMS(b) is 0.129, above eps2). With lr 0.5, wd 0.1, d 1.5, decay -0.5:
 * W after 3: 0.1606512381, -0.2230525266, -0.2187785241, 0.1919041108, 0.139466099,
 * -0.5953940475. */
static void test_adafactor(void) {
    double lr;
    OptimHyper h = hyper_of("adafactor", &lr);
    CHECK(lr == 1e-2 && h.beta2_decay == -0.8 && h.eps == 0x1p-23 && h.eps2 == 1e-3 &&
          h.clip_threshold == 1 && h.wd == 0);
    const double w1[6] = {0.4949046714, -0.1965819497, 0.09490467142, 0.2977048469, 0.3958943053, -0.5977048469};
    expect("adafactor", &h, (float)lr, 1, w1, 6, 2e-6);
    const double w3[9] = {0.4949904074, -0.2016599721, 0.09142443382, 0.2982020652, 0.3958701744,
                          -0.6029235784, 0.09935020207, -0.2007544084, 6.218434764e-05};
    expect("adafactor", &h, (float)lr, 3, w3, 9, 2e-6);
    h.wd = 0.1; h.clip_threshold = 1.5; h.beta2_decay = -0.5;
    const double w3b[6] = {0.1606512381, -0.2230525266, -0.2187785241, 0.1919041108, 0.139466099, -0.5953940475};
    expect("adafactor", &h, 0.5f, 3, w3b, 6, 4e-6);
    /* the factored state is a row and a column, PyTorch's shapes */
    Optim o;
    optim_init(&o, optim_find("adafactor"), &h, w_and_b, 2, 9);
    CHECK(o.n_states == 3 && o.n_state == 2 + 3 + 3);
    CHECK_STR(o.states[0].name, "row_var");
    CHECK(o.states[0].ndim == 2 && o.states[0].shape[0] == 2 && o.states[0].shape[1] == 1);
    CHECK_STR(o.states[1].name, "col_var");
    CHECK(o.states[1].shape[0] == 1 && o.states[1].shape[1] == 3);
    CHECK_STR(o.states[2].name, "variance");
    optim_free(&o);
}

/* LAMB, lr 1e-2, defaults otherwise (betas 0.9/0.999, eps 1e-6, wd 0.01 on weights): W is
 * adapted (u *= ||W|| / ||u||), b is not and has no decay. Step 1 by hand: m/(1-b1) = g,
 * sqrt(v)/sqrt(1-b2) = |g|, so u = sign(g) (1 - 1e-6 / |g|) + 0.01 W. Reference: W after 3:
 * 0.4950007955, -0.1943844273, 0.08459678855, 0.293051183, 0.3883534655, -0.5987251587;
 * b: 0.07901719109, -0.1978175927, -0.006886275111. With W0 x 10 the ratio ||W|| / ||u||
 * exceeds 1, and --trust-clip caps it at 1: 10 W after 3: 4.942407244, -1.942164673,
 * 0.8475437559, 2.927673402, 3.879084482, -5.978104328; with the cap: 4.988730501,
 * -1.986203298, 0.9741233796, 2.9828079, 3.979074324, -5.990112493. */
static void test_lamb(void) {
    double lr;
    OptimHyper h = hyper_of("lamb", &lr);
    CHECK(lr == 1e-3 && h.beta1 == 0.9 && h.beta2 == 0.999 && h.eps == 1e-6 && h.wd == 0.01 && !h.trust_clip);
    float p[9];
    const double want[9] = {0.4950007955, -0.1943844273, 0.08459678855, 0.293051183, 0.3883534655,
                            -0.5987251587, 0.07901719109, -0.1978175927, -0.006886275111};
    expect("lamb", &h, 1e-2f, 3, want, 9, 2e-6);
    float big[9];
    for (int i = 0; i < 9; i++) big[i] = 10 * P0[i];
    run_rule("lamb", &h, 1e-2f, w_and_b, 2, 9, big, G[0], 3, p);
    const double want_big[6] = {4.942407244, -1.942164673, 0.8475437559, 2.927673402, 3.879084482, -5.978104328};
    check_all(p, want_big, 6, 1e-5);
    h.trust_clip = 1;
    run_rule("lamb", &h, 1e-2f, w_and_b, 2, 9, big, G[0], 3, p);
    const double want_clip[6] = {4.988730501, -1.986203298, 0.9741233796, 2.9828079, 3.979074324, -5.990112493};
    check_all(p, want_clip, 6, 1e-5);
}

/* LARS, defaults (lr 1, momentum 0.9, eta 1e-3, eps 1e-8) with wd 1e-2 (on W only): W's
 * step is trust (g + wd W), trust = 1e-3 ||W|| / (||g|| + 1e-2 ||W|| + 1e-8); b takes plain
 * momentum SGD, by hand for b[0]: buf = 0.3, p = 0.1 - 0.3 = -0.2; buf = 0.9 * 0.3 + 0.1 = 0.37,
 * p = -0.57; buf = 0.333 - 0.2 = 0.133, p = -0.703 (b after 3: -0.703, -0.359, -0.0715).
 * Reference, W after 3: 0.499826987, -0.1993366846, 0.09802687442, 0.2995681308,
 * 0.3983861152, -0.6000033355; Nesterov: 0.4995989708, -0.19941807, 0.09740480599,
 * 0.2997203231, 0.3979088069, -0.6002258932. LARC at lr 0.1: trust / lr < 1, so the step
 * no longer depends on lr: the lr 1 numbers again; with eta 1 the ratio is clipped to 1 and
 * W follows momentum SGD: 0.4781153895, -0.1566829298, -0.0016545401, 0.2868074347,
 * 0.2984998796, -0.5990698694. */
static void test_lars(void) {
    double lr;
    OptimHyper h = hyper_of("lars", &lr);
    CHECK(lr == 1 && h.momentum == 0.9 && h.trust_coeff == 1e-3 && h.eps == 1e-8 && h.wd == 0 &&
          !h.nesterov && !h.trust_clip);
    h.wd = 1e-2;
    const double want[9] = {0.499826987, -0.1993366846, 0.09802687442, 0.2995681308, 0.3983861152,
                            -0.6000033355, -0.703, -0.359, -0.0715};
    expect("lars", &h, 1, 3, want, 9, 2e-6);
    h.trust_clip = 1;
    expect("lars", &h, 0.1f, 3, want, 6, 2e-6);
    h.trust_coeff = 1;
    const double clipped[6] = {0.4781153895, -0.1566829298, -0.0016545401, 0.2868074347, 0.2984998796, -0.5990698694};
    expect("lars", &h, 0.1f, 3, clipped, 6, 2e-6);
    h.trust_clip = 0; h.trust_coeff = 1e-3; h.nesterov = 1;
    const double nesterov[6] = {0.4995989708, -0.19941807, 0.09740480599, 0.2997203231, 0.3979088069, -0.6002258932};
    expect("lars", &h, 1, 3, nesterov, 6, 2e-6);
    /* no momentum, no state */
    h.momentum = 0;
    Optim o;
    optim_init(&o, optim_find("lars"), &h, w_and_b, 2, 9);
    CHECK(o.n_states == 0);
    optim_free(&o);
}

/* Lookahead (k 2, alpha 0.5) around momentum SGD (lr 0.1, momentum 0.9), p0 = 1, g = 1: by
 * hand, buf = 1, 1.9, 2.71, 3.439, 4.0951 and the fast weights 0.9, 0.71 -> synchronised to
 * 1 + 0.5 (0.71 - 1) = 0.855, then 0.584, 0.2401 -> 0.855 + 0.5 (0.2401 - 0.855) = 0.54755,
 * then 0.13804 (the reference prints the same). The inner state is not reset at a sync. */
static void test_lookahead_worked_example(void) {
    double lr;
    OptimHyper h = hyper_of("lookahead", &lr);
    CHECK(lr == 1e-3 && h.wd == 0.01 && h.lookahead_k == 5 && h.lookahead_alpha == 0.5 &&
          h.inner == optim_find("adamw"));
    h.inner = optim_find("sgd");
    h.momentum = 0.9;
    h.wd = 0;
    h.lookahead_k = 2;
    const OptTensor one[1] = {{"0.weight", 1, {1, 0}, ROLE_WEIGHT, 0, 1}};
    float g[5] = {1, 1, 1, 1, 1}, p0 = 1, p[1];
    const double want[5] = {0.9, 0.855, 0.584, 0.54755, 0.13804};
    for (int s = 1; s <= 5; s++) {
        run_rule("lookahead", &h, 0.1f, one, 1, 1, &p0, g, s, p);
        CHECK_NEAR(p[0], want[s - 1], 1e-6);
    }
}

/* Lookahead is its inner optimizer plus the slow weights, exactly: with alpha 1 it is the
 * inner row bit for bit (element-wise adamw and per-tensor lamb); with alpha 0.5 it equals the
 * inner row run by hand with the synchronisation every k steps done here. */
static void test_lookahead_wraps_exactly(void) {
    const char *inner[2] = {"adamw", "lamb"};
    for (int r = 0; r < 2; r++) {
        OptimHyper h = hyper_of(inner[r], NULL);
        h.inner = optim_find(inner[r]);
        h.lookahead_k = 3;
        h.lookahead_alpha = 1;
        float a[9], b[9], g[7 * 9];
        for (int i = 0; i < 7 * 9; i++) g[i] = G[i % 3][i % 9] * (1 + 0.1f * (float)(i / 9));
        run_rule("lookahead", &h, 1e-2f, w_and_b, 2, 9, P0, g, 7, a);
        run_rule(inner[r], &h, 1e-2f, w_and_b, 2, 9, P0, g, 7, b);
        CHECK(memcmp(a, b, sizeof a) == 0);
        h.lookahead_alpha = 0.5;
        run_rule("lookahead", &h, 1e-2f, w_and_b, 2, 9, P0, g, 7, a);
        Optim o;
        optim_init(&o, optim_find(inner[r]), &h, w_and_b, 2, 9);
        float slow[9];
        memcpy(b, P0, sizeof b);
        memcpy(slow, P0, sizeof slow);
        for (int t = 1; t <= 7; t++) {
            optim_step(&o, b, g + (t - 1) * 9, t, 1e-2f, NAN);
            if (t % 3 == 0)
                for (int i = 0; i < 9; i++) b[i] = slow[i] = torch_lerp(slow[i], b[i], 0.5f);
        }
        optim_free(&o);
        CHECK(memcmp(a, b, sizeof a) == 0);
        CHECK(memcmp(a, P0, sizeof a) != 0);
    }
}

/* The slow weights come first, then the inner row's state under its own names. */
static void test_lookahead_state(void) {
    OptimHyper h = hyper_of("lookahead", NULL);
    Optim o;
    optim_init(&o, optim_find("lookahead"), &h, w_and_b, 2, 9);
    CHECK(o.n_states == 6 && o.n_state == 27);
    CHECK_STR(o.states[0].name, "lookahead_slow_buff");
    CHECK_STR(o.states[1].name, "exp_avg");
    CHECK_STR(o.states[2].name, "exp_avg_sq");
    CHECK(o.states[0].ndim == 2 && o.states[0].shape[0] == 2 && o.states[0].shape[1] == 3);
    optim_free(&o);
    h.inner = optim_find("shampoo");
    h.block = 4;
    optim_init(&o, optim_find("lookahead"), &h, w_and_b, 2, 9);
    CHECK(o.n_states == 7 + 3);
    CHECK_STR(o.states[6].name, "preconditioner_right");
    CHECK_STR(o.states[7].name, "lookahead_slow_buff");
    optim_free(&o);
}

/* Muon at lr 0.02 (defaults otherwise: momentum 0.95, Nesterov, wd 0.1, 5 steps). The 2 x 3
 * W is wide, its transpose tall (the iteration then runs on the transpose, and the update is
 * scaled by sqrt(3/2)). Reference: W after 3: 0.4777217434, -0.1978116111, 0.06953803411,
 * 0.2887599799, 0.3650084156, -0.6144075058; W^T after 3: 0.4733877065, 0.2866375753,
 * -0.1975889367, 0.3576825461, 0.06282644091, -0.6184529833; match_rms_adamw without
 * Nesterov: 0.4902698591, -0.1964691504, 0.08449583198, 0.2943370879, 0.3824297816,
 * -0.6013379496. The bias goes to AdamW: the adamw row's bits exactly. */
static void test_muon(void) {
    double lr;
    OptimHyper h = hyper_of("muon", &lr);
    CHECK(lr == 1e-3 && h.momentum == 0.95 && h.nesterov && h.wd == 0.1 && h.ns_steps == 5 &&
          h.ns_eps == 1e-7 && h.muon_adjust == MUON_ADJUST_ORIGINAL && h.beta1 == 0.9 &&
          h.beta2 == 0.999 && h.eps == 1e-8);
    float p[9], q[9];
    const double wide[6] = {0.4777217434, -0.1978116111, 0.06953803411, 0.2887599799, 0.3650084156, -0.6144075058};
    expect("muon", &h, 0.02f, 3, wide, 6, 1e-5);
    run_rule("muon", &h, 0.02f, w_and_b, 2, 9, P0, G[0], 3, p);
    run_rule("adamw", &h, 0.02f, w_and_b, 2, 9, P0, G[0], 3, q);
    CHECK(memcmp(p + 6, q + 6, 3 * sizeof(float)) == 0);
    /* the transpose */
    const OptTensor tall[1] = {{"0.weight", 2, {3, 2}, ROLE_WEIGHT, 0, 6}};
    float pt[6], gt[18];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++) {
            pt[i * 2 + j] = P0[j * 3 + i];
            for (int s = 0; s < 3; s++) gt[s * 6 + i * 2 + j] = G[s][j * 3 + i];
        }
    run_rule("muon", &h, 0.02f, tall, 1, 6, pt, gt, 3, p);
    const double tall_want[6] = {0.4733877065, 0.2866375753, -0.1975889367, 0.3576825461, 0.06282644091, -0.6184529833};
    check_all(p, tall_want, 6, 1e-5);
    h.nesterov = 0;
    h.muon_adjust = MUON_ADJUST_MATCH_RMS_ADAMW;
    float g6[18];
    for (int s = 0; s < 3; s++) memcpy(g6 + 6 * s, G[s], 6 * sizeof(float));
    run_rule("muon", &h, 0.02f, w_and_b, 1, 6, P0, g6, 3, p);
    const double rms[6] = {0.4902698591, -0.1964691504, 0.08449583198, 0.2943370879, 0.3824297816, -0.6013379496};
    check_all(p, rms, 6, 1e-5);
    Optim o;
    optim_init(&o, optim_find("muon"), &h, w_and_b, 2, 9);
    CHECK(o.n_states == 3 && !strcmp(o.states[0].name, "momentum_buffer") &&
          !strcmp(o.states[1].name, "exp_avg") && !strcmp(o.states[2].name, "exp_avg_sq"));
    optim_free(&o);
}

/* Eigen-decomposition by cyclic Jacobi rotations, the plainest method there is: the
 * independent reference for symeig and the roots. a (n x n, destroyed) -> eigenvalues w,
 * eigenvectors as the columns of v. */
static void jacobi(int n, double *a, double *w, double *v) {
    for (int i = 0; i < n * n; i++) v[i] = i % (n + 1) == 0;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) off += a[i * n + j] * a[i * n + j];
        if (off < 1e-300) break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = a[p * n + q];
                if (apq == 0) continue;
                double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < n; k++) {   /* columns p, q, then rows p, q */
                    double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) {
                    double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                    double vkp = v[k * n + p], vkq = v[k * n + q];
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
    }
    for (int i = 0; i < n; i++) w[i] = a[i * n + i];
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double gaussian(Rng *r) {
    double u = (rng_u32(r) + 1.0) / 4294967297.0, v = rng_u32(r) / 4294967296.0;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* X = NS5(G) for a random Gaussian G, wide (16 x 40) and tall (40 x 16): the iteration acts on
 * the singular values alone, X = U phi(S / ||G||_F) V^T with phi five rounds of the quintic
 * a x + b x^3 + c x^5, so X X^T (wide) or X^T X (tall) must equal U phi^2 U^T, built here from
 * a Jacobi eigendecomposition of G G^T (or G^T G), to float32 accuracy (1e-3). The quintic is
 * tuned for speed, not convergence (phi(1) = 0.70): its output is orthogonal only up to the
 * band it leaves the singular values in, [0.68, 1.16] for every singular value above 0.003
 * of ||G||_F, which is checked too: every eigenvalue of X X^T lies in [0.68^2, 1.16^2]. */
static void test_newton_schulz_orthogonalises(void) {
    Rng r;
    rng_seed(&r, 7, STREAM_TEST);
    for (int shape = 0; shape < 2; shape++) {
        int rows = shape ? 40 : 16, cols = shape ? 16 : 40, m = 16, n = 40;
        float *x = malloc(sizeof(float) * 640), *work = malloc(sizeof(float) * (2 * 640 + 2 * 256));
        double *g = malloc(sizeof(double) * 640), a[256], u[256], w[16], want[256], got[256];
        double frob = 0;
        for (int i = 0; i < 640; i++) { x[i] = (float)gaussian(&r); g[i] = x[i]; frob += g[i] * g[i]; }
        newton_schulz(x, rows, cols, 5, 1e-7f, work);
        /* the m x m Gram matrices of G and of X along the long side */
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) {
                double sg = 0, sx = 0;
                for (int k = 0; k < n; k++) {
                    long ik = shape ? (long)k * cols + i : (long)i * cols + k;
                    long jk = shape ? (long)k * cols + j : (long)j * cols + k;
                    sg += g[ik] * g[jk];
                    sx += (double)x[ik] * x[jk];
                }
                a[i * m + j] = sg;
                got[i * m + j] = sx;
            }
        jacobi(m, a, w, u);
        for (int i = 0; i < m * m; i++) want[i] = 0;
        for (int k = 0; k < m; k++) {
            double s = sqrt(fmax(w[k], 0) / frob);
            for (int it = 0; it < 5; it++) s = 3.4445 * s - 4.7750 * pow(s, 3) + 2.0315 * pow(s, 5);
            CHECK(s >= 0.68 && s <= 1.16);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < m; j++) want[i * m + j] += s * s * u[i * m + k] * u[j * m + k];
        }
        double worst = 0;
        for (int i = 0; i < m * m; i++) worst = fmax(worst, fabs(got[i] - want[i]));
        CHECK(worst < 1e-3);
        jacobi(m, got, w, u);
        for (int k = 0; k < m; k++) CHECK(w[k] >= 0.68 * 0.68 && w[k] <= 1.16 * 1.16);
        free(x); free(work); free(g);
    }
}

/* symeig on random symmetric matrices (and trivial ones): a = sum w_i v_i v_i^T to 1e-12 of
 * its size, v orthonormal, the eigenvalues those of Jacobi's to 1e-10. */
static void test_symeig(void) {
    Rng r;
    rng_seed(&r, 3, STREAM_TEST);
    const int sizes[6] = {1, 2, 3, 17, 64, 130};
    for (int c = 0; c < 6; c++) {
        int n = sizes[c];
        double *a = malloc(sizeof(double) * n * n), *keep = malloc(sizeof(double) * n * n);
        double *v = malloc(sizeof(double) * n * n), *w = malloc(sizeof(double) * n);
        double *work = malloc(sizeof(double) * 4 * n), *wj = malloc(sizeof(double) * n);
        double *vj = malloc(sizeof(double) * n * n), scale = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++) {
                /* one case with repeated eigenvalues: the identity plus a rank-one term */
                double x = c == 2 ? (i == j) + 0.5 * (i + 1) * (j + 1) / 9.0 : gaussian(&r);
                a[i * n + j] = a[j * n + i] = x;
                scale = fmax(scale, fabs(x));
            }
        memcpy(keep, a, sizeof(double) * n * n);
        CHECK(symeig(n, a, w, v, work) == 0);
        double worst = 0, ortho = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double s = 0, d = 0;
                for (int k = 0; k < n; k++) {
                    s += w[k] * v[k * n + i] * v[k * n + j];
                    d += v[i * n + k] * v[j * n + k];
                }
                worst = fmax(worst, fabs(s - keep[i * n + j]));
                ortho = fmax(ortho, fabs(d - (i == j)));
            }
        CHECK(worst <= 1e-12 * scale * n);
        CHECK(ortho <= 1e-12 * n);
        jacobi(n, keep, wj, vj);
        qsort(w, (size_t)n, sizeof(double), cmp_double);
        qsort(wj, (size_t)n, sizeof(double), cmp_double);
        for (int i = 0; i < n; i++) CHECK_NEAR(w[i], wj[i], 1e-10 * scale * n);
        free(a); free(keep); free(v); free(w); free(work); free(wj); free(vj);
    }
}

/* Shampoo's roots (S + r I)^(-1/4), r = 1e-12 lambda_max, against the same function of a
 * Jacobi eigendecomposition: S = G G^T + 1e-12 I for a full-rank G (64 x 80: to 1e-5 of the
 * root's largest entry, and R^4 (S + r I) = I to 1e-4) and a rank-deficient one (64 x 16: 48
 * eigenvalues at the ridge, where the root is 1e3 times larger and the eigenvalues are known
 * to about 1e-16 lambda_max, 1e-4 of the ridge: to 1e-3 of the largest entry). */
static void test_inverse_root(void) {
    Rng r;
    rng_seed(&r, 5, STREAM_TEST);
    const int n = 64, ks[2] = {80, 16};
    for (int c = 0; c < 2; c++) {
        int k = ks[c];
        float *s = malloc(sizeof(float) * n * n), *root = malloc(sizeof(float) * n * n);
        double *g = malloc(sizeof(double) * n * k), *a = malloc(sizeof(double) * n * n);
        double *v = malloc(sizeof(double) * n * n), w[64];
        double *work = malloc(sizeof(double) * (size_t)inverse_root_work(n));
        for (int i = 0; i < n * k; i++) g[i] = gaussian(&r);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double x = 1e-12 * (i == j);
                for (int l = 0; l < k; l++) x += g[i * k + l] * g[j * k + l];
                s[i * n + j] = (float)x;
                a[i * n + j] = s[i * n + j];
            }
        CHECK(inverse_root(n, s, 4, 1e-12, root, work) == 0);
        jacobi(n, a, w, v);
        double top = 0, worst = 0, biggest = 0;
        for (int i = 0; i < n; i++) top = fmax(top, w[i]);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double x = 0;
                for (int l = 0; l < n; l++) x += pow(fmax(w[l], 0) + 1e-12 * top, -0.25) * v[i * n + l] * v[j * n + l];
                worst = fmax(worst, fabs(x - root[i * n + j]));
                biggest = fmax(biggest, fabs(x));
            }
        CHECK(worst <= (c == 0 ? 1e-5 : 1e-3) * biggest);
        if (c == 1) { free(s); free(root); free(g); free(a); free(v); free(work); continue; }
        /* R^4 (S + r I) = I (in float32 this only holds for a well-conditioned S) */
        double *p2 = malloc(sizeof(double) * n * n), *p4 = malloc(sizeof(double) * n * n), res = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double x = 0;
                for (int l = 0; l < n; l++) x += (double)root[i * n + l] * root[l * n + j];
                p2[i * n + j] = x;
            }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double x = 0;
                for (int l = 0; l < n; l++) x += p2[i * n + l] * p2[l * n + j];
                p4[i * n + j] = x;
            }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double x = 0;
                for (int l = 0; l < n; l++) x += p4[i * n + l] * ((double)s[l * n + j] + (l == j) * 1e-12 * top);
                res = fmax(res, fabs(x - (i == j)));
            }
        CHECK(res < 1e-4);
        free(s); free(root); free(g); free(a); free(v); free(work); free(p2); free(p4);
    }
}

/* Shampoo, defaults (lr 1e-2, momentum 0.9, Nesterov, eps 1e-6, matrix eps 1e-12, roots every
 * step) with --block 4: W (2 x 3, 6 > 4 elements) is one block with L 2 x 2 and R 3 x 3, b is
 * a vector (S = g, grafted). Reference: W after 1: 0.4801578648, -0.1869530671,
 * 0.07721735608, 0.28475805, 0.3710233455, -0.6033193529 (at t = 1 the Adagrad step is
 * sign(g) (1 - 1e-6/|g|): ||A|| = sqrt(6), so the step has norm ~ 1.9 * 0.01 * 2.449);
 * after 3: 0.4640292916, -0.1998680543, 0.02621388329, 0.2695787171, 0.3431851087,
 * -0.6307050296; b after 3: 0.05365368855, -0.2049972036, -0.009196198313.
 * W5 (5 x 3, entries (i - 7) / 10), block 2: blocks of rows 2, 2, 1 by columns 2, 1, roots
 * at t = 2 only (precond every 2: identity roots before), wd 0.01, no Nesterov, gradients
 * sin(k (s + 1.3)): W5 after 3: -0.6984582085, -0.6510129374, -0.5096256218, -0.3837462305,
 * -0.2750791253, -0.179624872, -0.1550951793, -0.001126302911, 0.137631697, 0.220949091,
 * 0.2928872551, 0.3693600514, 0.4726025001, 0.6542604065, 0.6954678563. */
static void test_shampoo(void) {
    double lr;
    OptimHyper h = hyper_of("shampoo", &lr);
    CHECK(lr == 1e-2 && h.momentum == 0.9 && h.nesterov && h.eps == 1e-6 && h.matrix_eps == 1e-12 &&
          h.block == 128 && h.precond_every == 1 && h.wd == 0);
    h.block = 4;
    float p[15];
    const double w1[6] = {0.4801578648, -0.1869530671, 0.07721735608, 0.28475805, 0.3710233455, -0.6033193529};
    expect("shampoo", &h, (float)lr, 1, w1, 6, 1e-5);
    const double w3[9] = {0.4640292916, -0.1998680543, 0.02621388329, 0.2695787171, 0.3431851087,
                          -0.6307050296, 0.05365368855, -0.2049972036, -0.009196198313};
    expect("shampoo", &h, (float)lr, 3, w3, 9, 1e-5);

    const OptTensor w5[1] = {{"0.weight", 2, {5, 3}, ROLE_WEIGHT, 0, 15}};
    float p5[15], g5[45];
    for (int i = 0; i < 15; i++) p5[i] = (float)(i / 10.0 - 0.7);
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < 15; i++) g5[s * 15 + i] = (float)sin(i * (s + 1.3));
    h.block = 2; h.precond_every = 2; h.wd = 0.01; h.nesterov = 0;
    run_rule("shampoo", &h, (float)lr, w5, 1, 15, p5, g5, 3, p);
    const double want5[15] = {-0.6984582085, -0.6510129374, -0.5096256218, -0.3837462305, -0.2750791253,
                              -0.179624872, -0.1550951793, -0.001126302911, 0.137631697, 0.220949091,
                              0.2928872551, 0.3693600514, 0.4726025001, 0.6542604065, 0.6954678563};
    check_all(p, want5, 15, 1e-5);
    /* its state: statistics and roots of 6 blocks, L: 2 columns of blocks x (4 + 4 + 1),
     * R: 3 rows of blocks x (4 + 1); the roots are still I after one step */
    Optim o;
    optim_init(&o, optim_find("shampoo"), &h, w5, 1, 15);
    CHECK(o.n_states == 6);
    const char *names[6] = {"momentum", "graft_statistics", "statistics_left", "statistics_right",
                            "preconditioner_left", "preconditioner_right"};
    const long sizes[6] = {15, 15, 18, 15, 18, 15};
    for (int i = 0; i < 6; i++) CHECK(!strcmp(o.states[i].name, names[i]) && o.states[i].size == sizes[i]);
    memcpy(p, p5, sizeof p5);
    optim_step(&o, p, g5, 1, 0.01f, NAN);
    const float *left_root = o.state + o.states[4].offset;
    CHECK(left_root[0] == 1 && left_root[1] == 0 && left_root[2] == 0 && left_root[3] == 1);
    const float *left = o.state + o.states[2].offset;   /* block (0,0): g rows 0-1, cols 0-1 */
    CHECK_NEAR(left[1], g5[0] * g5[3] + g5[1] * g5[4], 1e-6);
    CHECK_NEAR(left[0], 1e-12 + g5[0] * g5[0] + g5[1] * g5[1], 1e-6);
    optim_free(&o);
    /* a matrix of at most --block elements is a vector to Shampoo, as in the reference */
    h.block = 128;
    optim_init(&o, optim_find("shampoo"), &h, w5, 1, 15);
    CHECK(o.n_states == 2 && o.n_state == 30);
    optim_free(&o);
}

/* `train optimizers` reports the state optim_init allocates for 784-256-256-10 with each
 * row's defaults: counted here by hand. */
static void test_state_memory(void) {
    const long weights = 784 * 256 + 256 * 256 + 256 * 10, biases = 256 + 256 + 10;
    long bytes, params;
    optim_default_memory(optim_find("sgd"), &bytes, &params);
    CHECK(bytes == 0 && params == weights + biases);
    optim_default_memory(optim_find("momentum"), &bytes, &params);
    CHECK(bytes == 4 * params);
    optim_default_memory(optim_find("adam"), &bytes, &params);
    CHECK(bytes == 8 * params);
    optim_default_memory(optim_find("adadelta"), &bytes, &params);
    CHECK(bytes == 8 * params);
    /* rows + cols per matrix, full for the biases */
    optim_default_memory(optim_find("adafactor"), &bytes, &params);
    CHECK(bytes == 4 * ((256 + 784) + (256 + 256) + (10 + 256) + biases));
    optim_default_memory(optim_find("lookahead"), &bytes, &params);
    CHECK(bytes == 12 * params);
    optim_default_memory(optim_find("muon"), &bytes, &params);
    CHECK(bytes == 4 * (weights + 2 * biases));
    /* blocks of 128: 0.weight 2 x 7 blocks (L 7 x 2 x 128^2; R 2 x (6 x 128^2 + 16^2)),
     * 2.weight 2 x 2 (L and R 4 x 128^2 each), 4.weight 1 x 2 (L 2 x 10^2, R 2 x 128^2);
     * statistics and roots */
    long blocks = 7 * 2 * 16384 + 2 * (6 * 16384 + 256) + 2 * 4 * 16384 + 2 * 100 + 2 * 16384;
    optim_default_memory(optim_find("shampoo"), &bytes, &params);
    CHECK(bytes == 4 * (2 * params + 2 * blocks));
}

int main(void) {
    RUN(test_adadelta);
    RUN(test_adafactor);
    RUN(test_lamb);
    RUN(test_lars);
    RUN(test_lookahead_worked_example);
    RUN(test_lookahead_wraps_exactly);
    RUN(test_lookahead_state);
    RUN(test_muon);
    RUN(test_newton_schulz_orthogonalises);
    RUN(test_symeig);
    RUN(test_inverse_root);
    RUN(test_shampoo);
    RUN(test_state_memory);
    return test_summary();
}
