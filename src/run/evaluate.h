/* evaluate.h: loss and accuracy of a network over a whole dataset, in evaluation mode (no
 * dropout, BatchNorm's running statistics), in chunks of the network's eval_capacity. The loss is
 * the plain criterion (cross-entropy without label smoothing, or MSE), averaged over
 * examples. */
#ifndef RUN_EVALUATE_H
#define RUN_EVALUATE_H

#include "data/dataset.h"
#include "nn/net.h"

typedef struct {
    double loss, acc;
    long n;
} EvalResult;

/* idx, labels: scratch space of n->eval_capacity ints each */
EvalResult evaluate(Net *n, const Dataset *ds, int *idx, int *labels);

#endif
