/* dropout.c: inverted dropout, as torch.nn.Dropout. While training y = x m with m = 0 with
 * probability p, else 1/(1-p), so evaluation is the identity; dx = dy m; the R-ops are the
 * same linear map (R{y} = m R{x}, R{dx} = m R{dy}). The mask is drawn serially from the
 * network's dropout stream, so it does not depend on the thread count; with reuse_mask the
 * last mask is kept (finite differences and Hessian-vector products need a fixed one). */
#include "nn/layers.h"

#include <stddef.h>

static long dropout_scratch(const Node *node, int capacity) {
    return (long)capacity * node->dim_out;   /* the mask */
}

static void dropout_forward(Net *n, const Node *node, int rows) {
    long count = (long)rows * node->dim_out;
    const float *x = X(n, node);
    float *y = Y(n, node), *m = node->scratch;
    if (!n->training) {
        for (long i = 0; i < count; i++) y[i] = x[i];
        return;
    }
    float p = (float)node->arg, keep_scale = 1.0f / (1.0f - p);
    if (!n->reuse_mask)
        for (long i = 0; i < count; i++) m[i] = rng_uniform(&n->dropout_rng) < p ? 0.0f : keep_scale;
    for (long i = 0; i < count; i++) y[i] = x[i] * m[i];
}

/* out = in * mask while training (the mask of the last forward), else out = in */
static void apply_mask(const Net *n, const Node *node, int rows, const float *in, float *out) {
    long count = (long)rows * node->dim_out;
    const float *m = node->scratch;
    if (!n->training)
        for (long i = 0; i < count; i++) out[i] = in[i];
    else
        for (long i = 0; i < count; i++) out[i] = in[i] * m[i];
}

static void dropout_backward(Net *n, const Node *node, int rows) {
    if (node->in > 0) apply_mask(n, node, rows, DY(n, node), DX(n, node));
}

static void dropout_r_forward(Net *n, const Node *node, int rows) {
    apply_mask(n, node, rows, RX(n, node), RY(n, node));
}

static void dropout_r_backward(Net *n, const Node *node, int rows) {
    if (node->in > 0) apply_mask(n, node, rows, RDY(n, node), RDX(n, node));
}

const LayerDef layer_dropout = {
    "dropout", "Dropout", 1, 1, 0, NULL, NULL, dropout_scratch,
    dropout_forward, dropout_backward, dropout_r_forward, dropout_r_backward, 0, 0,
};
