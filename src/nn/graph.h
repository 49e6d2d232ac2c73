/* graph.h: the autograd tape of an MLP. The graph is built once from the model spec: a list
 * of nodes in topological order (for a chain that is just layer order), one activation buffer
 * and one gradient buffer per value, all sized for `capacity` rows and allocated before the
 * first step. Forward runs the nodes in order, backward in reverse; every parameter gradient
 * is accumulated (+=) into one flat buffer with the same layout as the flat parameters, so
 * micro-batches add up without any extra code and optimizers see a single vector. */
#ifndef GRAPH_H
#define GRAPH_H

#include "util/rng.h"

#include <stdint.h>

typedef enum { OP_LINEAR, OP_RELU, OP_TANH, OP_SIGMOID, OP_GELU, OP_DROPOUT, OP_COUNT } OpKind;

typedef struct {
    OpKind op;
    int in, out;            /* value slots read and written */
    int dim_in, dim_out;    /* features per row */
    long w, b;              /* linear: offsets of weight [out,in] and bias [out] in params */
    float p;                /* dropout probability */
    int module;             /* index of this node as a module of PyTorch's nn.Sequential */
} Node;

/* One named parameter tensor inside the flat buffer. */
typedef struct {
    char name[32];          /* "0.weight", "0.bias", ... (nn.Sequential state_dict names) */
    int ndim;
    int shape[2];
    long offset, size;
    int is_bias;            /* biases skip weight decay unless --wd-bias */
} ParamTensor;

#define GRAPH_MAX_NODES 64

typedef struct {
    Node nodes[GRAPH_MAX_NODES];
    int n_nodes;
    int n_values;                       /* value 0 is the input, value n_values-1 the logits */
    int value_dim[GRAPH_MAX_NODES + 1];
    float *value[GRAPH_MAX_NODES + 1];  /* capacity x value_dim */
    float *grad[GRAPH_MAX_NODES + 1];   /* d loss / d value, same shape (NULL for the input) */
    float *mask[GRAPH_MAX_NODES];       /* dropout nodes: 0 or 1/(1-p) per element */
    int capacity;                       /* rows per forward/backward call */

    float *params, *grads;              /* the flat buffers, n_params each */
    long n_params;
    ParamTensor tensors[2 * GRAPH_MAX_NODES];
    int n_tensors;

    int training;                       /* dropout active */
    int overwrite_grads;                /* the next backward writes parameter gradients
                                           instead of adding to them (saves zeroing them) */
    Rng dropout_rng;
} Graph;

typedef struct {
    const char *name;
    void (*forward)(Graph *g, const Node *n, int rows);
    /* Reads grad[n->out]; writes grad[n->in] (skipped when n->in is the input) and adds
     * parameter gradients into g->grads. */
    void (*backward)(Graph *g, const Node *n, int rows);
} OpDef;

extern const OpDef op_table[OP_COUNT];

/* Adds nodes; the builder assigns value slots, parameter offsets and module indices. */
void graph_init(Graph *g, int input_dim);
void graph_add_linear(Graph *g, int out_dim);
void graph_add_unary(Graph *g, OpKind op);   /* activations */
void graph_add_dropout(Graph *g, float p);
/* Allocates every buffer for `capacity` rows. */
void graph_alloc(Graph *g, int capacity);
void graph_free(Graph *g);

float *graph_input(Graph *g);     /* capacity x input_dim */
float *graph_output(Graph *g);    /* capacity x output_dim (logits) */
float *graph_output_grad(Graph *g);
int graph_input_dim(const Graph *g);
int graph_output_dim(const Graph *g);

void graph_forward(Graph *g, int rows);
/* Adds the parameter gradients of `rows` rows into g->grads, or writes them when
 * g->overwrite_grads is set (which it then clears): a step's first micro-batch needs no
 * zeroed buffer, the following ones accumulate. */
void graph_backward(Graph *g, int rows);
void graph_zero_grads(Graph *g);

#endif
