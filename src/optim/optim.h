/* optim.h: the optimizer table. An optimizer is a row: its name, how many floats of state it
 * keeps per parameter, its defaults, the flags it reads and its update rule. The update is
 * applied to one parameter tensor at a time (a slice of the flat buffers), so per-tensor
 * choices such as "no weight decay on biases" stay outside the rules. Formulas are PyTorch's
 * (torch.optim), down to where eps sits and how bias correction is arranged; lion follows its
 * paper (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"). */
#ifndef OPTIM_H
#define OPTIM_H

#include "run/config.h"

#define OPTIM_MAX_STATE 3

typedef struct {
    double momentum, dampening, beta1, beta2, eps, alpha, lr_decay, initial_accumulator,
        momentum_decay;
    int nesterov, centered, amsgrad;
    double mu_product;      /* nadam: prod of mu_1..mu_t, filled by its prepare() */
} OptimHyper;

/* p, g, state[k]: n floats each; state starts zeroed. t = 1-based count of optimizer steps
 * taken including this one. wd is this tensor's weight decay (0 for biases by default).
 * Every rule is element-wise, so the trainer may apply it to any slices of a tensor, in
 * parallel, with the same result. */
typedef void (*OptimStepFn)(const OptimHyper *h, long n, float *p, const float *g,
                            float *const *state, long t, float lr, float wd);

typedef struct {
    const char *name;
    int n_state;
    OptimStepFn step;
    /* "flag=value ..." applied in config_finalize to options the command line did not give;
     * every row sets lr, wd and eps (whose table defaults are "optimizer's") */
    const char *defaults;
    const char *flags;      /* the hyper-parameter flags it reads (others are refused) */
    const char *cycles;     /* "momentum" or "beta1": what onecycle cycles; NULL: nothing */
    const char *formula;    /* one line, for --opt help */
    /* Optional: per-step scalars shared by all slices (called once per step, before them). */
    void (*prepare)(OptimHyper *h, long t);
} Optimizer;

extern const Optimizer optim_table[];
extern const int optim_count;
const Optimizer *optim_find(const char *name);
/* "sgd|momentum|..." */
const char *optim_names(void);
void optim_print_help(FILE *out);

OptimHyper optim_hyper(const Config *c);

#endif
