/* loop.h: a training run: the loop over optimizer steps and its cadences, and its end.
 * Per step: lr = schedule(step), the step itself (trainer.h), then a log row, an evaluation
 * and a checkpoint as their cadences say. The loop stops at the last step, at an early stop,
 * when --overfit has memorised its examples, or after the step during which a SIGINT or
 * SIGTERM arrived (the state is then saved; a second SIGINT exits at once). */
#ifndef RUN_LOOP_H
#define RUN_LOOP_H

#include "instruments/diagnose.h"
#include "run/evaluate.h"
#include "run/runlog.h"
#include "run/trainer.h"

typedef struct {
    Trainer t;
    RunLog log;
    const char *stopped;      /* "completed", "early-stop", "overfit", "interrupted" */
    long kept_step;           /* the step whose weights the final evaluation used */
    float *prev_params;       /* parameters before the step (--log-layers, --overfit) */
    double *row_values;       /* a log row's extra columns (held here, reachable until exit) */
    LayerStats layers[NET_MAX_NODES];
    int n_layers;
    double first_loss;        /* the loss of step 1, at the initial weights */
    double first_weight_norm[NET_MAX_NODES];   /* each Linear layer's ||W|| then (--overfit) */
    int overfit_done;         /* --overfit: the examples are memorised */
    double overfit_loss;
    int signal;               /* the signal that stopped the run, or 0 */
    long saved_step;          /* the step of the latest last.safetensors */
} Run;

/* Opens the run's log (a new run directory, or the resumed one's) and runs the loop. */
void run_loop(Run *run);
/* The end of a run: the final evaluation (of the best weights after an early stop),
 * summary.json, plots and the report on stdout. Returns the exit code. */
int run_finish(Run *run, double wall_start);

/* overfit.c: --overfit N and the initial-loss check */
int overfit_reached(Run *run, const StepResult *r);
void overfit_check_initial_loss(Run *run, double loss);
int overfit_verdict(Run *run, double final_loss);

#endif
