/* diagnose.c: per-layer statistics, see diagnose.h. */
#include "instruments/diagnose.h"

#include <math.h>
#include <stddef.h>

static double norm2(const float *x, long n) {
    double s = 0;
    for (long i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s);
}

/* A unit is dead for the batch when its ReLU output is 0 on every row. */
static double dead_fraction(const Net *n, const Node *relu, int rows) {
    const float *y = n->value[relu->out];
    int dead = 0;
    for (int u = 0; u < relu->dim_out; u++) {
        int alive = 0;
        for (int r = 0; r < rows && !alive; r++) alive = y[(long)r * relu->dim_out + u] > 0.0f;
        dead += !alive;
    }
    return relu->dim_out ? (double)dead / relu->dim_out : NAN;
}

/* The ReLU fed by node i, through a norm layer: NULL if the next activation is another. */
static const Node *next_relu(const Net *n, int i) {
    for (int j = i + 1; j < n->n_nodes; j++) {
        LayerKind k = n->nodes[j].kind;
        if (k == LAYER_RELU) return &n->nodes[j];
        if (k != LAYER_LAYERNORM && k != LAYER_BATCHNORM) return NULL;
    }
    return NULL;
}

int diagnose_linear_modules(const Net *n, int *modules) {
    int count = 0;
    for (int i = 0; i < n->n_nodes; i++)
        if (n->nodes[i].kind == LAYER_LINEAR) modules[count++] = n->nodes[i].module;
    return count;
}

int diagnose_layers(const Net *n, const float *prev, int rows, LayerStats *out) {
    int count = 0;
    for (int i = 0; i < n->n_nodes; i++) {
        const Node *node = &n->nodes[i];
        if (node->kind != LAYER_LINEAR) continue;
        const NetTensor *w_t = &n->tensors[node->t0];   /* the weight, its first tensor */
        long size = w_t->size;
        const float *w = n->params + w_t->offset, *w0 = prev + w_t->offset;
        double diff = 0;
        for (long k = 0; k < size; k++) diff += ((double)w[k] - w0[k]) * ((double)w[k] - w0[k]);
        double before = norm2(w0, size);
        LayerStats *s = &out[count++];
        s->module = node->module;
        s->grad_norm = norm2(n->grads + w_t->offset, size);
        s->weight_norm = norm2(w, size);
        s->update_ratio = before > 0 ? sqrt(diff) / before : NAN;
        const Node *relu = next_relu(n, i);
        s->dead_frac = relu ? dead_fraction(n, relu, rows) : NAN;
    }
    return count;
}
