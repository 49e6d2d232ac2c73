/* step.c: one optimizer step:
 *   indices of the next group of batch * accum examples (sampler)
 *   for each micro-batch: gather + normalise, forward (loss included), backward
 *     (every gradient accumulates into the flat buffer; the loss gradient is scaled by
 *      1 / group size, so the step sees the mean over all examples of the group)
 *   global gradient norm; clip (value, then norm); optimizer update */
#include "run/trainer.h"
#include "optim/clip.h"
#include "run/instruments_hook.h"

#include <math.h>

StepResult trainer_step(Trainer *t, double lr, double momentum) {
    StepResult r;
    Net *n = &t->net;
    int count = sampler_next(&t->sampler, t->group_idx);
    n->overwrite_grads = 1;   /* the first backward writes every parameter's gradient */
    n->training = 1;
    n->update_stats = 1;
    n->reuse_mask = 0;
    n->labels = t->labels;
    n->loss_scale = 1.0f / (float)count;
    double loss_sum = 0;
    long correct = 0;
    r.last_rows = 0;
    for (int start = 0; start < count; start += n->capacity) {
        int rows = count - start < n->capacity ? count - start : n->capacity;
        r.last_rows = rows;
        dataset_gather(&t->train, t->group_idx + start, rows, net_input(n), t->labels);
        net_forward(n, rows);
        loss_sum += n->loss_sum;
        correct += n->correct;
        net_backward(n, rows);
        instruments_after_backward(t, rows);
    }
    r.n = count;
    r.loss = loss_sum / count;
    r.acc = (double)correct / count;
    r.lr = lr;
    r.grad_norm = grad_global_norm(n->grads, n->n_params);
    if (!isfinite(r.loss) || !isfinite(r.grad_norm)) return r;
    double norm = r.grad_norm;
    if (t->c.clip_value > 0) {
        clip_grad_value(n->grads, n->n_params, t->c.clip_value);
        norm = grad_global_norm(n->grads, n->n_params);
    }
    if (t->c.clip > 0) clip_grad_norm(n->grads, n->n_params, norm, t->c.clip);
    /* the optimizer's t counts updates actually applied (skipped steps excluded), as its bias
     * corrections expect */
    optim_step(&t->opt, n->params, n->grads, t->st.step + 1 - t->st.skipped, (float)lr, momentum);
    t->st.step++;
    t->st.samples += count;
    return r;
}

void trainer_skip_step(Trainer *t, int count) {
    t->st.step++;
    t->st.samples += count;
    t->st.skipped++;
}
