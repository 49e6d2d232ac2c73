/* evaluate.c: evaluation over a dataset, see evaluate.h. */
#include "run/evaluate.h"

EvalResult evaluate(Net *n, const Dataset *ds, int *idx, int *labels) {
    EvalResult r = {0, 0, ds->n};
    int saved = n->training;
    n->training = 0;
    n->labels = labels;
    double loss_sum = 0;
    long correct = 0;
    for (int start = 0; start < ds->n; start += n->capacity) {
        int rows = ds->n - start < n->capacity ? ds->n - start : n->capacity;
        for (int i = 0; i < rows; i++) idx[i] = start + i;
        dataset_gather(ds, idx, rows, net_input(n), labels);
        net_forward(n, rows);
        loss_sum += n->loss_sum;
        correct += n->correct;
    }
    n->training = saved;
    if (ds->n > 0) {
        r.loss = loss_sum / ds->n;
        r.acc = (double)correct / ds->n;
    }
    return r;
}
