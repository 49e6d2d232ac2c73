/* trainer.h: everything one optimizer step needs, set up once by the start-up every command
 * that touches a model shares (train, lr-find, eval): threads and denormal mode, the data
 * splits, the network, and for training the optimizer, the schedule and the sampler.
 * `train` drives it with the schedule's learning rate (loop.h); `lr-find` with its
 * exponential sweep. */
#ifndef RUN_TRAINER_H
#define RUN_TRAINER_H

#include "data/dataset.h"
#include "data/sampler.h"
#include "nn/net.h"
#include "optim/optim.h"
#include "optim/sched.h"
#include "optim/closure.h"
#include "run/averaging.h"
#include "run/checkpoint.h"
#include "run/config.h"

typedef struct Trainer {
    Config c;
    Dataset train_all, test, train, val;
    Net net;
    Optim opt;
    Schedule sched;
    Sampler sampler;
    int *group_idx, *labels, *scratch_idx;
    long steps_per_epoch, total_steps;
    double load_seconds;         /* reading the dataset */
    TrainState st;               /* step, samples, RNG states, best, timings */
    int training;                /* set up for training (optimizer, sampler) */
    int group_n;                 /* examples in the current step's group (group.h) */
    int group_local;             /* how many of them this rank computes (dist.h; all on one) */
    OptimClosure closure;        /* the optimizer's re-evaluations of that group (group.h) */
    Averaging avg;               /* --ema, --swa-start, schedule-free's x (averaging.h) */
    struct InstrumentsHook *instruments;   /* --log-curvature, --log-noise (instruments_hook.h) */
} Trainer;

typedef struct {
    double loss, acc;            /* mean over the step's examples, training mode */
    double grad_norm;            /* before clipping */
    double lr;
    int n;                       /* examples in the step */
    int last_rows;               /* rows of its last micro-batch (still in the network) */
} StepResult;

typedef enum {
    SETUP_TRAIN,                 /* both splits, network initialised from --seed, optimizer */
    SETUP_EVAL,                  /* the test split and the network (weights to be loaded) */
} SetupKind;

/* Examples per optimizer step (batch * accum, or the whole set for --batch full), at most the
 * n_train examples unless sampled with replacement; an epoch is ceil(n_train / group) steps. */
long trainer_group_size(const Config *c, long n_train);
/* The shared start-up. Exits with 1 on a bad file, 2 on options that do not fit the data.
 * c must be finalized and its model resolved; a model without an input width takes the
 * data's, and t->c.model then names it. The weights come from `weights` (a checkpoint read
 * from weights_path: --resume, eval's --ckpt) when given, else from --init, else from the
 * seeded initialisation. */
/* 1 for --precision bf16, once this CPU is known to run it (else exit 2 with the reason),
 * 0 for fp32: the value of the network's `bf16`. */
int trainer_precision_bf16(const Config *c);

void trainer_setup(Trainer *t, const Config *c, SetupKind kind, const StFile *weights,
                   const char *weights_path);
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
