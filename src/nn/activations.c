/* activations.c: the element-wise activations, each as f(x), f' and f'':
 *   forward y = f(x);  backward dx = dy f'(x)
 *   r_forward R{y} = f'(x) R{x};  r_backward R{dx} = f'(x) R{dy} + f''(x) R{x} dy
 * Derivatives are written through y where that is cheaper (tanh, sigmoid). */
#include "kernels/kernels.h"
#include "nn/layers.h"

#include <stddef.h>

#include <math.h>

/* OUT[i] = EXPR for every element of the node's rows (vectorised, threaded when large) */
#define EACH(OUT, EXPR) do { \
        long count = (long)rows * node->dim_out; float *out_ = (OUT); \
        PAR_FOR for (long i = 0; i < count; i++) out_[i] = (EXPR); } while (0)
/* the input slot has no gradient: a first-layer activation has nothing to pass back */
#define HAS_DX(node) ((node)->in > 0)

#define POINTERS \
    const float *x = X(n, node), *y = Y(n, node); (void)x; (void)y

/* ---- relu: y = max(x, 0); f' = [y > 0] (PyTorch: 0 at x = 0); f'' = 0 ---- */
static void relu_forward(Net *n, const Node *node, int rows) {
    POINTERS;
    EACH(Y(n, node), x[i] > 0.0f ? x[i] : 0.0f);
}
static void relu_backward(Net *n, const Node *node, int rows) {
    POINTERS; const float *dy = DY(n, node);
    if (HAS_DX(node)) EACH(DX(n, node), y[i] > 0.0f ? dy[i] : 0.0f);
}
static void relu_r_forward(Net *n, const Node *node, int rows) {
    POINTERS; const float *rx = RX(n, node);
    EACH(RY(n, node), y[i] > 0.0f ? rx[i] : 0.0f);
}
static void relu_r_backward(Net *n, const Node *node, int rows) {
    POINTERS; const float *rdy = RDY(n, node);
    if (HAS_DX(node)) EACH(RDX(n, node), y[i] > 0.0f ? rdy[i] : 0.0f);
}

/* ---- tanh: f' = 1 - y^2; f'' = -2 y (1 - y^2) ---- */
static void tanh_forward(Net *n, const Node *node, int rows) {
    POINTERS;
    EACH(Y(n, node), tanhf(x[i]));
}
static void tanh_backward(Net *n, const Node *node, int rows) {
    POINTERS; const float *dy = DY(n, node);
    if (HAS_DX(node)) EACH(DX(n, node), dy[i] * (1.0f - y[i] * y[i]));
}
static void tanh_r_forward(Net *n, const Node *node, int rows) {
    POINTERS; const float *rx = RX(n, node);
    EACH(RY(n, node), rx[i] * (1.0f - y[i] * y[i]));
}
static void tanh_r_backward(Net *n, const Node *node, int rows) {
    POINTERS; const float *dy = DY(n, node), *rdy = RDY(n, node), *rx = RX(n, node);
    if (HAS_DX(node))
        EACH(RDX(n, node), (1.0f - y[i] * y[i]) * (rdy[i] - 2.0f * y[i] * rx[i] * dy[i]));
}

/* ---- sigmoid: y = 1 / (1 + e^-x); f' = y (1 - y); f'' = y (1 - y)(1 - 2y) ---- */
static void sigmoid_forward(Net *n, const Node *node, int rows) {
    POINTERS;
    EACH(Y(n, node), 1.0f / (1.0f + expf(-x[i])));
}
static void sigmoid_backward(Net *n, const Node *node, int rows) {
    POINTERS; const float *dy = DY(n, node);
    if (HAS_DX(node)) EACH(DX(n, node), dy[i] * y[i] * (1.0f - y[i]));
}
static void sigmoid_r_forward(Net *n, const Node *node, int rows) {
    POINTERS; const float *rx = RX(n, node);
    EACH(RY(n, node), rx[i] * y[i] * (1.0f - y[i]));
}
static void sigmoid_r_backward(Net *n, const Node *node, int rows) {
    POINTERS; const float *dy = DY(n, node), *rdy = RDY(n, node), *rx = RX(n, node);
    if (HAS_DX(node))
        EACH(RDX(n, node), y[i] * (1.0f - y[i]) * (rdy[i] + (1.0f - 2.0f * y[i]) * rx[i] * dy[i]));
}

/* ---- gelu, exact erf form (PyTorch's default): y = x Phi(x), Phi(x) = (1 + erf(x/sqrt2))/2;
 * f' = Phi(x) + x phi(x), f'' = phi(x) (2 - x^2), phi(x) = exp(-x^2/2) / sqrt(2 pi) ---- */
#define INV_SQRT_2PI 0.3989422804014327f
#define GELU_CDF(v) (0.5f * (1.0f + erff((v) * (float)M_SQRT1_2)))
#define GELU_PDF(v) (INV_SQRT_2PI * expf(-0.5f * (v) * (v)))

static void gelu_forward(Net *n, const Node *node, int rows) {
    POINTERS;
    EACH(Y(n, node), 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2)));
}
static void gelu_backward(Net *n, const Node *node, int rows) {
    POINTERS; const float *dy = DY(n, node);
    if (HAS_DX(node)) EACH(DX(n, node), dy[i] * (GELU_CDF(x[i]) + x[i] * GELU_PDF(x[i])));
}
static void gelu_r_forward(Net *n, const Node *node, int rows) {
    POINTERS; const float *rx = RX(n, node);
    EACH(RY(n, node), rx[i] * (GELU_CDF(x[i]) + x[i] * GELU_PDF(x[i])));
}
static void gelu_r_backward(Net *n, const Node *node, int rows) {
    POINTERS; const float *dy = DY(n, node), *rdy = RDY(n, node), *rx = RX(n, node);
    if (HAS_DX(node))
        EACH(RDX(n, node), rdy[i] * (GELU_CDF(x[i]) + x[i] * GELU_PDF(x[i])) +
                               GELU_PDF(x[i]) * (2.0f - x[i] * x[i]) * rx[i] * dy[i]);
}

#define ACTIVATION(NAME, TORCH, GEMM_RELU) \
    const LayerDef layer_##NAME = {#NAME, TORCH, 1, 0, 0, NULL, NULL, NULL, NAME##_forward, \
                                   NAME##_backward, NAME##_r_forward, NAME##_r_backward, 0, \
                                   GEMM_RELU}
ACTIVATION(relu, "ReLU", 1);   /* a neighbouring product can apply it (net.c's fusion) */
ACTIVATION(tanh, "Tanh", 0);
ACTIVATION(sigmoid, "Sigmoid", 0);
ACTIVATION(gelu, "GELU", 0);
