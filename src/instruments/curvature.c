/* curvature.c: Lanczos and Hutchinson on Hessian-vector products, see curvature.h. */
#include "instruments/curvature.h"
#include "instruments/eigen.h"
#include "instruments/vec.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void lanczos_alloc(LanczosWork *w, long n, int max_iter) {
    memset(w, 0, sizeof *w);
    if (max_iter > n) max_iter = (int)n;
    w->n = n;
    w->max_iter = max_iter;
    w->basis = xalloc_floats((size_t)(max_iter + 1) * (size_t)n);
    w->w = xalloc_floats((size_t)n);
    size_t m = (size_t)max_iter;
    w->alpha = xmalloc(sizeof(double) * m);
    w->beta = xmalloc(sizeof(double) * m);
    w->t = xmalloc(sizeof(double) * m * m);
    w->evals = xmalloc(sizeof(double) * m);
    w->evecs = xmalloc(sizeof(double) * m * m);
}

void lanczos_free(LanczosWork *w) {
    free(w->basis); free(w->w); free(w->alpha); free(w->beta);
    free(w->t); free(w->evals); free(w->evecs);
    memset(w, 0, sizeof *w);
}

/* x -= sum_i (x . v_i) v_i over the first k basis vectors, twice ("twice is enough":
 * Parlett), which keeps the basis orthogonal to working precision. */
static void orthogonalize(float *x, const float *basis, int k, long n) {
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < k; i++) vec_axpy(x, -vec_dot(x, basis + (size_t)i * n, n), basis + (size_t)i * n, n);
}

/* A random unit vector orthogonal to the first k basis vectors, into basis[k]; 0 if the
 * basis already spans everything (nothing is left after orthogonalisation). */
static int random_start(LanczosWork *w, int k, Rng *rng) {
    float *v = w->basis + (size_t)k * w->n;
    vec_gaussian(v, w->n, rng);
    orthogonalize(v, w->basis, k, w->n);
    double norm = vec_norm(v, w->n);
    if (!(norm > 1e-6 * sqrt((double)w->n))) return 0;
    vec_scale(v, 1 / norm, w->n);
    return 1;
}

/* Ritz values of T_k (decreasing) with their residuals |beta_k s_i[k-1]|. */
static void ritz(LanczosWork *w, int k, double beta_k) {
    memset(w->t, 0, sizeof(double) * (size_t)k * (size_t)k);
    for (int i = 0; i < k; i++) {
        w->t[i * k + i] = w->alpha[i];
        if (i + 1 < k) w->t[i * k + i + 1] = w->t[(i + 1) * k + i] = w->beta[i];
    }
    sym_eigen(w->t, k, w->evals, w->evecs);
    for (int i = 0; i < k; i++) w->t[i] = fabs(beta_k * w->evecs[(k - 1) * k + i]);  /* residuals */
}

void lanczos_top(const CurvOperator *op, LanczosWork *w, const LanczosOpts *o, LanczosResult *r,
                 float *eigvec) {
    long n = w->n;
    int top = o->top < CURV_MAX_TOP ? o->top : CURV_MAX_TOP;
    Rng rng;
    rng_seed(&rng, o->seed, STREAM_LANCZOS);
    memset(r, 0, sizeof *r);
    int k = 0;
    if (!random_start(w, 0, &rng)) return;
    for (;;) {
        float *v = w->basis + (size_t)k * n, *f = w->w;
        op->apply(op->ctx, v, f);
        w->alpha[k] = vec_dot(f, v, n);
        vec_axpy(f, -w->alpha[k], v, n);
        if (k > 0) vec_axpy(f, -w->beta[k - 1], v - n, n);
        orthogonalize(f, w->basis, k + 1, n);
        double beta = vec_norm(f, n);
        k++;
        ritz(w, k, beta);
        double scale = fmax(fabs(w->evals[0]), fabs(w->evals[k - 1]));
        int want = top < k ? top : k, done = k >= top || k == n;
        for (int i = 0; i < want; i++) done &= w->t[i] <= o->tol * scale;
        r->iterations = k;
        r->converged = done && k >= want;
        if (done || k == w->max_iter) break;
        if (beta <= 1e-7 * scale) {
            /* an invariant subspace: its eigenvalues are exact; more need a fresh direction
             * orthogonal to it (this also finds repeated eigenvalues) */
            w->beta[k - 1] = 0;
            if (!random_start(w, k, &rng)) { r->converged = 1; break; }
        } else {
            w->beta[k - 1] = beta;
            memcpy(w->basis + (size_t)k * n, f, sizeof(float) * (size_t)n);
            vec_scale(w->basis + (size_t)k * n, 1 / beta, n);
        }
    }
    r->n = top < k ? top : k;
    for (int i = 0; i < r->n; i++) {
        r->value[i] = w->evals[i];
        r->residual[i] = w->t[i];
    }
    if (eigvec) {   /* y = V s_0 */
        memset(eigvec, 0, sizeof(float) * (size_t)n);
        for (int i = 0; i < k; i++) vec_axpy(eigvec, w->evecs[i * k], w->basis + (size_t)i * n, n);
    }
}

double hutchinson_trace(const CurvOperator *op, int probes, uint64_t seed, float *z, float *hz,
                        double *stderr_out) {
    Rng rng;
    rng_seed(&rng, seed, STREAM_PROBES);
    double mean = 0, m2 = 0;   /* Welford's running mean and sum of squared deviations */
    for (int i = 0; i < probes; i++) {
        vec_rademacher(z, op->n, &rng);
        op->apply(op->ctx, z, hz);
        double x = vec_dot(z, hz, op->n), d = x - mean;
        mean += d / (i + 1);
        m2 += d * (x - mean);
    }
    *stderr_out = probes > 1 ? sqrt(m2 / (probes - 1) / probes) : NAN;
    return mean;
}

/* ---- a network's loss over a dataset's first examples */
void curv_data_init(CurvData *d, Net *net, const Dataset *data, int examples) {
    memset(d, 0, sizeof *d);
    d->net = net;
    d->data = data;
    d->examples = examples < data->n ? examples : data->n;
    hvp_init(&d->hvp, net);
    d->idx = xmalloc(sizeof(int) * (size_t)net->capacity);
    d->labels = xmalloc(sizeof(int) * (size_t)net->capacity);
}

static void data_hvp(void *ctx, const float *v, float *hv) {
    CurvData *d = ctx;
    Net *n = d->net;
    int training = n->training;
    const int *labels = n->labels;
    float scale = n->loss_scale;
    n->training = 0;
    n->labels = d->labels;
    n->loss_scale = 1.0f / (float)d->examples;
    memset(hv, 0, sizeof(float) * (size_t)n->n_params);
    for (int start = 0; start < d->examples; start += n->capacity) {
        int rows = d->examples - start < n->capacity ? d->examples - start : n->capacity;
        for (int i = 0; i < rows; i++) d->idx[i] = start + i;
        dataset_gather(d->data, d->idx, rows, net_input(n), d->labels);
        hvp_rows(&d->hvp, v, hv, rows);
    }
    n->training = training;
    n->labels = labels;
    n->loss_scale = scale;
    d->products++;
}

CurvOperator curv_data_operator(CurvData *d) {
    CurvOperator op = {data_hvp, d, d->net->n_params};
    return op;
}

void curv_data_free(CurvData *d) {
    hvp_free(&d->hvp);
    free(d->idx);
    free(d->labels);
    memset(d, 0, sizeof *d);
}
