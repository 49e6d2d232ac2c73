/* diagnose.h: per-layer health figures of a network, for --log-layers and the --overfit
 * verdict: each Linear layer's gradient norm, weight norm, relative update size, and the
 * fraction of dead units of the ReLU that follows it (after a norm layer, if any). */
#ifndef INSTRUMENTS_DIAGNOSE_H
#define INSTRUMENTS_DIAGNOSE_H

#include "nn/net.h"

typedef struct {
    int module;              /* nn.Sequential index of the Linear layer */
    double grad_norm;        /* ||dW||_2 of the step (before clipping) */
    double weight_norm;      /* ||W||_2 after the update */
    double update_ratio;     /* ||W_after - W_before|| / ||W_before|| */
    double dead_frac;        /* units of the following ReLU that were <= 0 for every row of the
                                step's last micro-batch; NAN when no ReLU follows */
} LayerStats;

/* The nn.Sequential indices of the Linear layers (at most NET_MAX_NODES); returns their number. */
int diagnose_linear_modules(const Net *n, int *modules);
/* Fills out[] (one entry per Linear layer) from the network after a step: grads must still
 * hold the step's gradient, prev the parameters before the update, rows the size of the last
 * micro-batch. Returns the number of layers. */
int diagnose_layers(const Net *n, const float *prev, int rows, LayerStats *out);

#endif
