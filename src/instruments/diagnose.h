/* diagnose.h: per-layer health figures of an MLP, for --log-layers and the --overfit
 * verdict: each Linear layer's gradient norm, weight norm, relative update size, and the
 * fraction of dead units of the ReLU that follows it. */
#ifndef DIAGNOSE_H
#define DIAGNOSE_H

#include "nn/graph.h"

typedef struct {
    int module;              /* nn.Sequential index of the Linear layer */
    double grad_norm;        /* ||dW||_2 of the step (before clipping) */
    double weight_norm;      /* ||W||_2 after the update */
    double update_ratio;     /* ||W_after - W_before|| / ||W_before|| */
    double dead_frac;        /* units of the following ReLU that were <= 0 for every row of the
                                step's last micro-batch; NAN when no ReLU follows */
} LayerStats;

/* Fills out[] (one entry per Linear layer, at most GRAPH_MAX_NODES) from the graph after a
 * step: grads must still hold the step's gradient, prev the parameters before the update,
 * rows the size of the last micro-batch. Returns the number of layers. */
int diagnose_layers(const Graph *g, const float *prev, int rows, LayerStats *out);

#endif
