/* closure.h: rules that call back into the trainer, see the whole flat parameter vector, or
 * evaluate at a point of their own:
 *   lbfgs      re-evaluates the step's batch at new parameters, up to max-eval times a step,
 *              as torch.optim.LBFGS calls its closure (lbfgs.c)
 *   sophia     every k steps, the gradient of the loss of labels drawn from the model's own
 *              softmax: the Gauss-Newton-Bartlett curvature estimate (sophia.c)
 *   sf-adamw,  schedule-free: the weights trained (y) are not the weights evaluated (x),
 *   sf-sgd     which the rule computes from y and its state z (schedule_free.c)
 * The optimizer layer does not know the network: the trainer hands it an OptimClosure (a
 * pair of callbacks and their context) once, at set-up. What such a rule keeps besides its
 * state tensors (L-BFGS's step length, iteration counts and history position, schedule-free's
 * running weight sum, Sophia's label-sampling stream) is a handful of named scalars and one
 * random stream, which checkpoints store in their metadata (optimizer_scalars,
 * optimizer_rng), so a resumed run continues bit for bit. */
#ifndef OPTIM_CLOSURE_H
#define OPTIM_CLOSURE_H

#include "optim/flat.h"
#include "optim/optim.h"

#include <stddef.h>

/* The trainer's evaluations of the step's batch: the group of examples the step drew, fixed
 * for the whole step, at the network's current parameters (the vector optim_step updates).
 * Both write the gradient into `grads` (the vector optim_step was given). */
typedef struct OptimClosure {
    /* The mean loss over the group and its gradient, in training mode, exactly as the step's
     * own first evaluation (torch.optim.LBFGS's closure). */
    double (*loss_grad)(void *ctx);
    /* The gradient of the mean cross-entropy of labels drawn with rng from the model's
     * softmax on the group (dropout active, BatchNorm on batch statistics without moving its
     * running ones, no label smoothing), clipped as the step's gradient is. */
    void (*sampled_grad)(void *ctx, Rng *rng);
    void *ctx;
    float *grads;          /* where both write (the network's gradient) */
    double loss;           /* the loss of the step's first evaluation, set by the trainer */
} OptimClosure;

/* What a row in optim_closure_rule adds to the element-wise or per-tensor machinery. */
typedef struct OptimClosureRule {
    const char *scalars;   /* names of its running scalars, o->scalars[0..] (checkpointed) */
    int uses_rng;          /* draws from o->rng (checkpointed) */
    /* state over the whole flat vector, stored with the first tensor's state as
     * torch.optim.LBFGS stores its own (optimizer.<first tensor>.<name>); returns the count */
    int (*flat_state)(const OptimHyper *h, long n_params, OptState *out);
    long (*scratch_floats)(const OptimHyper *h, long n_params);
    /* replaces step / tensor_step: one update of the flat vector (params, grads: n_params) */
    void (*flat_step)(struct Optim *o, const OptimHyper *h, float *params, long t, float lr);
    /* element-wise rows: after the update of every tensor (Sophia's curvature estimate) */
    void (*after_step)(struct Optim *o, const OptimHyper *h, float *params, long t, float lr);
    /* the weights evaluation and checkpoints use, when they are not the trained ones
     * (schedule-free's x), into out (n_params floats) */
    void (*eval_point)(const struct Optim *o, const float *params, float *out);
    /* after a checkpoint's scalars are read: 0 when they are a state the rule can continue
     * from (L-BFGS's history position within its history), else -1 with err (or NULL) */
    int (*check_scalars)(const struct Optim *o, char *err);
} OptimClosureRule;

/* The closure part of row `name` (NULL for the plain rows); optim_init keeps it in o->rule. */
const OptimClosureRule *optim_closure_rule(const char *name);
/* The rows' parts, for the tables in rules.c and closure.c (lbfgs.c, schedule_free.c,
 * sophia.c). */
extern const OptimClosureRule lbfgs_rule, sf_adamw_rule, sf_sgd_rule, sophia_rule;
void sf_prepare(Optim *o, OptimHyper *h, long t);
void sf_adamw_step(const OptimHyper *h, long n, float *p, const float *g, float *const *state,
                   long t, float lr, float wd);
void sf_sgd_step(const OptimHyper *h, long n, float *p, const float *g, float *const *state,
                 long t, float lr, float wd);
void sophia_step(const OptimHyper *h, long n, float *p, const float *g, float *const *state,
                 long t, float lr, float wd);

/* The i-th state tensor of flat_state (for rows without per-tensor state). */
float *optim_flat_state(const Optim *o, int i);
/* The scalars and the stream as checkpoint metadata text: "name=value ..." (%.17g, exact)
 * and "<state> <inc>"; empty when the rule keeps none. */
void optim_scalars_text(const Optim *o, char *buf, size_t len);
void optim_rng_text(const Optim *o, char *buf, size_t len);
/* Parses them back (NULL: the file holds none, an error when the rule keeps some). */
int optim_scalars_parse(Optim *o, const char *text, char *err);
int optim_rng_parse(Optim *o, const char *text, char *err);

#endif
