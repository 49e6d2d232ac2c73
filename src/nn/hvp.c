/* hvp.c: one Hessian-vector product over a batch, see hvp.h. */
#include "nn/hvp.h"
#include "util/util.h"

#include <stdlib.h>

void hvp_init(Hvp *h, Net *n) {
    h->net = n;
    net_alloc_r(n);
    h->grad = xalloc_floats((size_t)n->n_params);
}

/* The float network's product, whatever the run's precision: the R-operator is float, so the
 * passes it extends are made float too (bf16 rounds only the training step's products). */
void hvp_rows(Hvp *h, const float *v, float *hv, int rows) {
    Net *n = h->net;
    float *grads = n->grads;
    int update = n->update_stats, overwrite = n->overwrite_grads, bf16 = n->bf16;
    n->bf16 = 0;
    n->grads = h->grad;
    n->overwrite_grads = 1;
    n->update_stats = 0;
    n->rparams = v;
    n->rgrads = hv;
    net_forward(n, rows);
    net_r_forward(n, rows);
    net_backward(n, rows);
    net_r_backward(n, rows);
    n->grads = grads;
    n->update_stats = update;
    n->overwrite_grads = overwrite;
    n->bf16 = bf16;
}

void hvp_free(Hvp *h) {
    free(h->grad);
    h->grad = NULL;
}
