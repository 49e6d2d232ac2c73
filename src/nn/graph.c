/* graph.c: building the static tape and driving forward/backward over it. */
#include "nn/graph.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

void graph_init(Graph *g, int input_dim) {
    memset(g, 0, sizeof *g);
    g->n_values = 1;
    g->value_dim[0] = input_dim;
}

/* Appends a node reading the current last value and producing a new one. */
static Node *push_node(Graph *g, OpKind op, int dim_out) {
    if (g->n_nodes >= GRAPH_MAX_NODES)
        fatal(EXIT_USAGE, "model: more than %d layers", GRAPH_MAX_NODES);
    Node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->in = g->n_values - 1;
    n->out = g->n_values;
    n->dim_in = g->value_dim[n->in];
    n->dim_out = dim_out;
    n->module = g->n_nodes;   /* every node is one nn.Sequential module */
    g->value_dim[g->n_values++] = dim_out;
    g->n_nodes++;
    return n;
}

static void add_tensor(Graph *g, const char *kind, int module, int ndim, int d0, int d1) {
    ParamTensor *t = &g->tensors[g->n_tensors++];
    snprintf(t->name, sizeof t->name, "%d.%s", module, kind);
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->size = ndim == 2 ? (long)d0 * d1 : d0;
    t->offset = g->n_params;
    t->is_bias = ndim == 1;
    g->n_params += t->size;
}

void graph_add_linear(Graph *g, int out_dim) {
    Node *n = push_node(g, OP_LINEAR, out_dim);
    n->w = g->n_params;
    add_tensor(g, "weight", n->module, 2, out_dim, n->dim_in);
    n->b = g->n_params;
    add_tensor(g, "bias", n->module, 1, out_dim, 0);
}

void graph_add_unary(Graph *g, OpKind op) {
    push_node(g, op, g->value_dim[g->n_values - 1]);
}

void graph_add_dropout(Graph *g, float p) {
    Node *n = push_node(g, OP_DROPOUT, g->value_dim[g->n_values - 1]);
    n->p = p;
}

void graph_alloc(Graph *g, int capacity) {
    g->capacity = capacity;
    for (int v = 0; v < g->n_values; v++) {
        g->value[v] = xalloc_floats((size_t)capacity * g->value_dim[v]);
        g->grad[v] = v == 0 ? NULL : xalloc_floats((size_t)capacity * g->value_dim[v]);
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == OP_DROPOUT)
            g->mask[i] = xalloc_floats((size_t)capacity * g->nodes[i].dim_out);
    g->params = xalloc_floats((size_t)g->n_params);
    g->grads = xalloc_floats((size_t)g->n_params);
}

void graph_free(Graph *g) {
    for (int v = 0; v < g->n_values; v++) { free(g->value[v]); free(g->grad[v]); }
    for (int i = 0; i < g->n_nodes; i++) free(g->mask[i]);
    free(g->params);
    free(g->grads);
    memset(g, 0, sizeof *g);
}

float *graph_input(Graph *g) { return g->value[0]; }
float *graph_output(Graph *g) { return g->value[g->n_values - 1]; }
float *graph_output_grad(Graph *g) { return g->grad[g->n_values - 1]; }
int graph_input_dim(const Graph *g) { return g->value_dim[0]; }
int graph_output_dim(const Graph *g) { return g->value_dim[g->n_values - 1]; }

void graph_forward(Graph *g, int rows) {
    for (int i = 0; i < g->n_nodes; i++)
        op_table[g->nodes[i].op].forward(g, &g->nodes[i], rows);
}

void graph_backward(Graph *g, int rows) {
    for (int i = g->n_nodes - 1; i >= 0; i--)
        op_table[g->nodes[i].op].backward(g, &g->nodes[i], rows);
    g->overwrite_grads = 0;
}

void graph_zero_grads(Graph *g) {
    memset(g->grads, 0, sizeof(float) * (size_t)g->n_params);
}
