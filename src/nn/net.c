/* net.c: building the tape and driving the passes over it. Nothing here knows a layer kind:
 * every decision is the layer row's (layers.h). */
#include "nn/net.h"
#include "nn/layers.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

void net_init(Net *n, int input_dim) {
    memset(n, 0, sizeof *n);
    n->n_values = 1;
    n->value_dim[0] = input_dim;
}

long net_param(Net *n, Node *node, const char *suffix, TensorRole role, int ndim, int d0, int d1) {
    NetTensor *t = &n->tensors[n->n_tensors++];
    snprintf(t->name, sizeof t->name, "%d.%s", node->module, suffix);
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->role = role;
    t->size = ndim == 2 ? (long)d0 * d1 : d0;
    t->offset = n->n_params;
    t->node = (int)(node - n->nodes);
    n->n_params += t->size;
    node->nt++;
    return t->offset;
}

long net_buffer(Net *n, Node *node, const char *suffix, int is_counter, int ndim, int d0) {
    NetTensor *t = &n->tensors[n->n_tensors++];
    snprintf(t->name, sizeof t->name, "%d.%s", node->module, suffix);
    t->ndim = ndim;
    t->shape[0] = ndim ? d0 : 1;
    t->role = ROLE_BUFFER;
    t->is_counter = is_counter;
    t->size = ndim ? d0 : 1;
    t->node = (int)(node - n->nodes);
    if (is_counter) { t->offset = n->n_counters; n->n_counters += t->size; }
    else { t->offset = n->n_buffers; n->n_buffers += t->size; }
    node->nt++;
    return t->offset;
}

int net_add(Net *n, LayerKind kind, double arg, char *err) {
    if (n->n_nodes >= NET_MAX_NODES || n->n_tensors + 8 > NET_MAX_TENSORS)
        return errf(err, "more than %d layers", NET_MAX_NODES);
    const LayerDef *def = layer_table[kind];
    Node *node = &n->nodes[n->n_nodes];
    memset(node, 0, sizeof *node);
    node->kind = kind;
    node->arg = arg;
    node->in = n->n_values - 1;
    node->out = n->n_values;
    node->dim_in = n->value_dim[node->in];
    /* every module counts in nn.Sequential's index, activations and dropout too */
    node->module = def->is_module ? (n->n_nodes ? n->nodes[n->n_nodes - 1].module + 1 : 0) : -1;
    node->t0 = n->n_tensors;
    node->dim_out = def->build ? def->build(n, node) : node->dim_in;
    n->value_dim[n->n_values++] = node->dim_out;
    n->n_nodes++;
    return 0;
}

/* Fusion. A ReLU after a producer (Linear) is applied in the producer's GEMM epilogue,
 * and the ReLU's output shares the producer's output buffer: the pre-activation is read by
 * nothing but the ReLU, and max(x, 0) > 0 exactly where x > 0. A ReLU before a producer is
 * applied to the gradient by the producer's input-gradient product (gated by the ReLU's
 * output), and the ReLU's input gradient shares its output gradient's buffer. Each fused
 * pass computes y > 0 ? v : 0 on the same floats as the ReLU's own, so no bit changes;
 * the R-op passes stay unfused (rvalue and rgrad are never shared). */
static int fuses_forward(const Net *n, int i) {   /* node i's product applies i + 1's ReLU */
    return !n->no_fusion && i + 1 < n->n_nodes && layer_table[n->nodes[i].kind]->gemm_producer &&
           layer_table[n->nodes[i + 1].kind]->gemm_relu;
}
static int fuses_backward(const Net *n, int i) {  /* node i + 1's product gates for i's ReLU */
    return !n->no_fusion && i + 1 < n->n_nodes && layer_table[n->nodes[i].kind]->gemm_relu &&
           n->nodes[i].in > 0 && layer_table[n->nodes[i + 1].kind]->gemm_producer;
}

static void plan_fusion(Net *n) {
    for (int v = 0; v < n->n_values; v++) n->value_owner[v] = n->grad_owner[v] = v;
    for (int i = 0; i < n->n_nodes; i++) {
        Node *a = &n->nodes[i], *b = &n->nodes[i + 1];
        if (fuses_forward(n, i)) {
            a->relu_epilogue = 1;
            b->skip_forward = 1;
            n->value_owner[b->out] = n->value_owner[b->in];
        }
        if (fuses_backward(n, i)) {
            b->gate_dx = 1;
            a->skip_backward = 1;
            n->grad_owner[a->in] = n->grad_owner[a->out];
        }
    }
}

/* Rows an evaluation-mode forward pass may take (net.h's eval_capacity). */
static int forward_rows(const Net *n, int capacity) {
    return n->eval_capacity > capacity ? n->eval_capacity : capacity;
}

void net_alloc(Net *n, int capacity) {
    n->capacity = capacity;
    n->eval_capacity = forward_rows(n, capacity);
    plan_fusion(n);
    for (int v = 0; v < n->n_values; v++) {
        size_t values = (size_t)n->eval_capacity * n->value_dim[v];
        size_t grads = (size_t)capacity * n->value_dim[v];
        n->value[v] = n->value_owner[v] < v ? n->value[n->value_owner[v]] : xalloc_floats(values);
        n->grad[v] = v == 0 ? NULL : n->grad_owner[v] != v ? NULL : xalloc_floats(grads);
    }
    /* a gradient shared with a later slot's (the ReLU's input takes its output's) */
    for (int v = 1; v < n->n_values; v++)
        if (n->grad_owner[v] != v) n->grad[v] = n->grad[n->grad_owner[v]];
    for (int i = 0; i < n->n_nodes; i++) {
        const LayerDef *def = layer_table[n->nodes[i].kind];
        long floats = def->scratch ? def->scratch(&n->nodes[i], n->eval_capacity) : 0;
        if (floats > 0) n->nodes[i].scratch = xalloc_floats((size_t)floats);
    }
    n->params = xalloc_floats((size_t)n->n_params);
    n->grads = xalloc_floats((size_t)n->n_params);
    n->buffers = xalloc_floats((size_t)n->n_buffers);
    n->counters = xcalloc((size_t)(n->n_counters ? n->n_counters : 1), sizeof(int64_t));
}

double net_alloc_floats(const Net *n, int capacity) {
    double rows = forward_rows(n, capacity), floats = 0;
    for (int v = 0; v < n->n_values; v++) floats += (rows + (v ? capacity : 0)) * n->value_dim[v];
    for (int i = 0; i < n->n_nodes; i++)   /* slots sharing a buffer (plan_fusion) */
        floats -= (fuses_forward(n, i) * rows + fuses_backward(n, i) * (double)capacity) *
                  n->value_dim[n->nodes[i].out];
    for (int i = 0; i < n->n_nodes; i++) {
        const LayerDef *def = layer_table[n->nodes[i].kind];
        if (def->scratch) floats += (double)def->scratch(&n->nodes[i], (int)rows);
    }
    return floats + 2.0 * n->n_params + n->n_buffers + 2.0 * n->n_counters;
}

void net_alloc_r(Net *n) {
    if (n->rvalue[0]) return;
    for (int v = 0; v < n->n_values; v++) {
        n->rvalue[v] = xalloc_floats((size_t)n->capacity * n->value_dim[v]);
        n->rgrad[v] = v == 0 ? NULL : xalloc_floats((size_t)n->capacity * n->value_dim[v]);
    }
}

void net_free(Net *n) {
    for (int v = 0; v < n->n_values; v++) {
        if (n->value_owner[v] == v) free(n->value[v]);
        if (n->grad_owner[v] == v) free(n->grad[v]);
        free(n->rvalue[v]); free(n->rgrad[v]);
    }
    for (int i = 0; i < n->n_nodes; i++) free(n->nodes[i].scratch);
    free(n->params);
    free(n->grads);
    free(n->buffers);
    free(n->counters);
    memset(n, 0, sizeof *n);
}

void net_init_params(Net *n, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed, STREAM_INIT);
    for (int i = 0; i < n->n_nodes; i++) {
        const LayerDef *def = layer_table[n->nodes[i].kind];
        if (def->init) def->init(n, &n->nodes[i], &rng);
    }
}

float *net_input(Net *n) { return n->value[0]; }
int net_input_dim(const Net *n) { return n->value_dim[0]; }

const Node *net_loss_node(const Net *n) {
    return n->n_nodes && layer_is_loss(n->nodes[n->n_nodes - 1].kind) ? &n->nodes[n->n_nodes - 1] : NULL;
}

/* The logits are the loss's input, or the last value of a network without a loss. */
static int logits_slot(const Net *n) {
    const Node *loss = net_loss_node(n);
    return loss ? loss->in : n->n_values - 1;
}

float *net_logits(Net *n) { return n->value[logits_slot(n)]; }
int net_output_dim(const Net *n) { return n->value_dim[logits_slot(n)]; }

const NetTensor *net_find_tensor(const Net *n, const char *name) {
    for (int i = 0; i < n->n_tensors; i++)
        if (!strcmp(n->tensors[i].name, name)) return &n->tensors[i];
    return NULL;
}

float *net_tensor_data(const Net *n, const NetTensor *t) {
    return t->role == ROLE_BUFFER ? n->buffers + t->offset : n->params + t->offset;
}

void net_forward(Net *n, int rows) {
    n->loss_sum = 0;
    n->correct = 0;
    for (int i = 0; i < n->n_nodes; i++)
        if (!n->nodes[i].skip_forward) layer_table[n->nodes[i].kind]->forward(n, &n->nodes[i], rows);
}

void net_backward(Net *n, int rows) {
    for (int i = n->n_nodes - 1; i >= 0; i--)
        if (!n->nodes[i].skip_backward) layer_table[n->nodes[i].kind]->backward(n, &n->nodes[i], rows);
    n->overwrite_grads = 0;
}

void net_r_forward(Net *n, int rows) {
    for (int i = 0; i < n->n_nodes; i++)
        layer_table[n->nodes[i].kind]->r_forward(n, &n->nodes[i], rows);
}

void net_r_backward(Net *n, int rows) {
    for (int i = n->n_nodes - 1; i >= 0; i--)
        layer_table[n->nodes[i].kind]->r_backward(n, &n->nodes[i], rows);
}

void net_zero_grads(Net *n) {
    memset(n->grads, 0, sizeof(float) * (size_t)n->n_params);
}
