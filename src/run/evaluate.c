/* evaluate.c: evaluation over a dataset, see evaluate.h. */
#include "run/evaluate.h"
#include "run/dist.h"

EvalResult evaluate(Net *n, const Dataset *ds, int *idx, int *labels) {
    EvalResult r = {0, 0, ds->n};
    int saved = n->training;
    n->training = 0;
    n->labels = labels;
    double loss_sum = 0;
    long correct = 0;
    int lo, hi;   /* this rank's slice (the whole set on one), summed over the ranks after */
    dist_slice(ds->n, &lo, &hi);
    dist_sync_buffers(n);
    /* in pieces of eval_capacity rows (no gradients: more than a training pass takes) */
    for (int start = lo; start < hi; start += n->eval_capacity) {
        int rows = hi - start < n->eval_capacity ? hi - start : n->eval_capacity;
        for (int i = 0; i < rows; i++) idx[i] = start + i;
        dataset_gather(ds, idx, rows, net_input(n), labels);
        net_forward(n, rows);
        loss_sum += n->loss_sum;
        correct += n->correct;
    }
    dist_sum_eval(&loss_sum, &correct);
    n->training = saved;
    if (ds->n > 0) {
        r.loss = loss_sum / ds->n;
        r.acc = (double)correct / ds->n;
    }
    return r;
}
