/* linear.c: y = x W^T + b with W [out, in], as torch.nn.Linear.
 *
 *   forward     y = x W^T + b
 *   backward    dx = dy W,  dW (+)= dy^T x,  db (+)= sum over rows of dy
 *   r_forward   R{y} = R{x} W^T + x V^T + v_b          (V, v_b: the direction's W, b)
 *   r_backward  R{dx} = R{dy} W + dy V,  R{dW} += R{dy}^T x + dy^T R{x},  R{db} += sum R{dy}
 *   init        W, b ~ U(-1/sqrt(in), 1/sqrt(in)) (nn.Linear's default), W first, then b
 * The input slot (value 0) has no gradient and no R-value: its terms are skipped.
 *
 * The forward and backward products go through gemm_run: the bias rides in the forward
 * product's epilogue, and the backward's dW and dx share one parallel region; both change no
 * bit. So does fusion with a neighbouring ReLU (net.c): the forward epilogue then also
 * applies the next node's max(y, 0), and dx is gated by x > 0 for the ReLU before it.
 * With n->bf16 (--precision bf16) they take sgemm_bf16's arithmetic: x, W and dy are
 * rounded to bfloat16 as the products read them, the sums stay float, and y, dx, dW, the bias
 * and its gradient are float: PyTorch's CPU autocast for Linear, except that autocast also
 * rounds y (and so what flows to the next layer and back) to bf16. The R-operator passes
 * (Hessian-vector products, gradcheck) stay float: they differentiate the float network. */
#include "kernels/kernels.h"
#include "nn/layers.h"

#include <stddef.h>

#include <math.h>
#include <string.h>

enum { W, B };

static int linear_build(Net *n, Node *node) {
    int out = (int)node->arg;
    net_param(n, node, "weight", ROLE_WEIGHT, 2, out, node->dim_in);
    net_param(n, node, "bias", ROLE_BIAS, 1, out, 0);
    return out;
}

static void linear_init(const Net *n, const Node *node, Rng *rng) {
    float bound = 1.0f / sqrtf((float)node->dim_in);
    float *w = n->params + TOFF(n, node, W), *b = n->params + TOFF(n, node, B);
    for (long k = 0; k < (long)node->dim_out * node->dim_in; k++)
        w[k] = (2.0f * rng_uniform(rng) - 1.0f) * bound;
    for (int k = 0; k < node->dim_out; k++) b[k] = (2.0f * rng_uniform(rng) - 1.0f) * bound;
}

static void linear_forward(Net *n, const Node *node, int rows) {
    int in = node->dim_in, out = node->dim_out;
    Gemm y = {.trans_b = 1, .M = rows, .N = out, .K = in, .alpha = 1.0f, .A = X(n, node),
              .lda = in, .B = n->params + TOFF(n, node, W), .ldb = in, .C = Y(n, node),
              .ldc = out, .bf16 = n->bf16, .bias = n->params + TOFF(n, node, B),
              .relu = node->relu_epilogue};
    gemm_run(1, &y);
}

static void linear_backward(Net *n, const Node *node, int rows) {
    int in = node->dim_in, out = node->dim_out;
    float *db = n->grads + TOFF(n, node, B);
    Gemm g[2] = {
        {.trans_a = 1, .M = out, .N = in, .K = rows, .alpha = 1.0f, .A = DY(n, node), .lda = out,
         .B = X(n, node), .ldb = in, .beta = n->overwrite_grads ? 0.0f : 1.0f,
         .C = n->grads + TOFF(n, node, W), .ldc = in, .bf16 = n->bf16},
        {.M = rows, .N = in, .K = out, .alpha = 1.0f, .A = DY(n, node), .lda = out,
         .B = n->params + TOFF(n, node, W), .ldb = in, .C = DX(n, node), .ldc = in,
         .bf16 = n->bf16, .gate = node->gate_dx ? X(n, node) : NULL, .ldg = in},
    };
    gemm_run(node->in > 0 ? 2 : 1, g);   /* dW, and dx unless this reads the input */
    if (n->overwrite_grads) memset(db, 0, sizeof(float) * (size_t)out);
    col_sum_add(rows, out, DY(n, node), out, db);
}

static void linear_r_forward(Net *n, const Node *node, int rows) {
    int in = node->dim_in, out = node->dim_out;
    sgemm(0, 1, rows, out, in, 1.0f, X(n, node), in, n->rparams + TOFF(n, node, W), in, 0.0f,
          RY(n, node), out);
    if (node->in > 0)
        sgemm(0, 1, rows, out, in, 1.0f, RX(n, node), in, n->params + TOFF(n, node, W), in,
              1.0f, RY(n, node), out);
    add_row_bias(rows, out, RY(n, node), out, n->rparams + TOFF(n, node, B));
}

static void linear_r_backward(Net *n, const Node *node, int rows) {
    int in = node->dim_in, out = node->dim_out;
    float *rdw = n->rgrads + TOFF(n, node, W);
    sgemm(1, 0, out, in, rows, 1.0f, RDY(n, node), out, X(n, node), in, 1.0f, rdw, in);
    if (node->in > 0)
        sgemm(1, 0, out, in, rows, 1.0f, DY(n, node), out, RX(n, node), in, 1.0f, rdw, in);
    col_sum_add(rows, out, RDY(n, node), out, n->rgrads + TOFF(n, node, B));
    if (node->in > 0) {
        sgemm(0, 0, rows, in, out, 1.0f, RDY(n, node), out, n->params + TOFF(n, node, W), in,
              0.0f, RDX(n, node), in);
        sgemm(0, 0, rows, in, out, 1.0f, DY(n, node), out, n->rparams + TOFF(n, node, W), in,
              1.0f, RDX(n, node), in);
    }
}

const LayerDef layer_linear = {
    "linear", "Linear", 1, 1, 0, linear_build, linear_init, NULL,
    linear_forward, linear_backward, linear_r_forward, linear_r_backward, 1, 0,
};
