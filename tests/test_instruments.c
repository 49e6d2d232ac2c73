/* The instruments: curvature (Lanczos against a dense Hessian and a known spectrum,
 * Hutchinson within its standard error), the gradient noise scale on a problem of known
 * gradient covariance and per-example norms against single-example gradients, landscape
 * directions (filter normalisation, PCA, planes, lines), the 2-D test functions (derivatives
 * against finite differences, the condition-number theory of gradient descent and momentum),
 * the contour SVG; then the commands end to end on tiny MNIST runs: --log-curvature and
 * --log-noise (columns, plots, resume), `train curvature` (curvature.json), `train landscape`
 * (a line's ends equal the checkpoints' evaluated losses; planes) and `train trajectories`. */
#include "test.h"
#define RUNS "tests/tmp/instruments"
#include "e2e.h"
#include "formats/contour.h"
#include "formats/logcsv.h"
#include "instruments/curvature.h"
#include "instruments/eigen.h"
#include "instruments/landscape.h"
#include "instruments/noise.h"
#include "instruments/trajectories.h"
#include "instruments/vec.h"
#include "nn/model.h"
#include "optim/optim.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

static void build(Net *n, const char *spec, LayerKind loss, int rows) {
    ModelSpec m;
    char err[ERR_LEN];
    if (model_spec_parse_list(spec, &m, err) != 0) { fprintf(stderr, "  %s\n", err); exit(1); }
    model_spec_add_loss(&m, loss, 0);
    if (model_build(n, &m, 0, err) != 0) { fprintf(stderr, "  %s\n", err); exit(1); }
    net_alloc(n, rows);
    net_init_params(n, 1);
}

/* A dataset of n random images (dim bytes each) with labels in [0, classes), in memory. */
static Dataset random_dataset(int n, int rows, int cols, int classes, uint64_t seed) {
    Dataset d = {.n = n, .rows = rows, .cols = cols, .dim = rows * cols, .n_classes = classes, .owns = 1};
    d.images = malloc((size_t)n * d.dim);
    d.labels = malloc((size_t)n);
    Rng r;
    rng_seed(&r, seed, STREAM_TEST);
    for (long i = 0; i < (long)n * d.dim; i++) d.images[i] = (uint8_t)rng_below(&r, 256);
    for (int i = 0; i < n; i++) d.labels[i] = (uint8_t)rng_below(&r, (uint32_t)classes);
    return d;
}

/* The dense Hessian of an operator, column by column (p x p, symmetrised). */
static double *dense_hessian(const CurvOperator *op) {
    long p = op->n;
    double *H = malloc(sizeof(double) * (size_t)(p * p));
    float *e = xalloc_floats((size_t)p), *col = xalloc_floats((size_t)p);
    for (long j = 0; j < p; j++) {
        memset(e, 0, sizeof(float) * (size_t)p);
        e[j] = 1;
        op->apply(op->ctx, e, col);
        for (long i = 0; i < p; i++) H[i * p + j] = col[i];
    }
    for (long i = 0; i < p; i++)
        for (long j = 0; j < i; j++) H[i * p + j] = H[j * p + i] = 0.5 * (H[i * p + j] + H[j * p + i]);
    free(e);
    free(col);
    return H;
}

/* Eigenvalues of a dense symmetric matrix by a method independent of the one under test:
 * Householder reduction to tridiagonal form, then bisection on Sturm sequence counts.
 * Writes the eigenvalues in decreasing order into w (a is destroyed). */
static void reference_eigenvalues(double *a, int n, double *w) {
    double *d = malloc(sizeof(double) * (size_t)n), *e = calloc((size_t)n, sizeof(double));
    double *v = malloc(sizeof(double) * (size_t)n), *p = malloc(sizeof(double) * (size_t)n);
    for (int k = 0; k + 2 < n; k++) {   /* zero column k below the subdiagonal */
        double alpha = 0;
        for (int i = k + 1; i < n; i++) alpha += a[i * n + k] * a[i * n + k];
        alpha = sqrt(alpha);
        if (alpha == 0) continue;
        if (a[(k + 1) * n + k] > 0) alpha = -alpha;
        double vnorm = 0;
        for (int i = 0; i < n; i++) v[i] = i <= k ? 0 : a[i * n + k];
        v[k + 1] -= alpha;
        for (int i = k + 1; i < n; i++) vnorm += v[i] * v[i];
        if (vnorm == 0) continue;
        /* A <- (I - 2vv^T/|v|^2) A (I - 2vv^T/|v|^2) */
        for (int i = 0; i < n; i++) {
            p[i] = 0;
            for (int j = k + 1; j < n; j++) p[i] += a[i * n + j] * v[j];
            p[i] *= 2 / vnorm;
        }
        double vp = 0;
        for (int i = k + 1; i < n; i++) vp += v[i] * p[i];
        for (int i = 0; i < n; i++) p[i] -= vp / vnorm * v[i];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) a[i * n + j] -= v[i] * p[j] + p[i] * v[j];
    }
    double bound = 0;
    for (int i = 0; i < n; i++) {
        d[i] = a[i * n + i];
        if (i + 1 < n) e[i] = a[(i + 1) * n + i];
    }
    for (int i = 0; i < n; i++) bound = fmax(bound, fabs(d[i]) + fabs(e[i]) + (i ? fabs(e[i - 1]) : 0));
    /* count(x): eigenvalues below x (the negative pivots of T - x I) */
    for (int k = 0; k < n; k++) {   /* the (n - k)-th smallest is the k-th largest */
        double lo = -bound - 1, hi = bound + 1;
        for (int it = 0; it < 200; it++) {
            double mid = 0.5 * (lo + hi), q = 1;
            int count = 0;
            for (int i = 0; i < n; i++) {
                q = d[i] - mid - (i ? e[i - 1] * e[i - 1] / q : 0);
                if (q == 0) q = 1e-300;
                count += q < 0;
            }
            if (count > n - 1 - k) hi = mid; else lo = mid;
        }
        w[k] = 0.5 * (lo + hi);
    }
    free(d); free(e); free(v); free(p);
}

/* A small XML well-formedness check: tags nest and close in order, attributes are quoted,
 * text holds only the five predefined entities or numeric ones, one root element. */
static int xml_ok(const char *s) {
    const char *stack[256];
    size_t lens[256];
    int depth = 0, roots = 0;
    while (*s) {
        if (*s == '&') {
            const char *ents[] = {"&lt;", "&gt;", "&amp;", "&quot;", "&apos;"};
            int ok = s[1] == '#';
            for (int i = 0; i < 5; i++) ok |= !strncmp(s, ents[i], strlen(ents[i]));
            if (!ok) return 0;
            s++;
            continue;
        }
        if (*s != '<') { s++; continue; }
        if (!strncmp(s, "<?", 2) || !strncmp(s, "<!--", 4)) {
            const char *end = strstr(s, s[1] == '?' ? "?>" : "-->");
            if (!end) return 0;
            s = end + 2;
            continue;
        }
        int closing = s[1] == '/';
        const char *name = s + 1 + closing, *p = name;
        while (*p && (isalnum((unsigned char)*p) || *p == ':' || *p == '-' || *p == '_')) p++;
        size_t len = (size_t)(p - name);
        if (!len) return 0;
        while (*p && *p != '>' && !(p[0] == '/' && p[1] == '>')) {   /* attributes */
            while (*p == ' ' || *p == '\n') p++;
            if (*p == '>' || (p[0] == '/' && p[1] == '>')) break;
            while (*p && *p != '=' && *p != '>' && *p != ' ') p++;
            if (*p != '=' || p[1] != '"') return 0;
            const char *q = strchr(p + 2, '"');
            if (!q || memchr(p + 2, '<', (size_t)(q - p - 2))) return 0;
            p = q + 1;
        }
        if (!*p) return 0;
        int self = p[0] == '/';
        if (closing) {
            if (!depth || lens[depth - 1] != len || strncmp(stack[depth - 1], name, len)) return 0;
            depth--;
        } else if (!self) {
            if (depth == 0) roots++;
            if (depth == 256) return 0;
            stack[depth] = name;
            lens[depth++] = len;
        } else if (depth == 0) {
            roots++;
        }
        s = p + (self ? 2 : 1);
    }
    return depth == 0 && roots == 1;
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static char *slurp(const char *path) {
    char err[ERR_LEN];
    char *s = read_file(path, NULL, err);
    if (!s) fprintf(stderr, "  %s\n", err);
    return s;
}

/* ---------------------------------------------------------------- eigen, Lanczos, Hutchinson */

/* Q diag(lambda) Q^T with Q a product of three Householder reflections: the Jacobi solver
 * returns lambda (sorted) and orthonormal vectors with A v = lambda v. */
static void test_jacobi_known_spectrum(void) {
    enum { N = 7 };
    double lambda[N] = {-3, 0.5, 9, 2, 2, -0.25, 6}, want[N] = {9, 6, 2, 2, 0.5, -0.25, -3};
    double q[N * N], a[N * N], a0[N * N], w[N], v[N * N];
    for (int i = 0; i < N * N; i++) q[i] = i % (N + 1) == 0;
    Rng r;
    rng_seed(&r, 3, STREAM_TEST);
    for (int h = 0; h < 3; h++) {
        double u[N], un = 0, t[N * N];
        for (int i = 0; i < N; i++) { u[i] = rng_uniform(&r) - 0.5; un += u[i] * u[i]; }
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int k = 0; k < N; k++) s += q[i * N + k] * ((k == j) - 2 * u[k] * u[j] / un);
                t[i * N + j] = s;
            }
        memcpy(q, t, sizeof q);
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < N; k++) s += q[i * N + k] * lambda[k] * q[j * N + k];
            a[i * N + j] = s;
        }
    memcpy(a0, a, sizeof a);
    sym_eigen(a, N, w, v);
    for (int k = 0; k < N; k++) {
        CHECK_NEAR(w[k], want[k], 1e-12);
        for (int i = 0; i < N; i++) {
            double av = 0;
            for (int j = 0; j < N; j++) av += a0[i * N + j] * v[j * N + k];
            CHECK_NEAR(av, w[k] * v[i * N + k], 1e-11);
        }
        for (int l = 0; l < N; l++) {
            double dot = 0;
            for (int i = 0; i < N; i++) dot += v[i * N + k] * v[i * N + l];
            CHECK_NEAR(dot, k == l, 1e-12);
        }
    }
}

/* H v of a network on the rows already in its input (one chunk) */
typedef struct { Hvp h; int rows; } RowsOp;
static void rows_apply(void *ctx, const float *v, float *hv) {
    RowsOp *o = ctx;
    memset(hv, 0, sizeof(float) * (size_t)o->h.net->n_params);
    hvp_rows(&o->h, v, hv, o->rows);
}

/* A linear model with MSE on one output, on inputs +-a_k e_k: the Hessian of the mean loss
 * (2/N) sum_i [x_i; 1][x_i; 1]^T is diagonal, diag(4 a_k^2 / N, ..., 2) (the +- pairs cancel
 * the cross terms). With a_k = sqrt(lambda_k N / 4) its spectrum is exactly lambda and 2:
 * Lanczos finds it, and Hutchinson's estimate of a diagonal matrix is exact (z_i^2 = 1),
 * with a standard error of 0. */
static void test_known_spectrum(void) {
    enum { D = 6, N = 2 * D };
    double lambda[D] = {10, 7, 5, 3, 1, 0.5};
    Net n;
    build(&n, "input 6, linear 1", LAYER_MSE, N);
    int labels[N] = {0};
    float *x = net_input(&n);
    memset(x, 0, sizeof(float) * N * D);
    for (int k = 0; k < D; k++) {
        float a = (float)sqrt(lambda[k] * N / 4);
        x[(2 * k) * D + k] = a;
        x[(2 * k + 1) * D + k] = -a;
    }
    n.labels = labels;
    n.loss_scale = 1.0f / N;
    n.training = 0;
    RowsOp ro = {{0}, N};
    hvp_init(&ro.h, &n);
    CurvOperator op = {rows_apply, &ro, n.n_params};
    LanczosWork w;
    lanczos_alloc(&w, n.n_params, 50);
    LanczosOpts o = {4, 1e-6, 7};
    LanczosResult r;
    lanczos_top(&op, &w, &o, &r, NULL);
    double want[4] = {10, 7, 5, 3};
    CHECK(r.n == 4 && r.converged);
    for (int i = 0; i < 4; i++) {
        CHECK_NEAR(r.value[i], want[i], 2e-5 * want[i]);
        CHECK(r.residual[i] <= 1e-6 * 10 + 1e-9);
    }
    CHECK(r.iterations <= n.n_params);
    float *z = xalloc_floats((size_t)n.n_params), *hz = xalloc_floats((size_t)n.n_params);
    double se, tr = hutchinson_trace(&op, 10, 5, z, hz, &se);
    CHECK_NEAR(tr, 10 + 7 + 5 + 3 + 1 + 0.5 + 2, 1e-4);
    CHECK_NEAR(se, 0, 1e-5);
    free(z); free(hz);
    lanczos_free(&w);
    hvp_free(&ro.h);
    net_free(&n);
}

/* A small MLP on a dataset in memory: the dense Hessian built from products, and its
 * eigenvalues by an independent method (Householder + bisection), against Lanczos's top
 * three (within their residual bounds) and the trace against Hutchinson's estimate, which
 * must lie within three of its reported standard errors; that standard error must match
 * the theory for Rademacher probes, Var(z^T H z) = 2 sum_{i != j} H_ij^2. The products run
 * over 10 examples in chunks of 4 (the network's capacity): the same Hessian as one chunk. */
static void test_lanczos_mlp(void) {
    Net n, whole;
    build(&n, "input 6, linear 5, tanh, linear 4, gelu, linear 3", LAYER_CROSS_ENTROPY, 4);
    build(&whole, "input 6, linear 5, tanh, linear 4, gelu, linear 3", LAYER_CROSS_ENTROPY, 10);
    Dataset d = random_dataset(10, 2, 3, 3, 11);
    CurvData cd, cw;
    curv_data_init(&cd, &n, &d, 10);
    curv_data_init(&cw, &whole, &d, 10);
    CurvOperator op = curv_data_operator(&cd), opw = curv_data_operator(&cw);
    long p = n.n_params;
    n.training = 1;   /* the products run in evaluation mode and put the mode back */
    double *H = dense_hessian(&op), *Hw = dense_hessian(&opw), worst = 0, scale = 0;
    for (long i = 0; i < p * p; i++) {
        worst = fmax(worst, fabs(H[i] - Hw[i]));
        scale = fmax(scale, fabs(H[i]));
    }
    CHECK(scale > 1e-3 && worst <= 1e-5 * scale);
    CHECK(n.training == 1 && n.labels == NULL);
    double trace = 0, off = 0, *ev = malloc(sizeof(double) * (size_t)p);
    for (long i = 0; i < p; i++) {
        trace += H[i * p + i];
        for (long j = 0; j < p; j++) if (i != j) off += H[i * p + j] * H[i * p + j];
    }
    reference_eigenvalues(H, (int)p, ev);
    double sum = 0;
    for (long i = 0; i < p; i++) sum += ev[i];
    CHECK_NEAR(sum, trace, 1e-9 * fmax(1, fabs(trace)));   /* the reference solver itself */
    LanczosWork w;
    lanczos_alloc(&w, p, (int)p);
    LanczosOpts o = {3, 1e-7, 21};
    LanczosResult r;
    float *vec = xalloc_floats((size_t)p), *hv = xalloc_floats((size_t)p);
    lanczos_top(&op, &w, &o, &r, vec);
    CHECK(r.n == 3);
    for (int i = 0; i < 3; i++) {
        CHECK_NEAR(r.value[i], ev[i], r.residual[i] + 1e-5 * ev[0]);
        CHECK_NEAR(r.value[i], ev[i], 1e-4 * ev[0]);
    }
    /* the returned vector is a unit eigenvector of the largest */
    op.apply(op.ctx, vec, hv);
    CHECK_NEAR(vec_norm(vec, p), 1, 1e-5);
    for (long i = 0; i < p; i++) CHECK_NEAR(hv[i], r.value[0] * vec[i], 1e-3 * ev[0]);
    int probes = 4000;
    double se, est = hutchinson_trace(&op, probes, 3, vec, hv, &se);
    CHECK(fabs(est - trace) <= 3 * se);
    CHECK_NEAR(se, sqrt(2 * off / probes), 0.1 * sqrt(2 * off / probes));
    free(vec); free(hv); free(H); free(Hw); free(ev);
    lanczos_free(&w);
    curv_data_free(&cd);
    curv_data_free(&cw);
    dataset_free(&d);
    net_free(&n);
    net_free(&whole);
}

/* ---------------------------------------------------------------- the noise scale */

/* Per-example gradients g_i = G + eps_i with eps_i ~ N(0, diag(s^2)): tr(Sigma) = sum s^2.
 * Batches of B = 32 from which per-example (b = 1) and per-micro-batch (b = 8) norms are
 * measured: averaged over steps, each estimate of |G|^2 and tr(Sigma) is unbiased (within
 * four standard errors of the mean), and the smoothed noise scale lands near the truth. */
static void test_noise_known_covariance(void) {
    enum { P = 40, B = 32, STEPS = 4000 };
    double G[P], s[P], g2 = 0, tr = 0;
    Rng r;
    rng_seed(&r, 17, STREAM_TEST);
    for (int k = 0; k < P; k++) {
        G[k] = 0.3 * (rng_uniform(&r) - 0.5);
        s[k] = 0.2 + rng_uniform(&r);
        g2 += G[k] * G[k];
        tr += s[k] * s[k];
    }
    float eps[P];
    for (int b = 1; b <= 8; b *= 8) {
        NoiseEma ema = {0, 0};
        double sum_g2 = 0, sum_tr = 0, sq_g2 = 0, sq_tr = 0;
        for (int step = 0; step < STEPS; step++) {
            double mean[P] = {0}, small = 0, chunk[P];
            for (int i = 0; i < B; i++) {
                if (i % b == 0) memset(chunk, 0, sizeof chunk);
                vec_gaussian(eps, P, &r);
                for (int k = 0; k < P; k++) {
                    double gi = G[k] + s[k] * eps[k];
                    mean[k] += gi / B;
                    chunk[k] += gi / b;
                }
                if (i % b == b - 1) {
                    double c = 0;
                    for (int k = 0; k < P; k++) c += chunk[k] * chunk[k];
                    small += c / (B / b);
                }
            }
            double big = 0, eg2, etr;
            for (int k = 0; k < P; k++) big += mean[k] * mean[k];
            noise_estimate(b, small, B, big, &eg2, &etr);
            noise_ema_update(&ema, eg2, etr);
            sum_g2 += eg2; sq_g2 += eg2 * eg2;
            sum_tr += etr; sq_tr += etr * etr;
        }
        double m_g2 = sum_g2 / STEPS, m_tr = sum_tr / STEPS;
        double se_g2 = sqrt((sq_g2 / STEPS - m_g2 * m_g2) / STEPS), se_tr = sqrt((sq_tr / STEPS - m_tr * m_tr) / STEPS);
        CHECK_NEAR(m_g2, g2, 4 * se_g2);
        CHECK_NEAR(m_tr, tr, 4 * se_tr);
        /* the EMA keeps about the last 100 steps: a 30% band holds it */
        CHECK_NEAR(noise_ema_scale(&ema), tr / g2, 0.3 * tr / g2);
    }
    NoiseEma empty = {0, 0};
    CHECK(isnan(noise_ema_scale(&empty)));
}

/* |delta_i|^2 (|x_i|^2 + 1) summed over Linear layers equals the squared norm of each
 * example's own gradient, computed here by a backward pass over that row alone. */
static void test_noise_per_example_norms(void) {
    enum { R = 5 };
    Net n, one;
    build(&n, "input 6, linear 5, relu, linear 4, tanh, dropout 0, linear 3", LAYER_CROSS_ENTROPY, R);
    build(&one, "input 6, linear 5, relu, linear 4, tanh, dropout 0, linear 3", LAYER_CROSS_ENTROPY, 1);
    const char *why = NULL;
    CHECK(noise_per_example_ok(&n, &why));
    Rng r;
    rng_seed(&r, 2, STREAM_TEST);
    int labels[R];
    for (int i = 0; i < R * 6; i++) net_input(&n)[i] = 2 * rng_uniform(&r) - 1;
    for (int i = 0; i < R; i++) labels[i] = i % 3;
    n.labels = labels;
    n.training = 1;
    n.loss_scale = 1.0f / R;
    n.overwrite_grads = 1;
    net_forward(&n, R);
    net_backward(&n, R);
    double want = 0;
    for (int i = 0; i < R; i++) {
        memcpy(net_input(&one), net_input(&n) + i * 6, sizeof(float) * 6);
        one.labels = labels + i;
        one.training = 1;
        one.loss_scale = 1;
        one.overwrite_grads = 1;
        net_forward(&one, 1);
        net_backward(&one, 1);
        want += vec_dot(one.grads, one.grads, one.n_params);
    }
    CHECK_NEAR(noise_example_sq_sum(&n, R), want, 1e-5 * want);
    Net ln;
    build(&ln, "input 6, linear 5, layernorm, relu, linear 3", LAYER_CROSS_ENTROPY, 2);
    CHECK(!noise_per_example_ok(&ln, &why) && !strcmp(why, "layernorm"));
    net_free(&n); net_free(&one); net_free(&ln);
}

/* ---------------------------------------------------------------- landscapes */

/* Every row of a weight matrix of the direction has that row's norm in the weights; the
 * entries of biases and norm parameters are 0. */
static void test_filter_normalisation(void) {
    Net n;
    build(&n, "input 7, linear 5, layernorm, relu, linear 3", LAYER_CROSS_ENTROPY, 2);
    for (long i = 0; i < n.n_params; i++) n.params[i] *= 1 + 0.1f * (float)(i % 7);   /* rows of unequal norm */
    float *d = xalloc_floats((size_t)n.n_params);
    Rng r;
    rng_seed(&r, 4, STREAM_DIRECTIONS);
    landscape_random_direction(&n, n.params, d, &r);
    int rows = 0;
    for (int t = 0; t < n.n_tensors; t++) {
        const NetTensor *ten = &n.tensors[t];
        if (ten->role == ROLE_BUFFER) continue;
        if (ten->ndim == 1) {
            for (long i = 0; i < ten->size; i++) CHECK(d[ten->offset + i] == 0);
            continue;
        }
        for (int row = 0; row < ten->shape[0]; row++, rows++) {
            long at = ten->offset + (long)row * ten->shape[1];
            CHECK_NEAR(vec_norm(d + at, ten->shape[1]), vec_norm(n.params + at, ten->shape[1]),
                       1e-5 * vec_norm(n.params + at, ten->shape[1]));
        }
    }
    CHECK(rows == 5 + 3);
    free(d);
    net_free(&n);
}

/* Points c + a_i u + b_i w + small noise: the two components are orthonormal, span (u, w)
 * (each lies in the plane up to the noise), explain nearly everything, the first more; the
 * plane's coordinates of c + a u + b w come back; a line is exact at its ends. */
static void test_pca_and_planes(void) {
    enum { P = 300, K = 12 };
    float *u = xalloc_floats(P), *w = xalloc_floats(P), *c = xalloc_floats(P), *pts[K], *d1 = xalloc_floats(P),
          *d2 = xalloc_floats(P), *noise = xalloc_floats(P);
    Rng r;
    rng_seed(&r, 8, STREAM_TEST);
    vec_gaussian(u, P, &r);
    vec_gaussian(w, P, &r);
    vec_gaussian(c, P, &r);
    for (int i = 0; i < K; i++) {
        pts[i] = xalloc_floats(P);
        vec_gaussian(noise, P, &r);
        landscape_plane_point(c, u, w, 3.0 * i, 1.5 * sin(i), pts[i], P);
        vec_axpy(pts[i], 1e-3, noise, P);
    }
    double ex[2];
    CHECK(landscape_pca((const float *const *)pts, K, P, d1, d2, ex) == 0);
    CHECK_NEAR(vec_norm(d1, P), 1, 1e-6);
    CHECK_NEAR(vec_norm(d2, P), 1, 1e-6);
    CHECK_NEAR(vec_dot(d1, d2, P), 0, 1e-5);
    CHECK(ex[0] > ex[1] && ex[0] + ex[1] > 0.999 && ex[0] + ex[1] <= 1 + 1e-12);
    /* u lies in span(d1, d2): its projection keeps its length */
    double pu1 = vec_dot(u, d1, P), pu2 = vec_dot(u, d2, P);
    CHECK_NEAR(sqrt(pu1 * pu1 + pu2 * pu2), vec_norm(u, P), 1e-3 * vec_norm(u, P));
    double a, b;
    float *x = xalloc_floats(P);
    landscape_plane_point(c, u, w, -0.75, 2.5, x, P);
    landscape_plane_coords(x, c, u, w, P, &a, &b);
    CHECK_NEAR(a, -0.75, 1e-5);
    CHECK_NEAR(b, 2.5, 1e-5);
    landscape_lerp(u, w, 0, x, P);
    CHECK(!memcmp(x, u, sizeof(float) * P));
    landscape_lerp(u, w, 1, x, P);
    CHECK(!memcmp(x, w, sizeof(float) * P));
    float *same[3] = {pts[0], pts[0], pts[0]};
    CHECK(landscape_pca((const float *const *)same, 3, P, d1, d2, ex) == -1);   /* no spread */
    for (int i = 0; i < K; i++) free(pts[i]);
    free(u); free(w); free(c); free(d1); free(d2); free(noise); free(x);
}

/* ---------------------------------------------------------------- 2-D functions */

/* Every function's gradient and Hessian against central differences of f and of the
 * gradient, at points across its domain; the minima are stationary. */
static void test_functions_derivatives(void) {
    for (int k = 0; k < traj_function_count; k++) {
        const TestFn *fn = &traj_functions[k];
        for (int p = 0; p < 5; p++) {
            double x = fn->domain[0] + (0.13 + 0.19 * p) * (fn->domain[1] - fn->domain[0]);
            double y = fn->domain[2] + (0.71 - 0.13 * p) * (fn->domain[3] - fn->domain[2]);
            double g[2], h[3], gp[2], gm[2], e = 1e-5, K = 7;
            fn->grad(x, y, K, g);
            fn->hess(x, y, K, h);
            double fx = (fn->f(x + e, y, K) - fn->f(x - e, y, K)) / (2 * e);
            double fy = (fn->f(x, y + e, K) - fn->f(x, y - e, K)) / (2 * e);
            CHECK_NEAR(g[0], fx, 1e-6 * fmax(1, fabs(fx)));
            CHECK_NEAR(g[1], fy, 1e-6 * fmax(1, fabs(fy)));
            fn->grad(x + e, y, K, gp);
            fn->grad(x - e, y, K, gm);
            CHECK_NEAR(h[0], (gp[0] - gm[0]) / (2 * e), 1e-5 * fmax(1, fabs(h[0])));
            CHECK_NEAR(h[1], (gp[1] - gm[1]) / (2 * e), 1e-5 * fmax(1, fabs(h[1])));
            fn->grad(x, y + e, K, gp);
            fn->grad(x, y - e, K, gm);
            CHECK_NEAR(h[2], (gp[1] - gm[1]) / (2 * e), 1e-5 * fmax(1, fabs(h[2])));
            CHECK_NEAR(h[1], (gp[0] - gm[0]) / (2 * e), 1e-5 * fmax(1, fabs(h[1])));
        }
        for (int m = 0; m < fn->n_minima; m++) {
            double g[2];
            fn->grad(fn->minima[m][0], fn->minima[m][1], 7, g);
            CHECK_NEAR(hypot(g[0], g[1]), 0, 1e-9);
        }
    }
}

static TrajMethod method(const char *name, double lr, double momentum) {
    TrajMethod m;
    memset(&m, 0, sizeof m);
    snprintf(m.label, sizeof m.label, "%s", name);
    m.def = strcmp(name, "newton") ? optim_find(name) : NULL;
    m.h.momentum = momentum;
    m.h.eps = 1e-8;
    m.h.beta1 = 0.9;
    m.h.beta2 = 0.999;
    m.h.alpha = 0.99;
    m.sched.def = sched_find("constant");
    m.sched.lr = lr;
    return m;
}

/* Gradient descent on (x^2 + K y^2)/2 is x_t = (1 - lr)^t x_0, y_t = (1 - lr K)^t y_0; Newton
 * lands on the minimum in one step, and on Rosenbrock within a handful. */
static void test_trajectory_closed_form(void) {
    const TestFn *q = traj_find("quadratic"), *rb = traj_find("rosenbrock");
    double start[2] = {1, -0.5}, K = 10;
    TrajMethod gd = method("sgd", 0.05, 0), nt = method("newton", 1, 0);
    TrajPath p;
    traj_run(q, K, &gd, start, 30, 1e-9, &p);
    CHECK(p.n == 31 && !p.stop);
    for (int t = 0; t <= 30; t++) {
        CHECK_NEAR(p.x[t], pow(0.95, t), 1e-5);
        CHECK_NEAR(p.y[t], -0.5 * pow(0.5, t), 1e-6);
    }
    traj_path_free(&p);
    traj_run(q, K, &nt, start, 3, 1e-9, &p);
    CHECK(p.reached == 1 && p.x[1] == 0 && p.y[1] == 0);
    traj_path_free(&p);
    traj_run(rb, 0, &nt, rb->start, 20, 1e-6, &p);
    CHECK(p.reached > 0 && p.reached <= 8);
    traj_path_free(&p);
}

/* K = 100 and 1000: gradient descent at its best constant rate 2/(1+K) contracts by exactly
 * (K-1)/(K+1) per step, so it takes the theory's steps (within one: float rounding), about
 * K/2 ln(d0/eps), ten times more for ten times K. The heavy ball with Polyak's best lr
 * 4/(1+sqrt K)^2 and momentum ((sqrt K-1)/(sqrt K+1))^2 has spectral radius
 * (sqrt K-1)/(sqrt K+1), about sqrt K/2 ln(d0/eps) steps; its double eigenvalue multiplies
 * the decay by t, so it may take up to 1.6 times the theory, and sqrt(10) times more steps
 * for ten times K (within 25%). */
static void test_condition_number_theory(void) {
    const TestFn *q = traj_find("quadratic");
    double start[2] = {1, 1}, within = 1e-6, d0 = sqrt(2);
    long gd_steps[2], hb_steps[2];
    double Ks[2] = {100, 1000};
    for (int i = 0; i < 2; i++) {
        double K = Ks[i], s = sqrt(K);
        TrajMethod gd = method("sgd", 2 / (1 + K), 0);
        TrajMethod hb = method("momentum", 4 / ((1 + s) * (1 + s)), ((s - 1) / (s + 1)) * ((s - 1) / (s + 1)));
        CHECK_NEAR(traj_quadratic_rate(&gd, K), (K - 1) / (K + 1), 1e-12);
        CHECK_NEAR(traj_quadratic_rate(&hb, K), (s - 1) / (s + 1), 1e-6);
        long gd_theory = traj_steps_for_rate((K - 1) / (K + 1), d0, within);
        long hb_theory = traj_steps_for_rate((s - 1) / (s + 1), d0, within);
        TrajPath p;
        traj_run(q, K, &gd, start, 20 * (long)K, within, &p);
        gd_steps[i] = p.reached;
        traj_path_free(&p);
        traj_run(q, K, &hb, start, 20 * (long)K, within, &p);
        hb_steps[i] = p.reached;
        traj_path_free(&p);
        CHECK(labs(gd_steps[i] - gd_theory) <= 1);
        CHECK(hb_steps[i] >= hb_theory && hb_steps[i] <= 1.6 * hb_theory);
    }
    CHECK_NEAR((double)gd_steps[1] / gd_steps[0], 10, 1);
    CHECK_NEAR((double)hb_steps[1] / hb_steps[0], sqrt(10), 0.25 * sqrt(10));
    CHECK((double)gd_steps[1] / hb_steps[1] > 0.5 * sqrt(1000));
}

/* The paths run through the optimizer table and the trainer's clipping: Adam's first step
 * moves every coordinate by lr; clipping the norm to 1 makes SGD's first step lr long; a
 * rate far too large is reported as diverged. */
static void test_trajectory_uses_optimizer_rules(void) {
    const TestFn *rb = traj_find("rosenbrock");
    TrajMethod adam = method("adam", 0.01, 0);
    TrajPath p;
    traj_run(rb, 0, &adam, rb->start, 1, 1e-9, &p);
    CHECK_NEAR(fabs(p.x[1] - p.x[0]), 0.01, 1e-6);
    CHECK_NEAR(fabs(p.y[1] - p.y[0]), 0.01, 1e-6);
    traj_path_free(&p);
    TrajMethod sgd = method("sgd", 0.1, 0);
    sgd.clip = 1;
    traj_run(rb, 0, &sgd, rb->start, 1, 1e-9, &p);
    CHECK_NEAR(hypot(p.x[1] - p.x[0], p.y[1] - p.y[0]), 0.1, 1e-6);
    traj_path_free(&p);
    TrajMethod far = method("sgd", 1, 0);
    traj_run(rb, 0, &far, rb->start, 100, 1e-3, &p);
    CHECK(p.stop && !strcmp(p.stop, "diverged") && p.reached < 0);
    traj_path_free(&p);
}

/* ---------------------------------------------------------------- the contour SVG */

static void test_contour_svg(void) {
    enum { G = 9 };
    double z[G * G], px[4] = {-1, 0, 0.5, NAN}, py[4] = {1, 0.2, -0.3, 0};
    for (int j = 0; j < G; j++)
        for (int i = 0; i < G; i++) z[j * G + i] = 1 + (i - 4) * (i - 4) + 2 * (j - 4) * (j - 4);
    Contour c;
    contour_init(&c, "a <title> & more", "x", "y", "z");
    contour_grid(&c, z, G, G, -2, 2, -2, 2);
    c.heat = 1;
    c.log_z = 1;
    c.n_levels = 5;
    contour_add_path(&c, "path one", px, py, 4, 1);
    contour_add_path(&c, "path \"two\"", px, py, 3, 0);
    contour_add_mark(&c, 0, 0, "minimum", MARK_STAR);
    contour_add_mark(&c, 1, 1, "start", MARK_DOT);
    contour_add_mark(&c, 1, -1, "x", MARK_CROSS);
    contour_add_mark(&c, -1, -1, "sq", MARK_SQUARE);
    char err[ERR_LEN];
    CHECK(sh("mkdir -p " RUNS) == 0);
    CHECK(contour_write_svg(&c, RUNS "/contour.svg", err) == 0);
    char *svg = slurp(RUNS "/contour.svg");
    CHECK(svg && xml_ok(svg));
    CHECK(count(svg, "class=\"trajectory\"") == 2);
    CHECK(count(svg, "class=\"contour\"") == 5);
    CHECK_CONTAINS(svg, "<title>path one</title>");
    CHECK_CONTAINS(svg, "path &quot;two&quot;");
    CHECK_CONTAINS(svg, "a &lt;title&gt; &amp; more");
    CHECK(count(svg, "class=\"mark\"") == 2 * 4);   /* on the plot and in the legend */
    CHECK_CONTAINS(svg, "class=\"heat\"");
    free(svg);
    CHECK(contour_write_svg(&c, RUNS "/no/such/dir.svg", err) == -1);
    CHECK_CONTAINS(err, "no/such/dir.svg");
    if (sh_status("command -v xmllint >/dev/null 2>&1") == 0) CHECK(sh("xmllint --noout " RUNS "/contour.svg") == 0);
}

/* ---------------------------------------------------------------- end to end */

#define TINY "--subset 512 --val 0 --model 784-32-10 --threads 1 --eval-every 0 --opt sgd --lr 0.1 --schedule constant"

/* The cells of one column of a log.csv, as text (empty cells included), one per row. */
static int column_text(const char *path, const char *name, char cells[][32], int max) {
    char *text = slurp(path);
    if (!text) return -1;
    int col = -1, rows = 0, c = 0;
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    for (char *p = line, *tok; p; p = tok ? tok + 1 : NULL, c++) {
        tok = strchr(p, ',');
        size_t len = tok ? (size_t)(tok - p) : strlen(p);
        if (len == strlen(name) && !strncmp(p, name, len)) col = c;
    }
    for (line = strtok_r(NULL, "\n", &save); line && col >= 0 && rows < max; line = strtok_r(NULL, "\n", &save)) {
        const char *p = line;
        for (int k = 0; k < col && p; k++) p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
        size_t len = p ? strcspn(p, ",") : 0;
        snprintf(cells[rows++], 32, "%.*s", (int)(len < 31 ? len : 31), p ? p : "");
    }
    free(text);
    return col < 0 ? -1 : rows;
}

static double json_number(const char *path, const char *key) {
    char err[ERR_LEN];
    size_t n;
    char *doc = read_file(path, &n, err);
    double v = NAN;
    Json j;
    if (doc && json_parse(doc, n, &j, err) == 0) {
        const Json *x = json_get(&j, key);
        if (x && x->type == JSON_NUMBER) v = x->number;
        if (x && x->type == JSON_ARRAY && x->n > 0) v = x->items[0].number;
        json_free(&j);
    }
    free(doc);
    return v;
}

/* --log-curvature 5 and --log-noise: the columns, a row for every measurement, positive
 * sharpness and noise scale, both plots; resumed at step 10, the run logs the same
 * sharpness and noise scale as the uninterrupted one. */
static void test_log_curvature_and_noise(void) {
    const char *flags = TINY " --log-curvature 5 --log-every 4 --log-noise --examples 256 --ckpt-every 10";
    char args[512];
    snprintf(args, sizeof args, "%s --steps 20", flags);
    CHECK(train("curv", args) == 0);
    char sharp[64][32], noise[64][32], steps[64][32];
    int n = column_text(RUNS "/curv/log.csv", "sharpness", sharp, 64);
    CHECK(n == 8);   /* steps 4 5 8 10 12 15 16 20 */
    CHECK(column_text(RUNS "/curv/log.csv", "noise_scale", noise, 64) == n);
    CHECK(column_text(RUNS "/curv/log.csv", "step", steps, 64) == n);
    for (int i = 0; i < n && n == 8; i++) {
        long step = atol(steps[i]);
        CHECK((step % 5 == 0) == (sharp[i][0] != 0));
        if (sharp[i][0]) CHECK(atof(sharp[i]) > 0);
        CHECK(noise[i][0] && atof(noise[i]) > 0);
    }
    char *svg = slurp(RUNS "/curv/curvature.svg");
    CHECK(svg && xml_ok(svg));
    CHECK_CONTAINS(svg, "<title>2 / lr</title>");
    CHECK_CONTAINS(svg, "<title>sharpness (lambda_max)</title>");
    free(svg);
    svg = slurp(RUNS "/curv/noise.svg");
    CHECK(svg && xml_ok(svg));
    CHECK_CONTAINS(svg, "<title>noise scale (EMA 0.99)</title>");
    free(svg);
    snprintf(args, sizeof args, "%s --steps 10", flags);
    CHECK(train("curv-resumed", args) == 0);
    CHECK(sh(TRAIN " --quiet --resume " RUNS "/curv-resumed --steps 20 > /dev/null") == 0);
    char sharp2[64][32], noise2[64][32];
    CHECK(column_text(RUNS "/curv-resumed/log.csv", "sharpness", sharp2, 64) == n);
    CHECK(column_text(RUNS "/curv-resumed/log.csv", "noise_scale", noise2, 64) == n);
    for (int i = 0; i < n && n == 8; i++) {
        CHECK_STR(sharp2[i], sharp[i]);
        CHECK_STR(noise2[i], noise[i]);
    }
    CHECK(max_weight_diff(ckpt("curv", "last.safetensors"), ckpt("curv-resumed", "last.safetensors")) == 0);
}

/* `train curvature`: curvature.json with its keys; lambda_max agrees with the run's last
 * logged sharpness (the same loss, a different start vector: within both tolerances); the
 * Hessian-vector products are Lanczos's steps plus the probes. */
static void test_curvature_command(void) {
    CHECK(sh(TRAIN " curvature " RUNS "/curv --top 2 --trace --probes 8 --examples 256 --threads 1 > " RUNS "/curv.out") == 0);
    const char *json = RUNS "/curv/curvature.json";
    char *doc = slurp(json);
    const char *keys[] = {"\"eigenvalues\"", "\"residuals\"", "\"trace\"", "\"trace_stderr\"", "\"examples\"",
                          "\"hvps\"", "\"seconds\"", "\"lr\"", "\"sharpness_ratio\"", "\"step\"", "\"converged\": true"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) CHECK_CONTAINS(doc, keys[k]);
    free(doc);
    char sharp[64][32];
    int n = column_text(RUNS "/curv/log.csv", "sharpness", sharp, 64);
    double lambda = json_number(json, "eigenvalues"), logged = n > 0 ? atof(sharp[n - 1]) : NAN;
    CHECK_NEAR(lambda, logged, 3e-3 * logged);
    CHECK(json_number(json, "examples") == 256);
    CHECK(json_number(json, "step") == 20);
    CHECK_NEAR(json_number(json, "lr"), 0.1, 1e-12);
    CHECK_NEAR(json_number(json, "sharpness_ratio"), lambda / 20, 1e-9 * lambda);
    CHECK(json_number(json, "hvps") == json_number(json, "lanczos_steps") + 8);
    CHECK(json_number(json, "trace") > lambda && json_number(json, "trace_stderr") > 0);
    char *out = slurp(RUNS "/curv.out");
    CHECK_CONTAINS(out, "trace");
    CHECK_CONTAINS(out, "lambda_max / (2 / lr)");
    free(out);
    CHECK(sh_status(TRAIN " curvature 2>/dev/null") == 2);
    CHECK(sh_status(TRAIN " curvature " RUNS "/no-such-run 2>" RUNS "/err.txt") == 1);
    out = slurp(RUNS "/err.txt");
    CHECK_CONTAINS(out, "train: " RUNS "/no-such-run");
    free(out);
}

/* The line between a kept checkpoint and the final weights: at alpha 0 and 1 the test loss
 * is what `train eval` gives for those two checkpoints (the whole test set), and the
 * training loss at 1 is the run's own final training loss; from `init` the line starts at
 * a fresh classifier's loss, about ln 10. */
static void test_landscape_line(void) {
    CHECK(train("line", TINY " --steps 20 --keep 3 --ckpt-every 5") == 0);
    CHECK(sh(TRAIN " landscape --from " RUNS "/line/step-00000010.safetensors --to " RUNS "/line --grid 3 "
             "--examples 10000 --out " RUNS "/line.svg > " RUNS "/line.out") == 0);
    LogCsv t;
    char err[ERR_LEN];
    CHECK(logcsv_read(RUNS "/line.csv", &t, err) == 0);
    CHECK(t.n_rows == 5);
    double *alpha = logcsv_column(&t, "alpha"), *test = logcsv_column(&t, "test_loss"), *train_loss = logcsv_column(&t, "train_loss");
    CHECK(alpha && alpha[0] == -0.5 && alpha[1] == 0 && alpha[3] == 1 && alpha[4] == 1.5);
    CHECK(sh(TRAIN " eval --ckpt " RUNS "/line/step-00000010.safetensors > " RUNS "/eval-a.txt") == 0);
    CHECK(sh(TRAIN " eval --ckpt " RUNS "/line/last.safetensors > " RUNS "/eval-b.txt") == 0);
    double la = NAN, lb = NAN;
    FILE *f = fopen(RUNS "/eval-a.txt", "r");
    if (f) { CHECK(fscanf(f, "test_loss %lf", &la) == 1); fclose(f); }
    f = fopen(RUNS "/eval-b.txt", "r");
    if (f) { CHECK(fscanf(f, "test_loss %lf", &lb) == 1); fclose(f); }
    CHECK_NEAR(test[1], la, 1e-6);
    CHECK_NEAR(test[3], lb, 1e-6);
    CHECK_NEAR(train_loss[3], summary_value("line", "train_loss"), 1e-7);
    CHECK(test[0] > test[1] || test[4] > test[3]);   /* the line leaves the good region somewhere */
    free(alpha); free(test); free(train_loss);
    logcsv_free(&t);
    char *svg = slurp(RUNS "/line.svg");
    CHECK(svg && xml_ok(svg));
    CHECK_CONTAINS(svg, "<title>train loss</title>");
    CHECK_CONTAINS(svg, "<title>test accuracy</title>");
    free(svg);
    CHECK(sh(TRAIN " landscape --from init --to " RUNS "/line --grid 2 --examples 512 --out " RUNS "/init.svg > /dev/null") == 0);
    CHECK(logcsv_read(RUNS "/init.csv", &t, err) == 0);
    double *l0 = logcsv_column(&t, "train_loss");   /* alpha -1, 0, 1, 2 */
    CHECK(t.n_rows == 4 && l0 && fabs(l0[1] - log(10)) < 0.2 && fabs(l0[2] - summary_value("line", "train_loss")) < 1e-7);
    free(l0);
    logcsv_free(&t);
}

/* Planes: a random one (grid 5 holds the centre, whose loss is the line's value at the
 * checkpoint), and the PCA of the run's kept checkpoints with the trajectory: initial
 * weights, the three kept steps, the final weights at (0, 0). */
static void test_landscape_planes(void) {
    CHECK(sh(TRAIN " landscape " RUNS "/line --grid 5 --examples 256 > /dev/null") == 0);
    LogCsv t, l;
    char err[ERR_LEN];
    CHECK(logcsv_read(RUNS "/line/landscape.csv", &t, err) == 0);
    CHECK(t.n_rows == 25);
    CHECK(sh(TRAIN " landscape --from init --to " RUNS "/line --grid 2 --examples 256 --out " RUNS "/l256.svg > /dev/null") == 0);
    CHECK(logcsv_read(RUNS "/l256.csv", &l, err) == 0);
    if (t.n_rows == 25 && l.n_rows == 4) {
        CHECK(t.cells[12 * t.n_cols] == 0 && t.cells[12 * t.n_cols + 1] == 0);
        CHECK(t.cells[12 * t.n_cols + 2] == l.cells[2 * l.n_cols + 1]);   /* loss at (0, 0) = at alpha 1 */
    }
    logcsv_free(&t);
    logcsv_free(&l);
    char *svg = slurp(RUNS "/line/landscape.svg");
    CHECK(svg && xml_ok(svg) && strstr(svg, "class=\"heat\"") && strstr(svg, "checkpoint (step 20)"));
    free(svg);
    CHECK(sh(TRAIN " landscape " RUNS "/line --dirs pca --grid 4 --examples 256 > " RUNS "/pca.out") == 0);
    CHECK(logcsv_read(RUNS "/line/landscape-pca-path.csv", &t, err) == 0);
    CHECK(t.n_rows == 5);
    if (t.n_rows == 5) {
        for (int i = 0; i < 4; i++) CHECK(t.cells[i * t.n_cols] == 5 * i);   /* init, steps 5 10 15 */
        CHECK(t.cells[4 * t.n_cols] == 20 && t.cells[4 * t.n_cols + 1] == 0 && t.cells[4 * t.n_cols + 2] == 0);
    }
    logcsv_free(&t);
    svg = slurp(RUNS "/line/landscape-pca.svg");
    CHECK(svg && xml_ok(svg) && strstr(svg, "<title>trajectory (saved checkpoints)</title>") && strstr(svg, "% of the variance"));
    free(svg);
    CHECK(sh_status(TRAIN " landscape " RUNS "/curv --dirs pca 2>" RUNS "/err.txt") == 2);
    char *e = slurp(RUNS "/err.txt");
    CHECK_CONTAINS(e, "--keep");
    free(e);
    CHECK(sh_status(TRAIN " landscape --from " RUNS "/line 2>/dev/null") == 2);
    CHECK(train("other", "--subset 512 --val 0 --model 784-16-10 --steps 2 --threads 1") == 0);
    CHECK(sh_status(TRAIN " landscape --from " RUNS "/other --to " RUNS "/line 2>/dev/null") == 2);
}

/* `train trajectories` on the quadratic of condition 100: the table with the theory column,
 * one CSV row per point of every path, the picture; and its flag errors. */
static void test_trajectories_command(void) {
    CHECK(sh(TRAIN " trajectories --condition 100 --opt sgd,momentum,newton --lr 0.0198019802,0.0330578512,1 "
             "--momentum -,0.669421488,- --steps 2000 --within 1e-6 --out " RUNS "/traj.svg > " RUNS "/traj.out") == 0);
    char *out = slurp(RUNS "/traj.out");
    CHECK_CONTAINS(out, "theory");
    CHECK_CONTAINS(out, "sgd lr 0.019802 ");
    free(out);
    LogCsv t;
    char err[ERR_LEN];
    /* the optimizer column is text: count the lines instead */
    char *csv = slurp(RUNS "/traj.csv");
    CHECK(count(csv, "\n") == 1 + 3 * 2001);
    CHECK_CONTAINS(csv, "newton lr 1,1,0,0,0\n");   /* Newton: the minimum after one step */
    free(csv);
    (void)t; (void)err;
    char *svg = slurp(RUNS "/traj.svg");
    CHECK(svg && xml_ok(svg) && count(svg, "class=\"trajectory\"") == 3 && strstr(svg, "<title>minimum</title>"));
    free(svg);
    /* L-BFGS with the strong Wolfe line search: a quasi-Newton method ends at Rosenbrock's
     * minimum (1, 1) in a few steps (each up to 20 iterations on the function) */
    CHECK(sh_status(TRAIN " trajectories --fn rosenbrock --opt lbfgs --line-search strong_wolfe --steps 5 --out "
                    RUNS "/lbfgs.svg > /dev/null") == 0);
    char *lb = slurp(RUNS "/lbfgs.csv"), *last = lb ? strstr(lb, "lbfgs lr 1,5,") : NULL;
    double lx = 0, ly = 0;
    CHECK(last && sscanf(last, "lbfgs lr 1,5,%lf,%lf", &lx, &ly) == 2 && fabs(lx - 1) < 1e-5 && fabs(ly - 1) < 1e-5);
    free(lb);
    const char *bad[] = {"--fn rosenbrock --condition 10", "--opt sophia", "--opt lbfgs --clip 1",
                         "--opt sgd,adam --momentum 0.9,0.9",
                         "--opt sgd --beta1 0.8", "--start 1", "--opt sgd,adam --lr 0.1,0.2,0.3",
                         "--opt newton --momentum 0.9"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, TRAIN " trajectories %s --steps 3 --out " RUNS "/bad.svg 2>" RUNS "/err.txt >/dev/null", bad[i]);
        CHECK(sh_status(cmd) == 2);
        char *e = slurp(RUNS "/err.txt");
        CHECK(e && !strncmp(e, "train: ", 7));
        free(e);
    }
}

/* A LayerNorm model has parameters outside Linear layers: --log-noise then needs two
 * micro-batches a step, and measures with --accum 2. */
static void test_log_noise_micro_batches(void) {
    CHECK(sh_status(TRAIN " --quiet --runs-dir " RUNS " --force --run ln1 --subset 256 --val 0 --model 'linear 16, layernorm, relu, linear 10' "
                    "--steps 4 --log-noise --threads 1 2>" RUNS "/err.txt") == 2);
    char *e = slurp(RUNS "/err.txt");
    CHECK_CONTAINS(e, "--accum 2");
    free(e);
    CHECK(train("ln2", "--subset 256 --val 0 --model 'linear 16, layernorm, relu, linear 10' --steps 30 --log-every 30 "
                "--log-noise --accum 2 --batch 32 --threads 1") == 0);
    char noise[8][32];
    CHECK(column_text(RUNS "/ln2/log.csv", "noise_scale", noise, 8) == 1 && atof(noise[0]) > 0);
}

int main(void) {
    RUN(test_jacobi_known_spectrum);
    RUN(test_known_spectrum);
    RUN(test_lanczos_mlp);
    RUN(test_noise_known_covariance);
    RUN(test_noise_per_example_norms);
    RUN(test_filter_normalisation);
    RUN(test_pca_and_planes);
    RUN(test_functions_derivatives);
    RUN(test_trajectory_closed_form);
    RUN(test_condition_number_theory);
    RUN(test_trajectory_uses_optimizer_rules);
    RUN(test_contour_svg);
    if (sh("rm -rf " RUNS " && mkdir -p " RUNS) != 0) return 1;
    RUN(test_log_curvature_and_noise);
    RUN(test_curvature_command);
    RUN(test_landscape_line);
    RUN(test_landscape_planes);
    RUN(test_trajectories_command);
    RUN(test_log_noise_micro_batches);
    return test_summary();
}
