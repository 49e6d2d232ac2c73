/* noise.c: the gradient noise scale, see noise.h. */
#include "instruments/noise.h"
#include "nn/layers.h"

#include <math.h>
#include <stddef.h>

void noise_estimate(double b, double small_sq, double B, double big_sq, double *g2, double *tr) {
    *g2 = (B * big_sq - b * small_sq) / (B - b);
    *tr = (small_sq - big_sq) / (1 / b - 1 / B);
}

void noise_ema_update(NoiseEma *e, double g2, double tr) {
    e->g2 = NOISE_EMA_BETA * e->g2 + (1 - NOISE_EMA_BETA) * g2;
    e->tr = NOISE_EMA_BETA * e->tr + (1 - NOISE_EMA_BETA) * tr;
}

double noise_ema_scale(const NoiseEma *e) {
    return e->g2 > 0 && e->tr > 0 ? e->tr / e->g2 : NAN;
}

int noise_per_example_ok(const Net *n, const char **why) {
    for (int i = 0; i < n->n_tensors; i++) {
        const NetTensor *t = &n->tensors[i];
        if (t->role == ROLE_BUFFER) continue;
        LayerKind kind = n->nodes[t->node].kind;
        if (kind != LAYER_LINEAR) {
            *why = layer_table[kind]->name;
            return 0;
        }
    }
    return 1;
}

double noise_example_sq_sum(const Net *n, int rows) {
    double total = 0, scale = (double)n->loss_scale;
    for (int k = 0; k < n->n_nodes; k++) {
        const Node *node = &n->nodes[k];
        if (node->kind != LAYER_LINEAR) continue;
        const float *x = n->value[node->in], *dy = n->grad[node->out];
        for (int i = 0; i < rows; i++) {
            double xx = 1, dd = 0;   /* the 1 is the bias's "input" */
            const float *xi = x + (size_t)i * node->dim_in, *di = dy + (size_t)i * node->dim_out;
            for (int j = 0; j < node->dim_in; j++) xx += (double)xi[j] * xi[j];
            for (int j = 0; j < node->dim_out; j++) dd += (double)di[j] * di[j];
            total += xx * dd;
        }
    }
    return total / (scale * scale);
}
