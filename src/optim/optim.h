/* optim.h: the optimizer table, and an optimizer: one row of it run over a model's parameter
 * tensors.
 *
 * An optimizer sees the parameters as a list of tensors, each with its name, shape and role
 * (weight, bias, norm parameter) and its place in the flat parameter and gradient vectors.
 * Rules come in two kinds:
 *   element-wise  one function over n floats (p, g, and the state slots of those elements);
 *                 the optimizer cuts every tensor into slices and updates them in parallel,
 *                 with the same bits for any thread count. Adding one: a function and a row.
 *   per-tensor    one function per whole tensor (norms, factored moments, matrix roots);
 *                 its state is described by the row's state_spec.
 * Its state is a list of named tensors ("exp_avg" of "0.weight", ...), stored by checkpoints
 * as optimizer.<tensor>.<state>.
 *
 * Formulas are PyTorch's (torch.optim), down to where eps sits and how bias correction is
 * arranged; lion follows its paper (Chen et al. 2023). Scalars (bias corrections, step
 * sizes, 1 - beta) are computed in double and rounded to float once, as PyTorch computes
 * them in Python floats before handing them to its float kernels. */
#ifndef OPTIM_OPTIM_H
#define OPTIM_OPTIM_H

#include "nn/net.h"

#include <stdio.h>

#define OPTIM_MAX_STATE 3        /* state slots of an element-wise rule */
#define OPTIM_MAX_SCALARS 8      /* running scalars of a rule (closure.h) */

struct OptimDef;

/* The hyper-parameters, resolved once from the options. */
typedef struct {
    double wd;                   /* weight decay of weights (biases, norms: see wd_bias) */
    int wd_bias;                 /* decay biases and norm parameters too */
    double momentum, dampening, beta1, beta2, eps, alpha, lr_decay, initial_accumulator,
        momentum_decay;
    int nesterov, centered, amsgrad;
    int cycled;                  /* the schedule cycles momentum or beta1 (onecycle) */
    double mu_product;           /* nadam: prod of mu_1..mu_t, filled by its prepare() */
    double rho;                  /* adadelta; sophia */
    double beta2_decay, eps2, clip_threshold;          /* adafactor */
    double trust_coeff;          /* lars */
    int trust_clip;              /* lars (LARC), lamb */
    int ns_steps, muon_adjust;   /* muon: Newton-Schulz iterations, lr scaling (MUON_*) */
    double ns_eps;
    int block, precond_every;    /* shampoo */
    double matrix_eps;
    int lookahead_k;             /* lookahead */
    double lookahead_alpha;
    const struct OptimDef *inner;  /* lookahead: the row it wraps */
    /* lbfgs, sf-adamw/sf-sgd, sophia (optim/closure.h) */
    long max_iter, max_eval, history_size, hess_every;
    double tolerance_grad, tolerance_change, r, weight_lr_power;
    int strong_wolfe;
    uint64_t seed;               /* seeds o->rng (Sophia's label sampling) */
    long examples;               /* examples in a full step, set by the trainer (Sophia's bs) */
    double lr;                   /* this step's learning rate, set by optim_step for prepare() */
    double ckp1;                 /* schedule-free: this step's averaging weight, from prepare() */
} OptimHyper;

enum { MUON_ADJUST_ORIGINAL, MUON_ADJUST_MATCH_RMS_ADAMW };

/* One parameter tensor as the optimizer sees it. */
typedef struct {
    char name[32];
    int ndim, shape[2];
    TensorRole role;
    long offset, size;           /* in the flat parameter and gradient vectors */
} OptTensor;

/* One state tensor: `name` of tensors[tensor], `size` floats at `offset` of the state;
 * for element-wise rows also the rule's slot it fills. A per-tensor row's state_spec may add
 * one entry with `workspace` set: not state but the scratch floats its step needs for that
 * tensor (o->scratch holds the largest such size, allocated before the first step; never
 * saved). */
typedef struct {
    int tensor, slot;
    char name[24];
    int ndim, shape[2];
    long offset, size;
    int workspace;
} OptState;

/* p, g, state[k]: n floats each (state[k] NULL for a slot the hyper-parameters leave unused;
 * state starts zeroed). t: 1-based count of updates applied, this one included. wd: this
 * tensor's weight decay. */
typedef void (*OptimElemFn)(const OptimHyper *h, long n, float *p, const float *g,
                            float *const *state, long t, float lr, float wd);

struct Optim;
/* A whole tensor: p and g its elements, state its state tensors in state_spec order. */
typedef void (*OptimTensorFn)(struct Optim *o, const OptimHyper *h, const OptTensor *tensor,
                              float *p, const float *g, float *const *state, long t, float lr,
                              float wd);

/* CYCLES_INNER: whatever the wrapped row (h->inner) cycles */
typedef enum { CYCLES_NOTHING, CYCLES_MOMENTUM, CYCLES_BETA1, CYCLES_INNER } OptimCycles;

typedef struct OptimDef {
    const char *name;
    /* element-wise rows: the state slots (PyTorch's state names), each shaped as the
     * parameter; active() says which ones the hyper-parameters use (NULL: all) */
    const char *slots;
    unsigned (*active)(const OptimHyper *h);
    OptimElemFn step;
    /* per-tensor rows: tensor_step, and the state tensors of one parameter tensor (writes at
     * most OPTIM_MAX_TENSOR_STATE entries, returns their number) */
    OptimTensorFn tensor_step;
    int (*state_spec)(const OptimHyper *h, const OptTensor *t, OptState *out);
    /* "flag=value ..." the options layer applies to options the command line did not give;
     * every row sets lr, wd and eps */
    const char *defaults;
    const char *flags;           /* the hyper-parameter flags it reads (others are refused) */
    OptimCycles cycles;          /* what onecycle cycles */
    const char *formula;         /* one line, for --opt help */
    /* Optional: per-step scalars shared by all tensors (called once per step, before them). */
    void (*prepare)(struct Optim *o, OptimHyper *h, long t);
} OptimDef;

#define OPTIM_MAX_TENSOR_STATE 8

/* A slice of one tensor: the unit of the parallel element-wise update. */
typedef struct {
    long offset, size;
    float wd;
    float *state[OPTIM_MAX_STATE];
} OptSlice;

typedef struct Optim {
    const OptimDef *def;
    OptimHyper h;
    OptTensor *tensors;
    int n_tensors;
    long n_params;
    float *wd;                   /* per tensor */
    float *state;                /* every state tensor, one after another */
    long n_state;
    OptState *states;
    int n_states;
    int *state_first;            /* per tensor: its first entry in states */
    OptSlice *slices;
    int n_slices;
    /* running scalars a rule keeps between steps (nadam's product of mu): derived state,
     * recomputed from t when a run resumes, never saved */
    long cache_t;
    double cache[2];
    float *scratch;              /* workspace of per-tensor rules (see OptState.workspace)
                                    and of rows with a closure rule */
    /* rows that call back into the trainer or keep running scalars (optim/closure.h): what
     * they add to the row, the trainer's callbacks, the scalars and a random stream (both
     * checkpointed) */
    const struct OptimClosureRule *rule;
    struct OptimClosure *closure;
    double scalars[OPTIM_MAX_SCALARS];
    Rng rng;
} Optim;

extern const OptimDef optim_table[];
extern const int optim_count;
const OptimDef *optim_find(const char *name);
const char *optim_names(void);          /* "sgd|momentum|..." */
/* Lists every row: defaults, flags, rule and, when memory is given, the size of its state:
 * memory(row, &bytes, &params) gives the bytes of state a model of params parameters
 * (named by model) keeps with the row's default hyper-parameters. */
typedef void (*OptimMemoryFn)(const OptimDef *def, long *bytes, long *params);
void optim_print_help(FILE *out, OptimMemoryFn memory, const char *model);

/* The trainable tensors of a network, as the optimizer sees them (out: n->n_tensors entries at
 * most); returns their number. */
int optim_net_tensors(const Net *n, OptTensor *out);
/* Sets up the optimizer of row def over the tensors (copied) of n_params parameters. */
void optim_init(Optim *o, const OptimDef *def, const OptimHyper *h, const OptTensor *tensors,
                int n_tensors, long n_params);
/* One update of params from grads: t = 1-based count of updates applied including this
 * one; momentum, when not NAN, replaces the momentum or beta1 for this step (onecycle).
 * A rule with a closure may evaluate the loss again (o->closure), which rewrites grads. */
void optim_step(Optim *o, float *params, const float *grads, long t, float lr, double momentum);
/* The state tensors row def keeps for tensor t (at most OPTIM_MAX_TENSOR_STATE, a workspace
 * entry included): its slots for element-wise rows, its state_spec for per-tensor ones.
 * Returns their number. */
int optim_tensor_states(const OptimDef *def, const OptimHyper *h, const OptTensor *t, OptState *out);
/* Floats of state optim_init would allocate (counted before allocating it). */
long optim_state_floats(const OptimDef *def, const OptimHyper *h, const OptTensor *tensors,
                        int n_tensors);
/* Bytes of optimizer state. */
long optim_state_bytes(const Optim *o);
void optim_free(Optim *o);

#endif
