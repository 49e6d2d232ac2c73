/* instruments_hook.h: the instruments a training run can carry (instruments/):
 *   --log-curvature N  every N steps, lambda_max of the training loss over the first
 *                      --examples training examples (Lanczos on exact Hessian-vector
 *                      products, evaluation mode), in log.csv's `sharpness` column; at the
 *                      end curvature.svg, lambda_max against the step with the line 2/lr
 *   --log-noise        every step, the gradient noise scale B_simple = tr(Sigma) / |G|^2
 *                      (instruments/noise.h) from per-example gradient norms (models whose
 *                      parameters are all in Linear layers) or from the step's micro-batches
 *                      (any model, two or more per step), each estimate smoothed by an EMA
 *                      kept in the checkpoint; log.csv's `noise_scale` column, noise.svg.
 * The loop and the step call these; with neither flag they do nothing. */
#ifndef RUN_INSTRUMENTS_HOOK_H
#define RUN_INSTRUMENTS_HOOK_H

#include "formats/json.h"
#include "run/loop.h"

typedef struct InstrumentsHook InstrumentsHook;

/* Before the log is opened: sets up what the run's flags ask for (all allocation happens
 * here) and appends the columns to `columns`. Exits with a usage error when --log-noise
 * cannot measure this model. */
void instruments_open(Run *run, StrBuf *columns);
/* In the step, after each micro-batch's backward pass of `rows` rows. */
void instruments_after_backward(Trainer *t, int rows);
/* After each step (r: its result): updates the noise averages and, on the cadence, measures
 * the sharpness. Returns 1 when it measured (the step then gets a log row). */
int instruments_step(Run *run, const StepResult *r);
/* Appends the instruments' columns of the row to values[n..]; returns the new count. */
int instruments_values(Run *run, double *values, int n);
/* At the end of the run: curvature.svg and noise.svg from log.csv; frees everything. */
void instruments_finish(Run *run);

#endif
