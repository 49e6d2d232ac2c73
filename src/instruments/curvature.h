/* curvature.h: the curvature of a loss from Hessian-vector products alone.
 *
 *   lanczos_top       the largest eigenvalues of H (Lanczos with full reorthogonalisation):
 *                     k products build the tridiagonal T_k = V^T H V of the Krylov space
 *                     span{v, Hv, ..., H^(k-1) v}; its eigenvalues (Ritz values) approach
 *                     H's extreme eigenvalues from inside. Each Ritz value theta_i comes with
 *                     its residual r_i = ||H y_i - theta_i y_i|| = beta_k |s_i[k]|, and some
 *                     eigenvalue of H lies within r_i of theta_i (H is symmetric). It stops
 *                     when every wanted value has r_i <= tol * max |theta|.
 *   hutchinson_trace  tr(H) = E[z^T H z] for Rademacher z (entries +-1), the mean of m probes,
 *                     with its standard error s / sqrt(m) (s the probes' sample deviation).
 *
 * Both take the matrix as a function v -> Hv, so they run on the exact products of a network
 * over a set of examples (CurvData below) as well as on any symmetric matrix. */
#ifndef INSTRUMENTS_CURVATURE_H
#define INSTRUMENTS_CURVATURE_H

#include "data/dataset.h"
#include "nn/hvp.h"

#include <stdint.h>

#define CURV_MAX_TOP 32

/* hv = H v (overwritten) for vectors of n floats */
typedef void (*CurvOp)(void *ctx, const float *v, float *hv);

typedef struct {
    CurvOp apply;
    void *ctx;
    long n;
} CurvOperator;

/* Lanczos's vectors and small matrices for up to max_iter steps, allocated once. */
typedef struct {
    long n;
    int max_iter;
    float *basis;            /* (max_iter + 1) x n */
    float *w;                /* n */
    double *alpha, *beta, *t, *evals, *evecs;
} LanczosWork;

typedef struct {
    int top;                 /* eigenvalues wanted, largest first (1..CURV_MAX_TOP) */
    double tol;              /* relative residual at which to stop */
    uint64_t seed;           /* of the random start vector */
} LanczosOpts;

typedef struct {
    int n;                   /* values found: top, or fewer when H has fewer dimensions */
    double value[CURV_MAX_TOP], residual[CURV_MAX_TOP];
    int iterations;          /* Lanczos steps = Hessian-vector products */
    int converged;           /* every wanted residual reached tol */
} LanczosResult;

void lanczos_alloc(LanczosWork *w, long n, int max_iter);
void lanczos_free(LanczosWork *w);
/* The `top` largest eigenvalues of the operator; eigvec (n floats, may be NULL) receives
 * the unit Ritz vector of the largest. */
void lanczos_top(const CurvOperator *op, LanczosWork *w, const LanczosOpts *o, LanczosResult *r,
                 float *eigvec);

/* Hutchinson's estimate of tr(H) from `probes` Rademacher vectors (z and hz: n floats of
 * scratch each). *stderr_out is NAN for fewer than two probes. */
double hutchinson_trace(const CurvOperator *op, int probes, uint64_t seed, float *z, float *hz,
                        double *stderr_out);

/* ---- the loss of a network over the first `examples` examples of a dataset ---------------
 * H is the Hessian of the mean loss over those examples in evaluation mode (no dropout,
 * BatchNorm's running statistics, the plain criterion), by exact products (hvp.h) over
 * chunks of the network's capacity. The network's mode, labels and loss scale are restored
 * after each product. */
typedef struct {
    Net *net;
    Hvp hvp;
    const Dataset *data;
    int examples;
    int *idx, *labels;       /* net->capacity each */
    long products;           /* Hessian-vector products done */
} CurvData;

void curv_data_init(CurvData *d, Net *net, const Dataset *data, int examples);
/* The operator of d (d must outlive it). */
CurvOperator curv_data_operator(CurvData *d);
void curv_data_free(CurvData *d);

#endif
