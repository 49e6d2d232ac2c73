/* diagnose.c: per-layer statistics, see diagnose.h. */
#include "instruments/diagnose.h"

#include <math.h>

static double norm2(const float *x, long n) {
    double s = 0;
    for (long i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s);
}

/* A unit is dead for the batch when its ReLU output is 0 on every row. */
static double dead_fraction(const Graph *g, const Node *relu, int rows) {
    const float *y = g->value[relu->out];
    int dead = 0;
    for (int u = 0; u < relu->dim_out; u++) {
        int alive = 0;
        for (int r = 0; r < rows && !alive; r++) alive = y[(long)r * relu->dim_out + u] > 0.0f;
        dead += !alive;
    }
    return relu->dim_out ? (double)dead / relu->dim_out : NAN;
}

int diagnose_layers(const Graph *g, const float *prev, int rows, LayerStats *out) {
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *node = &g->nodes[i];
        if (node->op != OP_LINEAR) continue;
        long size = (long)node->dim_out * node->dim_in;
        const float *w = g->params + node->w, *w0 = prev + node->w;
        double diff = 0;
        for (long k = 0; k < size; k++) diff += ((double)w[k] - w0[k]) * ((double)w[k] - w0[k]);
        double before = norm2(w0, size);
        LayerStats *s = &out[n++];
        s->module = node->module;
        s->grad_norm = norm2(g->grads + node->w, size);
        s->weight_norm = norm2(w, size);
        s->update_ratio = before > 0 ? sqrt(diff) / before : NAN;
        s->dead_frac = i + 1 < g->n_nodes && g->nodes[i + 1].op == OP_RELU
                           ? dead_fraction(g, &g->nodes[i + 1], rows) : NAN;
    }
    return n;
}
