/* batchnorm.c: torch.nn.BatchNorm1d(features, eps=1e-5, momentum=0.1) on rows x features.
 *
 * Training: each feature is standardised over the rows of the batch (biased variance; the
 * arithmetic is norm.c's, on columns: its column form, which reads the rows in order, for
 * the training passes, the one-vector form for the R-op passes), and, when
 * the pass updates statistics, running_mean = 0.9 running_mean + 0.1 mean, running_var =
 * 0.9 running_var + 0.1 var n/(n - 1) (the unbiased variance) and num_batches_tracked += 1;
 * with n->stats_cumulative (momentum None) the weight 0.1 is 1 / num_batches_tracked.
 * Evaluation: xh = (x - running_mean) s with s = 1/sqrt(running_var + eps), a fixed affine
 * map: dx = dy g s, R{xh} = s R{x}, R{dx} = s (R{dy} g + dy R{g}).
 * Both: y = g xh + b;  dg (+)= sum over rows of dy xh,  db (+)= sum over rows of dy;
 * R{dg} += sum (R{dy} xh + dy R{xh}),  R{db} += sum R{dy}.
 * Every micro-batch is one batch: under --accum each is normalised on its own, as PyTorch does.
 * Scratch: xh and R{xh} (rows x features), then r (or s) per feature. */
#include "kernels/kernels.h"
#include "nn/layers.h"
#include "nn/norm.h"

#include <math.h>

enum { G, B, RUNNING_MEAN, RUNNING_VAR, BATCHES };
#define MOMENTUM 0.1

static int batchnorm_build(Net *n, Node *node) {
    int d = node->dim_in;
    net_param(n, node, "weight", ROLE_NORM, 1, d, 0);
    net_param(n, node, "bias", ROLE_NORM, 1, d, 0);
    net_buffer(n, node, "running_mean", 0, 1, d);
    net_buffer(n, node, "running_var", 0, 1, d);
    net_buffer(n, node, "num_batches_tracked", 1, 0, 0);
    return d;
}

static void batchnorm_init(const Net *n, const Node *node, Rng *rng) {
    (void)rng;
    float *g = n->params + TOFF(n, node, G), *b = n->params + TOFF(n, node, B);
    float *rm = n->buffers + TOFF(n, node, RUNNING_MEAN), *rv = n->buffers + TOFF(n, node, RUNNING_VAR);
    for (int k = 0; k < node->dim_out; k++) { g[k] = 1.0f; b[k] = 0.0f; rm[k] = 0.0f; rv[k] = 1.0f; }
    n->counters[TOFF(n, node, BATCHES)] = 0;
}

static long batchnorm_scratch(const Node *node, int capacity) {
    return 2L * capacity * node->dim_out + node->dim_out;
}

#define XH(node) ((node)->scratch)
#define RXH(n, node) ((node)->scratch + (long)(n)->eval_capacity * (node)->dim_out)
#define RSTD(n, node) ((node)->scratch + 2L * (n)->eval_capacity * (node)->dim_out)
#define FEATURE_FOR _Pragma("omp parallel for schedule(static) num_threads(kernels_get_threads()) if((long)rows * d > LAYER_PAR_MIN)")
#define GAIN(n, node) ((n)->params + TOFF(n, node, G))

/* y = xh g + b on columns [j0, j0 + w), row by row */
static void affine_cols(int rows, int d, int j0, int w, const float *xh, const float *g,
                        const float *b, float *y) {
    for (int i = 0; i < rows; i++) {
        long at = (long)i * d + j0;
        #pragma omp simd
        for (int k = 0; k < w; k++) y[at + k] = xh[at + k] * g[j0 + k] + b[j0 + k];
    }
}

/* Evaluation: xh = (x - running_mean) / sqrt(running_var + eps), in double as in training.
 * Evaluation goes in pieces of many rows, so, as training, it walks them row by row, a block
 * of NORM_BLOCK features at a time: a walk down each feature's column would miss the cache
 * at every element. */
static void batchnorm_eval_forward(Net *n, const Node *node, int rows) {
    int d = node->dim_out;
    const float *x = X(n, node), *g = GAIN(n, node), *b = n->params + TOFF(n, node, B);
    const float *rm = n->buffers + TOFF(n, node, RUNNING_MEAN), *rv = n->buffers + TOFF(n, node, RUNNING_VAR);
    float *y = Y(n, node), *xh = XH(node), *rstd = RSTD(n, node);
    FEATURE_FOR
    for (int j0 = 0; j0 < d; j0 += NORM_BLOCK) {
        int w = d - j0 < NORM_BLOCK ? d - j0 : NORM_BLOCK;
        double s[NORM_BLOCK], m[NORM_BLOCK];
        for (int k = 0; k < w; k++) {
            s[k] = 1.0 / sqrt((double)rv[j0 + k] + node->arg);
            m[k] = rm[j0 + k];
            rstd[j0 + k] = (float)s[k];
        }
        for (int i = 0; i < rows; i++) {
            long at = (long)i * d + j0;
            #pragma omp simd
            for (int k = 0; k < w; k++) xh[at + k] = (float)((x[at + k] - m[k]) * s[k]);
        }
        affine_cols(rows, d, j0, w, xh, g, b, y);
    }
}

static void batchnorm_forward(Net *n, const Node *node, int rows) {
    int d = node->dim_out;
    const float *x = X(n, node), *g = GAIN(n, node), *b = n->params + TOFF(n, node, B);
    float *rm = n->buffers + TOFF(n, node, RUNNING_MEAN), *rv = n->buffers + TOFF(n, node, RUNNING_VAR);
    float *y = Y(n, node), *xh = XH(node), *rstd = RSTD(n, node);
    if (!n->training) {
        batchnorm_eval_forward(n, node, rows);
        return;
    }
    int update = n->update_stats;
    /* momentum None (update_bn): the running value is the mean over the batches so far */
    double momentum = n->stats_cumulative ? 1.0 / (double)(n->counters[TOFF(n, node, BATCHES)] + 1) : MOMENTUM;
    FEATURE_FOR
    for (int j0 = 0; j0 < d; j0 += NORM_BLOCK) {
        int w = d - j0 < NORM_BLOCK ? d - j0 : NORM_BLOCK;
        double mu[NORM_BLOCK], var[NORM_BLOCK];
        norm_standardise_cols(rows, d, j0, w, x, node->arg, xh, rstd + j0, mu, var);
        for (int k = 0; update && k < w; k++) {
            int j = j0 + k;
            double unbiased = rows > 1 ? var[k] * rows / (rows - 1) : var[k];
            rm[j] = (float)((1 - momentum) * rm[j] + momentum * mu[k]);
            rv[j] = (float)((1 - momentum) * rv[j] + momentum * unbiased);
        }
        affine_cols(rows, d, j0, w, xh, g, b, y);
    }
    if (update) n->counters[TOFF(n, node, BATCHES)]++;
}

static void batchnorm_backward(Net *n, const Node *node, int rows) {
    int d = node->dim_out;
    const float *dy = DY(n, node), *g = GAIN(n, node), *xh = XH(node), *rstd = RSTD(n, node);
    norm_param_grads(rows, d, dy, xh, n->grads + TOFF(n, node, G), n->grads + TOFF(n, node, B),
                     n->overwrite_grads);
    if (node->in == 0) return;
    float *dx = DX(n, node);
    if (n->training) {
        FEATURE_FOR
        for (int j0 = 0; j0 < d; j0 += NORM_BLOCK)
            norm_project_cols(rows, d, j0, d - j0 < NORM_BLOCK ? d - j0 : NORM_BLOCK, dy, g, xh,
                              rstd, dx);
        return;
    }
    FEATURE_FOR
    for (int j = 0; j < d; j++)
        for (int i = 0; i < rows; i++) dx[(long)i * d + j] = dy[(long)i * d + j] * g[j] * rstd[j];
}

static void batchnorm_r_forward(Net *n, const Node *node, int rows) {
    int d = node->dim_out;
    NormVec v = {rows, d, 0};
    const float *rx = RX(n, node), *g = GAIN(n, node), *xh = XH(node), *rstd = RSTD(n, node);
    const float *rg = n->rparams + TOFF(n, node, G), *rb = n->rparams + TOFF(n, node, B);
    float *ry = RY(n, node), *rxh = RXH(n, node);
    FEATURE_FOR
    for (int j = 0; j < d; j++) {
        if (n->training) norm_project(&v, rx + j, NULL, xh + j, rstd[j], rxh + j);
        else for (int i = 0; i < rows; i++) rxh[(long)i * d + j] = rx[(long)i * d + j] * rstd[j];
        for (int i = 0; i < rows; i++) {
            long o = (long)i * d + j;
            ry[o] = g[j] * rxh[o] + rg[j] * xh[o] + rb[j];
        }
    }
}

static void batchnorm_r_backward(Net *n, const Node *node, int rows) {
    int d = node->dim_out;
    NormVec v = {rows, d, 0};
    const float *dy = DY(n, node), *rdy = RDY(n, node), *xh = XH(node), *rxh = RXH(n, node);
    const float *g = GAIN(n, node), *rg = n->rparams + TOFF(n, node, G), *rstd = RSTD(n, node);
    norm_param_r_grads(rows, d, dy, rdy, xh, rxh, n->rgrads + TOFF(n, node, G),
                       n->rgrads + TOFF(n, node, B));
    if (node->in == 0) return;
    const float *rx = RX(n, node);
    float *rdx = RDX(n, node);
    FEATURE_FOR
    for (int j = 0; j < d; j++) {
        if (n->training) {
            norm_r_backward(&v, dy + j, rdy + j, g + j, rg + j, xh + j, rxh + j, rx + j, rstd[j], rdx + j);
        } else {
            for (int i = 0; i < rows; i++) {
                long o = (long)i * d + j;
                rdx[o] = rstd[j] * (rdy[o] * g[j] + dy[o] * rg[j]);
            }
        }
    }
}

const LayerDef layer_batchnorm = {
    "batchnorm", "BatchNorm1d", 1, 2, 1e-5, batchnorm_build, batchnorm_init, batchnorm_scratch,
    batchnorm_forward, batchnorm_backward, batchnorm_r_forward, batchnorm_r_backward, 0, 0,
};
