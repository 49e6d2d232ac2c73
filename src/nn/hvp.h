/* hvp.h: exact Hessian-vector products of the loss, H v, by Pearlmutter's R-operator: the
 * forward pass, its forward-mode derivative along v (R{value}), the backward pass, and its
 * forward-mode derivative (R{grad}), whose parameter part is H v. About twice the cost of a
 * gradient; no allocation per product once set up; threaded like the passes themselves.
 *
 * The loss is whatever the network computes for the rows in its input with its labels,
 * scaled by loss_scale (1/N for the mean over N examples), in the network's current mode:
 * `training` (dropout, BatchNorm batch statistics, label smoothing) or evaluation. With
 * dropout in training mode, set reuse_mask so that every pass sees the same mask. ReLU's
 * second derivative is zero almost everywhere, so at a kink H v is that of the linear piece. */
#ifndef NN_HVP_H
#define NN_HVP_H

#include "nn/net.h"

typedef struct {
    Net *net;
    float *grad;       /* the gradient, computed on the way (n_params floats) */
} Hvp;

/* Allocates the network's R-op buffers and the gradient scratch. */
void hvp_init(Hvp *h, Net *n);
/* hv += H v over the rows in the input; h->grad is set to the gradient (the network's own
 * `grads` are not touched). BatchNorm statistics are not updated. */
void hvp_rows(Hvp *h, const float *v, float *hv, int rows);
void hvp_free(Hvp *h);

#endif
