/* step.c: one optimizer step:
 *   indices of the next group of batch * accum examples (sampler)
 *   for each micro-batch: gather + normalise, forward (loss included), backward
 *     (every gradient accumulates into the flat buffer; the loss gradient is scaled by
 *      1 / group size, so the step sees the mean over all examples of the group): group.h
 *   on several MPI ranks: each takes its piece of every micro-batch, and the gradients and
 *     figures are summed over the ranks before clipping (dist.h)
 *   global gradient norm; clip (value, then norm); optimizer update */
#include "run/trainer.h"
#include "optim/clip.h"
#include "run/dist.h"
#include "run/group.h"

#include <math.h>

/* The step on this rank's examples of the group of `count` (all of them on one rank). */
static StepResult step_group(Trainer *t, int count, double lr, double momentum) {
    StepResult r;
    Net *n = &t->net;
    GroupPass pass = group_pass(t, count, NULL, 1);
    r.last_rows = pass.last_rows;
    r.n = count;
    r.loss = pass.loss_sum / count;
    r.acc = (double)pass.correct / count;
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
    averaging_update(t);
    return r;
}

StepResult trainer_step(Trainer *t, double lr, double momentum) {
    int count = sampler_next(&t->sampler, t->group_idx);
    t->group_local = dist_step_begin(t, count);
    StepResult r = step_group(t, count, lr, momentum);
    dist_step_end(t);
    return r;
}

void trainer_skip_step(Trainer *t, int count) {
    t->st.step++;
    t->st.samples += count;
    t->st.skipped++;
}
