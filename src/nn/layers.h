/* layers.h: the layer table. A layer kind is one row, and the row is the whole layer:
 *
 *   build       declares the node's parameters and buffers (net_param / net_buffer: names,
 *               shapes, roles) and returns its output width
 *   init        PyTorch's default initialisation of them
 *   scratch     floats of scratch the node needs for `capacity` rows (masks, statistics);
 *               net_alloc asks for eval_capacity, the most rows any pass takes
 *   forward     value[out] from value[in]
 *   backward    grad[in] from grad[out] (skipped for the input slot), and the parameter
 *               gradients into n->grads (written when n->overwrite_grads, else added)
 *   r_forward   R{value[out]} from R{value[in]} and the direction n->rparams
 *   r_backward  R{grad[in]} and n->rgrads += R{d loss / d params}
 *
 * R{f} is the directional derivative d/dr f(params + r v) at r = 0 (Pearlmutter's
 * R-operator), so the R-backward of the whole tape yields the Hessian-vector product H v in
 * one forward-mode sweep through the forward and the backward pass (hvp.h).
 *
 * Each row lives in its own file with its functions side by side; adding a layer kind is one
 * enum entry (net.h), one row in layers.c and that file. Rows with no parameters leave build,
 * init NULL; rows with no scratch leave scratch NULL. Every other entry is required, and a
 * test checks that no row lacks one. */
#ifndef NN_LAYERS_H
#define NN_LAYERS_H

#include "nn/net.h"

typedef struct {
    const char *name;        /* the model-file keyword: "linear", "relu", ... */
    const char *torch;       /* PyTorch's module: "Linear", "ReLU", "CrossEntropyLoss", ... */
    int is_module;           /* counts as a module of nn.Sequential (not the loss) */
    int has_arg;             /* 0: none, 1: required (linear N, dropout P), 2: optional */
    double default_arg;
    int (*build)(Net *n, Node *node);            /* -> output width; NULL: same as input */
    void (*init)(const Net *n, const Node *node, Rng *rng);
    long (*scratch)(const Node *node, int capacity);
    void (*forward)(Net *n, const Node *node, int rows);
    void (*backward)(Net *n, const Node *node, int rows);
    void (*r_forward)(Net *n, const Node *node, int rows);
    void (*r_backward)(Net *n, const Node *node, int rows);
    /* fusion (net.c): a producer computes its output and its input gradient with one GEMM
     * product each, which can apply a ReLU epilogue and a ReLU gate; gemm_relu marks the
     * layer max(x, 0) that those stand in for. */
    int gemm_producer;
    int gemm_relu;
} LayerDef;

extern const LayerDef *const layer_table[LAYER_COUNT];

/* The kind whose row is named name, or -1. */
int layer_find(const char *name);
/* 1 for the losses (the last node of a network). */
int layer_is_loss(LayerKind kind);

/* ---- shared by the rows ---- */
/* Element-wise loops are vectorised and threaded only when large enough to pay for the fork. */
#define LAYER_PAR_MIN 65536
#define PAR_FOR _Pragma("omp parallel for simd schedule(static) num_threads(kernels_get_threads()) if(parallel: count > LAYER_PAR_MIN)")

#define X(n, node)  ((n)->value[(node)->in])
#define Y(n, node)  ((n)->value[(node)->out])
#define DX(n, node) ((n)->grad[(node)->in])
#define DY(n, node) ((n)->grad[(node)->out])
#define RX(n, node)  ((n)->rvalue[(node)->in])
#define RY(n, node)  ((n)->rvalue[(node)->out])
#define RDX(n, node) ((n)->rgrad[(node)->in])
#define RDY(n, node) ((n)->rgrad[(node)->out])
/* offset of the node's k-th tensor in params/grads/rparams/rgrads, or buffers */
#define TOFF(n, node, k) ((n)->tensors[(node)->t0 + (k)].offset)

#endif
