/* layernorm.c: torch.nn.LayerNorm(features, eps=1e-5, elementwise_affine=True): each row is
 * standardised over its features, then y = g xh + b per feature (g = 1, b = 0 at init). The
 * vector arithmetic is norm.c's; here are the row loop and the parameter gradients:
 *   dg (+)= sum over rows of dy xh,  db (+)= sum over rows of dy
 *   R{dg} += sum over rows of (R{dy} xh + dy R{xh}),  R{db} += sum over rows of R{dy}
 * Scratch: xh and R{xh} (rows x features), then r per row. */
#include "kernels/kernels.h"
#include "nn/layers.h"
#include "nn/norm.h"

#include <stdlib.h>

enum { G, B };

static int layernorm_build(Net *n, Node *node) {
    net_param(n, node, "weight", ROLE_NORM, 1, node->dim_in, 0);
    net_param(n, node, "bias", ROLE_NORM, 1, node->dim_in, 0);
    return node->dim_in;
}

static void layernorm_init(const Net *n, const Node *node, Rng *rng) {
    (void)rng;
    float *g = n->params + TOFF(n, node, G), *b = n->params + TOFF(n, node, B);
    for (int k = 0; k < node->dim_out; k++) { g[k] = 1.0f; b[k] = 0.0f; }
}

static long layernorm_scratch(const Node *node, int capacity) {
    return 2L * capacity * node->dim_out + capacity;
}

#define XH(node) ((node)->scratch)
#define RXH(node, capacity) ((node)->scratch + (long)(capacity) * (node)->dim_out)
#define RSTD(node, capacity) ((node)->scratch + 2L * (capacity) * (node)->dim_out)
#define ROW_FOR _Pragma("omp parallel for schedule(static) num_threads(kernels_get_threads()) if((long)rows * d > LAYER_PAR_MIN)")

static void layernorm_forward(Net *n, const Node *node, int rows) {
    int d = node->dim_out;
    NormVec v = {d, 1, 1};
    const float *x = X(n, node), *g = n->params + TOFF(n, node, G), *b = n->params + TOFF(n, node, B);
    float *y = Y(n, node), *xh = XH(node), *rstd = RSTD(node, n->eval_capacity);
    ROW_FOR
    for (int i = 0; i < rows; i++) {
        double mu, var;
        long o = (long)i * d;
        rstd[i] = norm_standardise(&v, x + o, node->arg, xh + o, &mu, &var);
        for (int k = 0; k < d; k++) y[o + k] = xh[o + k] * g[k] + b[k];
    }
}

static void layernorm_backward(Net *n, const Node *node, int rows) {
    int d = node->dim_out;
    NormVec v = {d, 1, 1};
    const float *dy = DY(n, node), *g = n->params + TOFF(n, node, G), *xh = XH(node);
    const float *rstd = RSTD(node, n->eval_capacity);
    norm_param_grads(rows, d, dy, xh, n->grads + TOFF(n, node, G), n->grads + TOFF(n, node, B),
                     n->overwrite_grads);
    if (node->in == 0) return;
    float *dx = DX(n, node);
    ROW_FOR
    for (int i = 0; i < rows; i++)
        norm_project(&v, dy + (long)i * d, g, xh + (long)i * d, rstd[i], dx + (long)i * d);
}

static void layernorm_r_forward(Net *n, const Node *node, int rows) {
    int d = node->dim_out;
    NormVec v = {d, 1, 1};
    const float *rx = RX(n, node), *g = n->params + TOFF(n, node, G), *xh = XH(node);
    const float *rg = n->rparams + TOFF(n, node, G), *rb = n->rparams + TOFF(n, node, B);
    const float *rstd = RSTD(node, n->eval_capacity);
    float *ry = RY(n, node), *rxh = RXH(node, n->eval_capacity);
    ROW_FOR
    for (int i = 0; i < rows; i++) {
        long o = (long)i * d;
        norm_project(&v, rx + o, NULL, xh + o, rstd[i], rxh + o);
        for (int k = 0; k < d; k++) ry[o + k] = g[k] * rxh[o + k] + rg[k] * xh[o + k] + rb[k];
    }
}

static void layernorm_r_backward(Net *n, const Node *node, int rows) {
    int d = node->dim_out;
    NormVec v = {d, 1, 1};
    const float *dy = DY(n, node), *rdy = RDY(n, node), *xh = XH(node);
    const float *rxh = RXH(node, n->eval_capacity), *rstd = RSTD(node, n->eval_capacity);
    const float *g = n->params + TOFF(n, node, G), *rg = n->rparams + TOFF(n, node, G);
    norm_param_r_grads(rows, d, dy, rdy, xh, rxh, n->rgrads + TOFF(n, node, G),
                       n->rgrads + TOFF(n, node, B));
    if (node->in == 0) return;
    const float *rx = RX(n, node);
    float *rdx = RDX(n, node);
    ROW_FOR
    for (int i = 0; i < rows; i++) {
        long o = (long)i * d;
        norm_r_backward(&v, dy + o, rdy + o, g, rg, xh + o, rxh + o, rx + o, rstd[i], rdx + o);
    }
}

const LayerDef layer_layernorm = {
    "layernorm", "LayerNorm", 1, 2, 1e-5, layernorm_build, layernorm_init, layernorm_scratch,
    layernorm_forward, layernorm_backward, layernorm_r_forward, layernorm_r_backward, 0, 0,
};
