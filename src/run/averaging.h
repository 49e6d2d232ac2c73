/* averaging.h: the weights a run evaluates and reports when they are not the weights it
 * trains: an exponential moving average (--ema DECAY), an equal-weight average from a step
 * on (--swa-start STEP, --swa-every N), or schedule-free's x (sf-adamw, sf-sgd).
 *
 * The averaged model lives beside the network: its parameters (the average, or x computed
 * from the trained y and the optimizer's z when it is needed), and its BatchNorm statistics,
 * which are the trained model's while training and, at the end of a completed run,
 * recomputed for the averaged weights on the training set (torch.optim.swa_utils.update_bn:
 * in training mode, a cumulative average over the batches). Evaluation, best/last
 * checkpoints and summary.json's plain figures use the averaged model (swapped into the
 * network, so the evaluation and the checkpoint code need not know); the trained weights are
 * in checkpoints as raw.<name> and in summary.json as *_raw. The arithmetic is
 * optim/average.h. */
#ifndef RUN_AVERAGING_H
#define RUN_AVERAGING_H

#include "formats/safetensors.h"
#include "run/config.h"
#include "run/runlog.h"

#include <stdint.h>

typedef enum { AVG_NONE, AVG_EMA, AVG_SWA, AVG_SCHEDULE_FREE } AvgKind;

typedef struct {
    AvgKind kind;
    double decay;                 /* --ema */
    long swa_start, swa_every;
    int64_t n_averaged;           /* models in the average so far (ema, swa) */
    float *params;                /* the averaged weights (schedule-free: x) */
    float *buffers;               /* the averaged model's BatchNorm statistics ... */
    int64_t *counters;
    int stats_final;              /* ... recomputed by update_bn (else the trained model's) */
    int frozen;                   /* params read from a checkpoint: not recomputed (x) */
    float *raw_params, *raw_buffers;   /* the network's own arrays while swapped out */
    int64_t *raw_counters;
    int swapped;
    StTensor *extra;              /* raw.<name> (and n_averaged) for checkpoints */
    char (*names)[40];
    int n_extra;
} Averaging;

struct Trainer;

/* Refuses averaging flags that make no sense (exit 2). */
void averaging_check_options(const Config *c);
/* After the optimizer's set-up (training only). */
void averaging_setup(struct Trainer *t);
void averaging_free(Averaging *a);
/* After every applied update, t->st.step counting it. */
void averaging_update(struct Trainer *t);
/* on: puts the averaged model into the network (when there is one yet); off: puts the
 * trained one back. Returns whether the averaged model is in. */
int averaging_use(struct Trainer *t, int on);
/* Around ckpt_save: the averaged model as the model tensors, the trained one as raw.<name>. */
void averaging_checkpoint(struct Trainer *t, int begin);
/* After a checkpoint's model tensors were loaded into the network: they are the averaged
 * model, raw.<name> the trained one (and n_averaged). best: a checkpoint chosen by its
 * evaluation (early stop), whose x is kept as it is. */
void averaging_load(struct Trainer *t, const StFile *f, const char *path, int best);
/* The end of a completed run: BatchNorm statistics of the averaged weights (update_bn). */
void averaging_finish(struct Trainer *t);
/* summary.json's *_raw figures: the trained weights on each split. */
void averaging_summary(struct Trainer *t, Summary *s);
void averaging_print(const Summary *s);

#endif
