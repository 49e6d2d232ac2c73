/* config.h: every option of a run, in one struct, described by one table (config.c) from
 * which the command-line parser, --help, validation, config.json and resume checks are all
 * derived. Adding an option is one field here and one row there. */
#ifndef CONFIG_H
#define CONFIG_H

#include "formats/json.h"

#include <stdio.h>

#define PATH_LEN 512
#define BATCH_FULL 0          /* --batch full: the whole training set every step */
#define EVAL_EVERY_EPOCH (-1) /* --eval-every epoch (the default) */

typedef struct {
    /* data */
    char data[PATH_LEN];
    long val, subset;
    /* model */
    char model[PATH_LEN];
    char act[16];
    char norm[8];
    double dropout;
    char loss[8];
    double label_smoothing;
    /* batches */
    long batch, accum;
    char sample[16];
    /* optimizer */
    char opt[16];
    double lr, momentum, dampening, beta1, beta2, eps, wd;
    double alpha, lr_decay, initial_accumulator, momentum_decay;
    int nesterov, wd_bias, centered, amsgrad;
    double rho, beta2_decay, eps2, clip_threshold, trust_coeff, ns_eps, matrix_eps, lookahead_alpha;
    long ns_steps, block, precond_every, lookahead_k;
    int trust_clip;
    char muon_adjust[24], inner[16];
    /* schedule and clipping */
    char schedule[16];
    long warmup;
    double min_lr;
    long step_size;
    double gamma;
    char milestones[256];
    double power;
    long cycle, cycle_mult;
    char cyclic_mode[16];
    double pct_start, div_factor, final_div_factor, base_momentum, max_momentum;
    int three_phase, cycle_momentum;
    double clip, clip_value;
    long max_iter, max_eval, history_size, hess_every, swa_start, swa_every;   /* lbfgs, sophia, averaging */
    double tolerance_grad, tolerance_change, weight_step_power, weight_lr_power, ema;   /* (sophia's rho: above) */
    char line_search[16];
    /* length and cadence */
    long epochs, steps, eval_every, log_every, ckpt_every, keep, early_stop, overfit;
    double min_delta;
    int skip_nonfinite, log_layers;
    long log_curvature, examples, probes, lanczos_iter, grid; int log_noise, trace; double tol, span, condition, within; char from[PATH_LEN], to[PATH_LEN], dirs[8], fn[16], start[64];
    char plot_scale[8];
    char denormals[8];
    char precision[8];
    long threads, seed;
    double mpi_timeout;
    /* run directory */
    char run[256], runs_dir[PATH_LEN], resume[PATH_LEN], init[PATH_LEN];
    int force, quiet;
    /* eval, lr-find, schedule */
    char ckpt[PATH_LEN], out[PATH_LEN];
    double start_lr, end_lr;
    long num_it;
    /* predict, export-images, export */
    long top, count;
    int invert;
    char split[8], onnx[PATH_LEN];
    /* what the training data says (not flags): recorded in config.json and checkpoints so
     * that predict and export need no dataset */
    char classes[4096];       /* class names, comma-separated ('\' escapes ',' and '\') */
    char image_size[24];      /* "WxH" of the training images */
    char background[8];       /* "dark" or "light": the training images' border, when clear */

    unsigned char given[256]; /* given[i]: option i was set on the command line */
    unsigned char set[256];   /* set[i]: option i was set explicitly (command line or a stored
                                 config), so optimizer defaults must not replace it */
} Config;

/* Option flags */
#define OPT_KEEP    1u   /* must equal the checkpoint's value on --resume */
#define OPT_NOSAVE  2u   /* not part of a run's identity (not written to config.json) */
#define OPT_OPTIM   4u   /* an optimizer hyper-parameter: refused unless the optimizer reads it */
#define OPT_SCHED   8u   /* a schedule parameter: refused unless the schedule reads it */
#define OPT_DATA    16u  /* derived from the training data and recorded; not a flag */
#define OPT_LIST    32u  /* a list: given more than once, the values are joined with ',' */

void config_defaults(Config *c);
/* Parses argv (from optind-style index `first`) into c. Errors: "train: --flag: why", exit 2.
 * Positional arguments are returned through pos/n_pos (may be NULL when none are allowed). */
void config_parse_args(Config *c, int argc, char **argv, int first, char ***pos, int *n_pos);
/* Cross-option checks after parsing; fills derived defaults (the optimizer's lr, wd, ...)
 * and refuses flags that the chosen optimizer or schedule does not read. */
void config_finalize(Config *c);
int config_given(const Config *c, const char *name);
/* 1 if option `name` was set explicitly: on the command line, by a model file or a stored
 * config (not a built-in default). */
int config_is_set(const Config *c, const char *name);
/* Sets option `name` (flag spelling) from text, validated as on the command line, unless the
 * command line gave it already. Returns 0, or -1 with err = "why". */
int config_set_default(Config *c, const char *name, const char *text, char *err);

/* Refuses (exit 2) every flag given that `command` ("train eval") does not read, saying why
 * (`why`, or else the flags it reads). `reads` is a space-separated list of flags ("--ckpt")
 * and option groups ("@optimizer": every flag of the group). */
void config_check_reads(const Config *c, const char *command, const char *reads, const char *why);
/* The checks that need the run's length and the resolved validation split (known once the
 * data is loaded): a warmup longer than the run, milestones past its end, validation flags
 * with no validation set. Exit 2 with the reason. */
void config_check_run_length(const Config *c, long total_steps);

/* Writes every saved option as one JSON object. */
void config_to_json(const Config *c, StrBuf *b);
/* Sets the options named in a JSON object; unknown keys are an error. Returns 0 or -1. */
int config_from_json(Config *c, const Json *j, char *err);
/* Lists (into b, one "--flag: a -> b" per line) options flagged OPT_KEEP that differ. */
int config_diff_kept(const Config *old, const Config *now, StrBuf *b);

/* Prints the options section of --help, grouped, with defaults. */
void config_print_help(FILE *out);

#endif
