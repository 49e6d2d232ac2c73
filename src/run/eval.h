/* eval.h: loss and accuracy of a model over a whole dataset, in evaluation mode (no
 * dropout), in chunks of the graph's capacity. The loss is the plain criterion (cross-entropy
 * without label smoothing, or MSE), averaged over examples. */
#ifndef EVAL_H
#define EVAL_H

#include "data/dataset.h"
#include "nn/graph.h"

typedef struct {
    double loss, acc;
    long n;
} EvalResult;

/* idx, labels: scratch space of g->capacity ints each */
EvalResult evaluate(Graph *g, const Dataset *ds, int loss_kind, int *idx, int *labels);

/* `train eval --ckpt FILE [--data D] [--threads N]`: test-set loss and accuracy. */
int cmd_eval(int argc, char **argv);

#endif
