/* net.h: a network as a tape of layers, built once and replayed.
 *
 * The tape is a chain of nodes in topological order; node i reads value slot i and writes
 * slot i + 1 (slot 0 is the input batch, the second-to-last slot the logits, the last the
 * per-example losses). Every slot has an activation buffer and a gradient buffer sized for
 * `capacity` rows, allocated before the first step.
 *
 * What a node does is its layer's row in the layer table (layers.h): forward, backward, the
 * forward-mode derivative (R-op) of both, its parameters with their names, shapes, roles and
 * PyTorch's default init, its buffers (BatchNorm's running statistics) and its scratch. The
 * tape itself knows no layer kind.
 *
 * All trainable parameters live in ONE flat float array (`params`) and their gradients in
 * another of the same layout (`grads`), so optimizers, clipping, checkpoints, all-reduce and
 * Hessian-vector products are single loops over flat vectors. Each tensor has an entry in
 * `tensors` (state_dict order: a module's parameters, then its buffers), named as PyTorch's
 * nn.Sequential names it. Buffers are state, not parameters: float ones in `buffers`,
 * integer counters (num_batches_tracked) in `counters`. */
#ifndef NN_NET_H
#define NN_NET_H

#include "util/rng.h"

#include <stdint.h>

#define NET_MAX_NODES 64
#define NET_MAX_TENSORS 192

typedef enum {
    LAYER_LINEAR, LAYER_RELU, LAYER_TANH, LAYER_SIGMOID, LAYER_GELU, LAYER_DROPOUT,
    LAYER_LAYERNORM, LAYER_BATCHNORM, LAYER_CROSS_ENTROPY, LAYER_MSE, LAYER_COUNT
} LayerKind;

/* What a tensor is to the optimizer: weight decay skips biases and norm parameters by
 * default; per-tensor rules (LARS) exclude them; buffers are not trained at all. */
typedef enum { ROLE_WEIGHT, ROLE_BIAS, ROLE_NORM, ROLE_BUFFER } TensorRole;

typedef struct {
    char name[32];         /* "0.weight", "1.running_mean", ... (state_dict names) */
    int ndim;              /* 0 (a scalar counter), 1 or 2 */
    int shape[2];
    TensorRole role;
    int is_counter;        /* int64 counter in `counters` (num_batches_tracked) */
    long offset, size;     /* in params/grads (trainable), buffers or counters */
    int node;
} NetTensor;

typedef struct {
    LayerKind kind;
    int in, out;           /* value slots read and written */
    int dim_in, dim_out;   /* features per row */
    int module;            /* index as a module of nn.Sequential; -1 for the loss */
    double arg;            /* the layer's argument: linear out features, dropout p, loss
                              label smoothing, norm eps */
    int t0, nt;            /* its tensors: tensors[t0 .. t0 + nt) */
    float *scratch;        /* its own scratch (a dropout mask, saved statistics) */
    /* fusion (net_alloc, from the rows' gemm_producer / gemm_relu): a product applies the
     * ReLU of the next node in its epilogue, or gates its input gradient by the ReLU
     * before it; the ReLU node then skips that pass and shares the slot's buffer */
    int relu_epilogue;     /* producer: forward applies max(., 0) (the next node's ReLU) */
    int gate_dx;           /* producer: input gradient zeroed where its input is not > 0 */
    int skip_forward;      /* ReLU: done by the product before it */
    int skip_backward;     /* ReLU: done by the product after it */
} Node;

typedef struct Net {
    Node nodes[NET_MAX_NODES];
    int n_nodes;
    int n_values;
    int value_dim[NET_MAX_NODES + 1];
    float *value[NET_MAX_NODES + 1];   /* capacity x value_dim */
    float *grad[NET_MAX_NODES + 1];    /* d loss / d value (NULL for the input) */
    float *rvalue[NET_MAX_NODES + 1];  /* R{value}: forward-mode derivative along rparams */
    float *rgrad[NET_MAX_NODES + 1];   /* R{grad} (both allocated by net_alloc_r) */
    int capacity;                      /* rows per forward/backward call */
    int eval_capacity;                 /* rows per forward call in evaluation mode: set
                                          before net_alloc to allow more than capacity
                                          (values and scratch are sized for it, gradients
                                          for capacity); net_alloc makes it >= capacity */
    int value_owner[NET_MAX_NODES + 1];   /* slot whose buffer value[v] is (v, or fused) */
    int grad_owner[NET_MAX_NODES + 1];    /* the same for grad[v] */
    int no_fusion;                     /* set before net_alloc: every node runs its own
                                          passes (tests compare the fused tape with it) */

    float *params, *grads;             /* the flat parameters and where backward writes their
                                          gradients (n_params floats each) */
    long n_params;
    float *buffers;                    /* float buffers (running statistics) */
    int64_t *counters;                 /* integer buffers */
    long n_buffers, n_counters;
    NetTensor tensors[NET_MAX_TENSORS];
    int n_tensors;

    /* how the next pass runs */
    int training;          /* dropout active, batch statistics, label smoothing */
    int update_stats;      /* with training: BatchNorm updates its running statistics */
    int reuse_mask;        /* dropout keeps its last mask instead of drawing a new one */
    int overwrite_grads;   /* the next backward writes parameter gradients instead of adding
                              to them (a step's first micro-batch needs no zeroed buffer) */
    int bf16;              /* Linear layers multiply in bfloat16: inputs of the forward and
                              backward products rounded to bf16, sums and results in float */
    int stats_cumulative;  /* BatchNorm's running statistics average all batches since
                              num_batches_tracked was 0 (momentum None, as update_bn) */
    Rng dropout_rng;
    const int *labels;     /* labels of the rows, for the loss (NULL: logits only) */
    float loss_scale;      /* the loss gradient is scale * d loss_i / d z (1 / group size) */
    double loss_sum;       /* of the last forward: sum over rows of loss_i */
    long correct;          /* rows whose argmax logit is the label */

    const float *rparams;  /* R-op direction v (n_params floats) */
    float *rgrads;         /* R{grads}: the R-backward adds H v here */
} Net;

/* ---- building: net_init, then net_add for every layer (the loss last), then net_alloc */
void net_init(Net *n, int input_dim);
/* Appends a layer reading the current last value; the layer's row declares its parameters
 * and buffers. Returns its node. Fails (-1, err) on a layer that does not fit (too many). */
int net_add(Net *n, LayerKind kind, double arg, char *err);
/* Allocates every buffer for `capacity` rows (zeroed; buffers get their layer's init). */
void net_alloc(Net *n, int capacity);
/* What net_alloc(n, capacity) would allocate, in floats (counted before allocating it). */
double net_alloc_floats(const Net *n, int capacity);
/* Allocates the R-op buffers (once; Hessian-vector products need them). */
void net_alloc_r(Net *n);
void net_free(Net *n);

/* Declared by a layer's build function: a parameter or buffer tensor of its node. */
long net_param(Net *n, Node *node, const char *suffix, TensorRole role, int ndim, int d0, int d1);
long net_buffer(Net *n, Node *node, const char *suffix, int is_counter, int ndim, int d0);

/* PyTorch's default initialisation of every layer, from one seeded stream. */
void net_init_params(Net *n, uint64_t seed);

float *net_input(Net *n);      /* capacity x input_dim */
float *net_logits(Net *n);     /* capacity x output_dim */
int net_input_dim(const Net *n);
int net_output_dim(const Net *n);
/* The loss node (the last), or NULL when the network has none. */
const Node *net_loss_node(const Net *n);
/* The tensor called name, or NULL. */
const NetTensor *net_find_tensor(const Net *n, const char *name);
float *net_tensor_data(const Net *n, const NetTensor *t);  /* F32 tensors */

/* Forward over `rows` rows of the input: activations, then (when labels are set) the loss:
 * loss_sum and correct. */
void net_forward(Net *n, int rows);
/* Backward from the loss: parameter gradients into grads (added, or written when
 * overwrite_grads is set, which it then clears). */
void net_backward(Net *n, int rows);
/* Forward-mode passes along rparams: R{value} after net_forward, R{grad} and rgrads += H v
 * after net_backward (see hvp.h). */
void net_r_forward(Net *n, int rows);
void net_r_backward(Net *n, int rows);
void net_zero_grads(Net *n);

#endif
