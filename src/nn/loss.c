/* loss.c: the losses, as the last layer of a network. The loss node reads the logits z
 * (rows x C) and the labels, writes each row's loss into its output slot and adds them up
 * in n->loss_sum (and the rows whose argmax is the label in n->correct). Its backward
 * writes scale * d loss_i / d z with scale = n->loss_scale (1 / group size), so a group of
 * micro-batches is averaged over its true total size.
 *
 * cross-entropy (torch.nn.CrossEntropyLoss) with label smoothing s (the node's arg, applied
 *   while training; evaluation reports the plain criterion): target q_c = (1 - s)[c = y] + s/C,
 *   loss_i = logsumexp(z) - sum_c q_c z_c,  d loss_i / d z = p - q  with p = softmax(z);
 *   R{d loss_i / d z} = p (R{z} - p . R{z})  (the softmax Jacobian; smoothing adds no curvature)
 * mse (torch.nn.MSELoss against one-hot targets t, mean over all C outputs):
 *   loss_i = sum_c (z_c - t_c)^2 / C,  d loss_i / d z = 2 (z - t) / C,  R{...} = 2 R{z} / C
 * Rows are summed in order, in double, so the loss does not depend on the thread count. */
#include "nn/layers.h"

#include <stddef.h>

#include <math.h>

static int argmax(const float *z, int classes) {
    int best = 0;
    for (int c = 1; c < classes; c++) if (z[c] > z[best]) best = c;
    return best;
}

/* Stable: exponents are taken of z - max(z), so the largest term is exp(0) = 1. */
static double logsumexp(const float *z, int classes) {
    float zmax = z[0];
    for (int c = 1; c < classes; c++) if (z[c] > zmax) zmax = z[c];
    double sum = 0.0;
    for (int c = 0; c < classes; c++) sum += exp((double)z[c] - zmax);
    return zmax + log(sum);
}

static double smoothing(const Net *n, const Node *node) {
    return n->training ? node->arg : 0.0;
}

/* One row's loss; with dz, also its gradient times scale. */
static double cross_entropy_row(const float *z, int y, int classes, double s, float scale, float *dz) {
    double lse = logsumexp(z, classes);
    /* s is a float; s / C is a float division, as the loss has always computed it */
    double off = (float)s / classes, on = 1.0 - s + off, target_dot_z = 0.0;
    for (int c = 0; c < classes; c++) target_dot_z += (c == y ? on : off) * z[c];
    if (dz)
        for (int c = 0; c < classes; c++) {
            double p = exp((double)z[c] - lse);
            dz[c] = (float)(scale * (p - (c == y ? on : off)));
        }
    return lse - target_dot_z;
}

static double mse_row(const float *z, int y, int classes, double s, float scale, float *dz) {
    (void)s;
    double sum = 0.0;
    for (int c = 0; c < classes; c++) {
        double d = (double)z[c] - (c == y ? 1.0 : 0.0);
        sum += d * d;
        if (dz) dz[c] = (float)(scale * 2.0 * d / classes);
    }
    return sum / classes;
}

typedef double (*RowFn)(const float *z, int y, int classes, double s, float scale, float *dz);

static void loss_forward(Net *n, const Node *node, int rows, RowFn row) {
    if (!n->labels) return;
    int classes = node->dim_in;
    const float *z = X(n, node);
    float *loss = Y(n, node);
    for (int i = 0; i < rows; i++) {
        const float *zi = z + (long)i * classes;
        double l = row(zi, n->labels[i], classes, smoothing(n, node), 0.0f, NULL);
        loss[i] = (float)l;
        n->loss_sum += l;
        n->correct += argmax(zi, classes) == n->labels[i];
    }
}

static void loss_backward(Net *n, const Node *node, int rows, RowFn row) {
    int classes = node->dim_in;
    const float *z = X(n, node);
    float *dz = DX(n, node);
    for (int i = 0; i < rows; i++)
        row(z + (long)i * classes, n->labels[i], classes, smoothing(n, node), n->loss_scale,
            dz + (long)i * classes);
}

/* R{loss_i} = (d loss_i / d z) . R{z}: the unscaled gradient of the row against R{z} */
static void loss_r_forward(Net *n, const Node *node, int rows, RowFn row) {
    int classes = node->dim_in;
    float *g = node->scratch;
    const float *z = X(n, node), *rz = RX(n, node);
    for (int i = 0; i < rows; i++) {
        row(z + (long)i * classes, n->labels[i], classes, smoothing(n, node), 1.0f, g);
        double d = 0;
        for (int c = 0; c < classes; c++) d += (double)g[c] * rz[(long)i * classes + c];
        RY(n, node)[i] = (float)d;
    }
}

#define LOSS_ROW_FNS(NAME) \
    static void NAME##_forward(Net *n, const Node *node, int rows) { loss_forward(n, node, rows, NAME##_row); } \
    static void NAME##_backward(Net *n, const Node *node, int rows) { loss_backward(n, node, rows, NAME##_row); } \
    static void NAME##_r_forward(Net *n, const Node *node, int rows) { loss_r_forward(n, node, rows, NAME##_row); }
LOSS_ROW_FNS(cross_entropy)
LOSS_ROW_FNS(mse)

static void cross_entropy_r_backward(Net *n, const Node *node, int rows) {
    int classes = node->dim_in;
    const float *z = X(n, node), *rz = RX(n, node);
    float *rdz = RDX(n, node);
    for (int i = 0; i < rows; i++) {
        const float *zi = z + (long)i * classes, *rzi = rz + (long)i * classes;
        double lse = logsumexp(zi, classes), p_dot_rz = 0;
        for (int c = 0; c < classes; c++) p_dot_rz += exp((double)zi[c] - lse) * rzi[c];
        for (int c = 0; c < classes; c++)
            rdz[(long)i * classes + c] =
                (float)(n->loss_scale * exp((double)zi[c] - lse) * (rzi[c] - p_dot_rz));
    }
}

static void mse_r_backward(Net *n, const Node *node, int rows) {
    long count = (long)rows * node->dim_in;
    const float *rz = RX(n, node);
    float *rdz = RDX(n, node);
    for (long i = 0; i < count; i++)
        rdz[i] = (float)(n->loss_scale * 2.0 * rz[i] / node->dim_in);
}

static int loss_build(Net *n, Node *node) {
    (void)n; (void)node;
    return 1;   /* one loss per row */
}

static long loss_scratch(const Node *node, int capacity) {
    (void)capacity;
    return node->dim_in;   /* one row's gradient, for r_forward */
}

const LayerDef layer_cross_entropy = {
    "cross_entropy", "CrossEntropyLoss", 0, 2, 0, loss_build, NULL, loss_scratch,
    cross_entropy_forward, cross_entropy_backward, cross_entropy_r_forward, cross_entropy_r_backward, 0, 0,
};
const LayerDef layer_mse = {
    "mse", "MSELoss", 0, 0, 0, loss_build, NULL, loss_scratch,
    mse_forward, mse_backward, mse_r_forward, mse_r_backward, 0, 0,
};
