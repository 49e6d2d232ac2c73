/* trainer.h: everything one optimizer step needs, set up once: the data splits, the graph,
 * the optimizer and its state, the sampler and the scratch buffers. `train` drives it with
 * the schedule's learning rate; `lr-find` with its exponential sweep. */
#ifndef TRAINER_H
#define TRAINER_H

#include "run/checkpoint.h"
#include "run/config.h"
#include "data/dataset.h"
#include "nn/graph.h"
#include "optim/optim.h"
#include "data/sampler.h"

/* A slice of one parameter tensor, the unit of the parallel optimizer update. */
typedef struct {
    long offset, size;
    float wd;
} OptSlice;

typedef struct {
    Config c;
    Dataset train_all, test, train, val;
    Graph g;
    int loss_kind;
    const Optimizer *opt;
    OptimHyper hyper;
    float *opt_state;            /* n_state slots of n_params floats, slot-major */
    long n_opt_state;
    OptSlice *slices;            /* the optimizer's work list, planned once */
    int n_slices;
    Sampler sampler;
    int *group_idx, *labels, *scratch_idx;
    long steps_per_epoch, total_steps;
    double load_seconds;         /* reading the dataset */
    TrainState st;               /* step, samples, RNG states, best, timings */
} Trainer;

typedef struct {
    double loss, acc;            /* mean over the step's examples, training mode */
    double grad_norm;            /* before clipping */
    double lr;
    int n;                       /* examples in the step */
    int last_rows;               /* rows of its last micro-batch (still in the graph) */
} StepResult;

/* Examples per optimizer step (batch * accum, or the whole set for --batch full), at most the
 * n_train examples unless sampled with replacement; an epoch is ceil(n_train / group) steps. */
long trainer_group_size(const Config *c, long n_train);
/* Loads the data (exit 1 on a bad file, 2 on flags that do not fit it), builds and
 * initialises the model, allocates every buffer. c must be finalized. */
void trainer_setup(Trainer *t, const Config *c);
/* One optimizer step at learning rate lr; momentum, when not NAN, replaces the optimizer's
 * momentum or beta1 for this step (onecycle). A non-finite loss or gradient norm leaves
 * the parameters and the step count untouched (the caller decides what to do). */
StepResult trainer_step(Trainer *t, double lr, double momentum);
/* Counts a step whose update was skipped (--skip-nonfinite): its n examples were consumed. */
void trainer_skip_step(Trainer *t, int n);
/* Copies the sampler's and dropout's RNG states into t->st (before a checkpoint). */
void trainer_capture_rng(Trainer *t);
/* Restores the sampler and dropout streams from t->st (after reading a checkpoint). */
void trainer_restore_rng(Trainer *t);
void trainer_free(Trainer *t);

#endif
