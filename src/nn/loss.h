/* loss.h: losses on the logits of a batch, each fused with its gradient.
 *
 * LOSS_CE  softmax cross-entropy as torch.nn.CrossEntropyLoss (mean over the batch) with
 *          label smoothing s: target q_c = (1 - s) [c = y] + s / C,
 *          loss_i = logsumexp(z_i) - sum_c q_c z_ic,  d loss_i / d z_ic = softmax(z_i)_c - q_c.
 * LOSS_MSE torch.nn.MSELoss (mean over all B*C elements) between logits and one-hot targets:
 *          loss_i = sum_c (z_ic - t_ic)^2 / C,  d loss_i / d z_ic = 2 (z_ic - t_ic) / C.
 * A group of micro-batches is averaged over its true total size G: the gradient written is
 * scale * d loss_i / d z with scale = 1/G, and the function returns the SUM of loss_i, so the
 * caller divides by G once. */
#ifndef LOSS_H
#define LOSS_H

enum { LOSS_CE, LOSS_MSE };

typedef struct {
    double loss_sum;   /* sum over rows of loss_i */
    int correct;       /* rows whose argmax logit equals the label */
} LossResult;

/* dlogits may be NULL (evaluation: no gradient). */
LossResult loss_compute(int kind, const float *logits, const int *labels, int rows, int classes,
                        float smoothing, float scale, float *dlogits);

#endif
