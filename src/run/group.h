/* group.h: passes over the examples of the current step (its group, t->group_idx), in
 * micro-batches of the network's capacity: the step's own loss and gradient, and what the
 * optimizers that call back (optim/closure.h) ask for: L-BFGS's re-evaluations at new
 * weights, Sophia's gradient of labels drawn from the model's softmax. Also the option
 * checks those optimizers need. */
#ifndef RUN_GROUP_H
#define RUN_GROUP_H

#include "run/trainer.h"

typedef struct {
    double loss_sum;   /* over the group's examples (the true labels' loss) */
    long correct;
    int last_rows;     /* rows of the last micro-batch (still in the network) */
} GroupPass;

/* Forward and backward over this rank's t->group_local examples of the group of `count` in
 * t->group_idx (all `count` on one rank), in training mode, summed over the ranks:
 * the gradient of the mean loss is written (not added) into the network's gradient, and the
 * mean loss becomes t->closure.loss. With sample_rng, the labels are drawn from the model's
 * softmax instead (one draw per example, in order), BatchNorm does not move its running
 * statistics and label smoothing is off. step_pass: the step's own pass, which the
 * instruments measure (--log-noise's micro-batch gradients), not a re-evaluation. */
GroupPass group_pass(Trainer *t, int count, Rng *sample_rng, int step_pass);
/* One label per row of z (rows x classes logits) drawn from softmax(z) with rng. */
void group_sample_labels(const float *z, int rows, int classes, Rng *rng, int *labels);
/* Gives the optimizer its closure over the trainer (after set-up of the optimizer). */
void group_setup(Trainer *t);
/* Refuses flags that do not make sense with the optimizers that call back (exit 2). */
void group_check_options(const Config *c);

#endif
