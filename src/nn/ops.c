/* ops.c: every op's forward and backward, side by side, and the table that names them.
 * Shapes: x = value[in] (rows x dim_in), y = value[out] (rows x dim_out), dx, dy likewise. */
#include "nn/graph.h"
#include "kernels/kernels.h"

#include <math.h>
#include <string.h>

#define X(n)  (g->value[(n)->in])
#define Y(n)  (g->value[(n)->out])
#define DX(n) (g->grad[(n)->in])
#define DY(n) (g->grad[(n)->out])

/* Elementwise loops are vectorised (a ReLU's data-dependent branch would otherwise mispredict
 * about half the time) and threaded only when large enough to pay for the fork. */
#define PAR_FOR _Pragma("omp parallel for simd schedule(static) num_threads(kernels_get_threads()) if(parallel: count > 65536)")

/* ---- linear: y = x W^T + b, W [out, in] as nn.Linear ----
 * dx = dy W,  dW += dy^T x,  db += sum over rows of dy */
static void linear_forward(Graph *g, const Node *n, int rows) {
    const float *W = g->params + n->w, *b = g->params + n->b;
    sgemm(0, 1, rows, n->dim_out, n->dim_in, 1.0f, X(n), n->dim_in, W, n->dim_in, 0.0f,
          Y(n), n->dim_out);
    add_row_bias(rows, n->dim_out, Y(n), n->dim_out, b);
}

static void linear_backward(Graph *g, const Node *n, int rows) {
    const float *W = g->params + n->w;
    float *db = g->grads + n->b;
    sgemm(1, 0, n->dim_out, n->dim_in, rows, 1.0f, DY(n), n->dim_out, X(n), n->dim_in,
          g->overwrite_grads ? 0.0f : 1.0f, g->grads + n->w, n->dim_in);
    if (g->overwrite_grads) memset(db, 0, sizeof(float) * (size_t)n->dim_out);
    col_sum_add(rows, n->dim_out, DY(n), n->dim_out, db);
    if (n->in > 0)
        sgemm(0, 0, rows, n->dim_in, n->dim_out, 1.0f, DY(n), n->dim_out, W, n->dim_in, 0.0f,
              DX(n), n->dim_in);
}

/* ---- relu: y = max(x, 0); dx = dy * [y > 0] (PyTorch: gradient 0 at x = 0) ---- */
static void relu_forward(Graph *g, const Node *n, int rows) {
    long count = (long)rows * n->dim_out;
    const float *x = X(n); float *y = Y(n);
    PAR_FOR
    for (long i = 0; i < count; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void relu_backward(Graph *g, const Node *n, int rows) {
    long count = (long)rows * n->dim_out;
    const float *y = Y(n), *dy = DY(n); float *dx = DX(n);
    PAR_FOR
    for (long i = 0; i < count; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

/* ---- tanh: dx = dy * (1 - y^2) ---- */
static void tanh_forward(Graph *g, const Node *n, int rows) {
    long count = (long)rows * n->dim_out;
    const float *x = X(n); float *y = Y(n);
    PAR_FOR
    for (long i = 0; i < count; i++) y[i] = tanhf(x[i]);
}

static void tanh_backward(Graph *g, const Node *n, int rows) {
    long count = (long)rows * n->dim_out;
    const float *y = Y(n), *dy = DY(n); float *dx = DX(n);
    PAR_FOR
    for (long i = 0; i < count; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

/* ---- sigmoid: y = 1 / (1 + e^-x); dx = dy * y (1 - y) ---- */
static void sigmoid_forward(Graph *g, const Node *n, int rows) {
    long count = (long)rows * n->dim_out;
    const float *x = X(n); float *y = Y(n);
    PAR_FOR
    for (long i = 0; i < count; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
}

static void sigmoid_backward(Graph *g, const Node *n, int rows) {
    long count = (long)rows * n->dim_out;
    const float *y = Y(n), *dy = DY(n); float *dx = DX(n);
    PAR_FOR
    for (long i = 0; i < count; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

/* ---- gelu, exact erf form (PyTorch's default): y = x Phi(x), Phi(x) = (1 + erf(x/sqrt2))/2;
 * dx = dy * (Phi(x) + x phi(x)), phi(x) = exp(-x^2/2) / sqrt(2 pi) ---- */
static void gelu_forward(Graph *g, const Node *n, int rows) {
    long count = (long)rows * n->dim_out;
    const float *x = X(n); float *y = Y(n);
    PAR_FOR
    for (long i = 0; i < count; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
}

static void gelu_backward(Graph *g, const Node *n, int rows) {
    long count = (long)rows * n->dim_out;
    const float *x = X(n), *dy = DY(n); float *dx = DX(n);
    const float inv_sqrt_2pi = 0.3989422804014327f;
    PAR_FOR
    for (long i = 0; i < count; i++) {
        float cdf = 0.5f * (1.0f + erff(x[i] * (float)M_SQRT1_2));
        float pdf = inv_sqrt_2pi * expf(-0.5f * x[i] * x[i]);
        dx[i] = dy[i] * (cdf + x[i] * pdf);
    }
}

/* ---- dropout, inverted: while training y = x * m, m = 0 with probability p else 1/(1-p),
 * so evaluation is the identity; dx = dy * m. The mask is drawn serially from the graph's
 * dropout Rng, so it does not depend on the thread count. ---- */
static void dropout_forward(Graph *g, const Node *n, int rows) {
    long count = (long)rows * n->dim_out;
    const float *x = X(n); float *y = Y(n);
    if (!g->training) {
        for (long i = 0; i < count; i++) y[i] = x[i];
        return;
    }
    float *m = g->mask[n - g->nodes];
    float keep_scale = 1.0f / (1.0f - n->p);
    for (long i = 0; i < count; i++) m[i] = rng_uniform(&g->dropout_rng) < n->p ? 0.0f : keep_scale;
    for (long i = 0; i < count; i++) y[i] = x[i] * m[i];
}

static void dropout_backward(Graph *g, const Node *n, int rows) {
    long count = (long)rows * n->dim_out;
    const float *m = g->mask[n - g->nodes], *dy = DY(n); float *dx = DX(n);
    for (long i = 0; i < count; i++) dx[i] = dy[i] * m[i];
}

const OpDef op_table[OP_COUNT] = {
    [OP_LINEAR]  = {"linear",  linear_forward,  linear_backward},
    [OP_RELU]    = {"relu",    relu_forward,    relu_backward},
    [OP_TANH]    = {"tanh",    tanh_forward,    tanh_backward},
    [OP_SIGMOID] = {"sigmoid", sigmoid_forward, sigmoid_backward},
    [OP_GELU]    = {"gelu",    gelu_forward,    gelu_backward},
    [OP_DROPOUT] = {"dropout", dropout_forward, dropout_backward},
};
