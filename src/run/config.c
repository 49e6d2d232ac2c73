/* config.c: the option table and everything derived from it: defaults, command-line parsing,
 * validation, --help, JSON out and in, and the resume comparison. */
#include "run/config.h"
#include "optim/optim.h"
#include "optim/sched.h"
#include "util/util.h"

#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_INT, T_FLOAT, T_STR, T_BOOL } OptType;

typedef struct {
    const char *name;      /* --name; JSON key with '-' as '_' */
    OptType type;
    size_t offset, size;   /* field in Config; size for strings */
    const char *def;       /* default, as it would be typed */
    const char *choices;   /* "a|b|c", "@optim" / "@sched" for the tables, or NULL */
    const char *keyword;   /* T_INT: a word accepted instead of a number ... */
    long keyword_value;    /* ... and the value it stands for */
    double lo, hi;         /* accepted range (numbers) */
    int open;              /* OPEN_LO / OPEN_HI: that end of the range is excluded */
    unsigned flags;
    const char *group, *help;
} OptDef;

#define OPEN_LO 1
#define OPEN_HI 2
#define F(field) offsetof(Config, field), sizeof(((Config *)0)->field)
#define INF HUGE_VAL

static const OptDef opts[] = {
    {"data", T_STR, F(data), "mnist", NULL, NULL, 0, 0, 0, 0, OPT_KEEP, "data",
     "mnist | fashion | a directory holding the four IDX files (raw or .gz) or train/ and test/ image folders"},
    {"val", T_INT, F(val), "5000", NULL, NULL, 0, 0, 1e9, 0, OPT_KEEP, "data",
     "hold out the last N training images for validation (0 = none)"},
    {"subset", T_INT, F(subset), "0", NULL, NULL, 0, 0, 1e9, 0, OPT_KEEP, "data",
     "train on the first N images left after --val (0 = all)"},

    {"model", T_STR, F(model), "784-256-256-10", NULL, NULL, 0, 0, 0, 0, OPT_KEEP, "model",
     "layer sizes IN-H1-...-OUT, or a model file (models/NAME.model)"},
    {"act", T_STR, F(act), "relu", "relu|tanh|sigmoid|gelu", NULL, 0, 0, 0, 0, OPT_KEEP, "model",
     "hidden activation"},
    {"dropout", T_FLOAT, F(dropout), "0", NULL, NULL, 0, 0, 1, OPEN_HI, OPT_KEEP, "model",
     "dropout probability after each hidden activation (inverted, training only)"},
    {"loss", T_STR, F(loss), "ce", "ce|mse", NULL, 0, 0, 0, 0, OPT_KEEP, "model",
     "softmax cross-entropy | mean squared error on one-hot targets"},
    {"label-smoothing", T_FLOAT, F(label_smoothing), "0", NULL, NULL, 0, 0, 1, OPEN_HI, OPT_KEEP,
     "model",
     "cross-entropy label smoothing in [0, 1)"},

    {"batch", T_INT, F(batch), "64", NULL, "full", BATCH_FULL, 1, 1e9, 0, OPT_KEEP, "batches",
     "examples per micro-batch; 'full' = the whole training set (full-batch GD)"},
    {"accum", T_INT, F(accum), "1", NULL, NULL, 0, 1, 1e6, 0, OPT_KEEP, "batches",
     "micro-batches per optimizer step (gradient = mean over all of them)"},
    {"sample", T_STR, F(sample), "shuffle", "shuffle|replace|sequential", NULL, 0, 0, 0, 0,
     OPT_KEEP, "batches", "new permutation each epoch | with replacement | in order"},

    {"opt", T_STR, F(opt), "adamw", "@optim", NULL, 0, 0, 0, 0, OPT_KEEP, "optimizer",
     "optimizer (--opt help lists formulas)"},
    {"lr", T_FLOAT, F(lr), "optimizer's", NULL, NULL, 0, 0, INF, OPEN_LO, 0, "optimizer",
     "peak learning rate (see --opt help for each optimizer's)"},
    {"momentum", T_FLOAT, F(momentum), "0", NULL, NULL, 0, 0, 1, 0, OPT_KEEP | OPT_OPTIM,
     "optimizer", "momentum (sgd, rmsprop; 0.9 for momentum, nesterov)"},
    {"dampening", T_FLOAT, F(dampening), "0", NULL, NULL, 0, 0, 1, 0, OPT_KEEP | OPT_OPTIM,
     "optimizer", "sgd momentum dampening"},
    {"nesterov", T_BOOL, F(nesterov), "off", NULL, NULL, 0, 0, 0, 0, OPT_KEEP | OPT_OPTIM,
     "optimizer", "sgd Nesterov momentum (on for nesterov)"},
    {"beta1", T_FLOAT, F(beta1), "0.9", NULL, NULL, 0, 0, 1, OPEN_HI, OPT_KEEP | OPT_OPTIM,
     "optimizer", "first-moment decay in [0, 1) (Adam family, lion)"},
    {"beta2", T_FLOAT, F(beta2), "0.999", NULL, NULL, 0, 0, 1, OPEN_HI, OPT_KEEP | OPT_OPTIM,
     "optimizer", "second-moment decay in [0, 1) (lion: 0.99)"},
    {"eps", T_FLOAT, F(eps), "optimizer's", NULL, NULL, 0, 0, 1, OPEN_LO, OPT_KEEP | OPT_OPTIM,
     "optimizer", "denominator epsilon (1e-8; adagrad 1e-10)"},
    {"wd", T_FLOAT, F(wd), "optimizer's", NULL, NULL, 0, 0, INF, 0, OPT_KEEP, "optimizer",
     "weight decay (adamw 0.01, others 0); decoupled for adamw and lion, L2 otherwise"},
    {"wd-bias", T_BOOL, F(wd_bias), "off", NULL, NULL, 0, 0, 0, 0, OPT_KEEP, "optimizer",
     "also decay biases (PyTorch's default when all parameters share one group)"},
    {"amsgrad", T_BOOL, F(amsgrad), "off", NULL, NULL, 0, 0, 0, 0, OPT_KEEP | OPT_OPTIM,
     "optimizer", "adam/adamw: use the running maximum of v (on for amsgrad)"},
    {"alpha", T_FLOAT, F(alpha), "0.99", NULL, NULL, 0, 0, 1, OPEN_HI, OPT_KEEP | OPT_OPTIM,
     "optimizer", "rmsprop smoothing constant in [0, 1)"},
    {"centered", T_BOOL, F(centered), "off", NULL, NULL, 0, 0, 0, 0, OPT_KEEP | OPT_OPTIM,
     "optimizer", "rmsprop: normalise by the centred second moment"},
    {"lr-decay", T_FLOAT, F(lr_decay), "0", NULL, NULL, 0, 0, INF, 0, OPT_KEEP | OPT_OPTIM,
     "optimizer", "adagrad: lr / (1 + (t-1) lr_decay)"},
    {"initial-accumulator", T_FLOAT, F(initial_accumulator), "0", NULL, NULL, 0, 0, INF, 0,
     OPT_KEEP | OPT_OPTIM, "optimizer", "adagrad: starting value of the sum of squares"},
    {"momentum-decay", T_FLOAT, F(momentum_decay), "4e-3", NULL, NULL, 0, 0, INF, 0,
     OPT_KEEP | OPT_OPTIM, "optimizer", "nadam: psi in mu_t = beta1 (1 - 0.96^(t psi)/2)"},

    {"schedule", T_STR, F(schedule), "cosine", "@sched", NULL, 0, 0, 0, 0, OPT_KEEP, "schedule",
     "learning-rate schedule after warmup"},
    {"warmup", T_INT, F(warmup), "0", NULL, NULL, 0, 0, 1e12, 0, OPT_KEEP, "schedule",
     "linear warmup steps: lr (t+1)/N; composes with every schedule"},
    {"min-lr", T_FLOAT, F(min_lr), "0", NULL, NULL, 0, 0, INF, 0, OPT_KEEP | OPT_SCHED, "schedule",
     "where poly, linear, cosine, restarts end; cyclic's lower bound"},
    {"step-size", T_INT, F(step_size), "0", NULL, NULL, 0, 0, 1e12, 0, OPT_KEEP | OPT_SCHED,
     "schedule", "step: decay every N steps (required by step)"},
    {"gamma", T_FLOAT, F(gamma), "schedule's", NULL, NULL, 0, 0, INF, OPEN_LO, OPT_KEEP | OPT_SCHED,
     "schedule", "decay factor (step, multistep 0.1; exp 0.999; cyclic exp_range 0.9999)"},
    {"milestones", T_STR, F(milestones), "", NULL, NULL, 0, 0, 0, 0, OPT_KEEP | OPT_SCHED,
     "schedule", "multistep: steps a,b,c (after warmup) where lr is multiplied by gamma"},
    {"power", T_FLOAT, F(power), "1", NULL, NULL, 0, 0, INF, OPEN_LO, OPT_KEEP | OPT_SCHED,
     "schedule", "poly: exponent"},
    {"cycle", T_INT, F(cycle), "2000", NULL, NULL, 0, 1, 1e12, 0, OPT_KEEP | OPT_SCHED,
     "schedule", "restarts: first cycle's length; cyclic: steps from min-lr up to lr"},
    {"cycle-mult", T_INT, F(cycle_mult), "1", NULL, NULL, 0, 1, 1000, 0, OPT_KEEP | OPT_SCHED,
     "schedule", "restarts: each cycle this many times longer than the last"},
    {"cyclic-mode", T_STR, F(cyclic_mode), "triangular", "triangular|triangular2|exp_range", NULL,
     0, 0, 0, 0, OPT_KEEP | OPT_SCHED, "schedule", "cyclic: amplitude constant, halved per cycle, or gamma^s"},
    {"pct-start", T_FLOAT, F(pct_start), "0.3", NULL, NULL, 0, 0, 1, OPEN_LO | OPEN_HI,
     OPT_KEEP | OPT_SCHED, "schedule", "onecycle: fraction of steps spent increasing lr"},
    {"div-factor", T_FLOAT, F(div_factor), "25", NULL, NULL, 0, 0, INF, OPEN_LO,
     OPT_KEEP | OPT_SCHED, "schedule", "onecycle: starting lr = lr / div-factor"},
    {"final-div-factor", T_FLOAT, F(final_div_factor), "1e4", NULL, NULL, 0, 0, INF, OPEN_LO,
     OPT_KEEP | OPT_SCHED, "schedule", "onecycle: final lr = starting lr / final-div-factor"},
    {"three-phase", T_BOOL, F(three_phase), "off", NULL, NULL, 0, 0, 0, 0, OPT_KEEP | OPT_SCHED,
     "schedule", "onecycle: up, back down to the start, then the final annealing"},
    {"cycle-momentum", T_BOOL, F(cycle_momentum), "on", NULL, NULL, 0, 0, 0, 0,
     OPT_KEEP | OPT_SCHED, "schedule", "onecycle: cycle momentum (or beta1) inversely to lr"},
    {"base-momentum", T_FLOAT, F(base_momentum), "0.85", NULL, NULL, 0, 0, 1, OPEN_HI,
     OPT_KEEP | OPT_SCHED, "schedule", "onecycle: momentum at the peak lr"},
    {"max-momentum", T_FLOAT, F(max_momentum), "0.95", NULL, NULL, 0, 0, 1, OPEN_HI,
     OPT_KEEP | OPT_SCHED, "schedule", "onecycle: momentum at the lowest lr"},
    {"clip", T_FLOAT, F(clip), "0", NULL, NULL, 0, 0, INF, 0, OPT_KEEP, "schedule",
     "clip the global gradient L2 norm to this (0 = off)"},
    {"clip-value", T_FLOAT, F(clip_value), "0", NULL, NULL, 0, 0, INF, 0, OPT_KEEP, "schedule",
     "clamp every gradient element to [-X, X] (0 = off)"},

    {"epochs", T_INT, F(epochs), "10", NULL, NULL, 0, 1, 1e9, 0, 0, "length",
     "passes over the training set (ignored when --steps is given)"},
    {"steps", T_INT, F(steps), "0", NULL, NULL, 0, 0, 1e12, 0, 0, "length",
     "optimizer steps (0 = from --epochs)"},
    {"eval-every", T_INT, F(eval_every), "epoch", NULL, "epoch", EVAL_EVERY_EPOCH, 0, 1e12, 0,
     0, "length", "evaluate on the validation set every N steps (0 = only at the end)"},
    {"log-every", T_INT, F(log_every), "10", NULL, NULL, 0, 1, 1e12, 0, 0, "length",
     "write a log.csv row every N steps"},
    {"ckpt-every", T_INT, F(ckpt_every), "500", NULL, NULL, 0, 0, 1e12, 0, 0, "length",
     "save last.safetensors every N steps (0 = only at the end)"},
    {"keep", T_INT, F(keep), "0", NULL, NULL, 0, 0, 1e6, 0, 0, "length",
     "also keep the N newest periodic checkpoints step-NNNNNNNN.safetensors"},
    {"early-stop", T_INT, F(early_stop), "0", NULL, NULL, 0, 0, 1e9, 0, 0, "length",
     "stop after N evaluations without a val-loss improvement, keep the best weights (0 = off)"},
    {"min-delta", T_FLOAT, F(min_delta), "0", NULL, NULL, 0, 0, INF, 0, 0, "length",
     "an improvement must lower the best val loss by more than this"},
    {"skip-nonfinite", T_BOOL, F(skip_nonfinite), "off", NULL, NULL, 0, 0, 0, 0, 0, "length",
     "skip updates whose loss or gradient is not finite (counted) instead of stopping"},
    {"overfit", T_INT, F(overfit), "0", NULL, NULL, 0, 0, 1e9, 0, OPT_KEEP, "length",
     "debug mode: fit the first N training images, report whether it can (0 = off)"},
    {"log-layers", T_BOOL, F(log_layers), "off", NULL, NULL, 0, 0, 0, 0, OPT_KEEP, "length",
     "per-layer columns in log.csv: grad and weight norms, update ratio, dead ReLUs"},
    {"plot-scale", T_STR, F(plot_scale), "log", "log|linear", NULL, 0, 0, 0, 0, 0, "length",
     "loss axis of loss.svg"},
    {"denormals", T_STR, F(denormals), "flush", "flush|keep", NULL, 0, 0, 0, 0, OPT_KEEP, "length",
     "flush: treat floats below 1.2e-38 as 0 (FTZ/DAZ, much faster); keep: IEEE, as PyTorch"},
    {"threads", T_INT, F(threads), "0", NULL, NULL, 0, 0, 4096, 0, OPT_NOSAVE, "length",
     "worker threads (0 = all cores); results do not depend on it"},
    {"seed", T_INT, F(seed), "1", NULL, NULL, 0, 0, 4294967295.0, 0, OPT_KEEP, "length",
     "seeds initialisation, sampling and dropout"},

    {"run", T_STR, F(run), "", NULL, NULL, 0, 0, 0, 0, OPT_NOSAVE, "run",
     "run name (default: date-time-optimizer)"},
    {"runs-dir", T_STR, F(runs_dir), "runs", NULL, NULL, 0, 0, 0, 0, OPT_NOSAVE, "run",
     "where run directories are created"},
    {"resume", T_STR, F(resume), "", NULL, NULL, 0, 0, 0, 0, OPT_NOSAVE, "run",
     "continue the run in this directory from its last.safetensors"},
    {"init", T_STR, F(init), "", NULL, NULL, 0, 0, 0, 0, OPT_NOSAVE, "run",
     "start from this checkpoint's weights (fresh optimizer and step 0)"},
    {"force", T_BOOL, F(force), "off", NULL, NULL, 0, 0, 0, 0, OPT_NOSAVE, "run",
     "replace an existing run directory of the same name"},
    {"quiet", T_BOOL, F(quiet), "off", NULL, NULL, 0, 0, 0, 0, OPT_NOSAVE, "run",
     "no progress output"},
    {"ckpt", T_STR, F(ckpt), "", NULL, NULL, 0, 0, 0, 0, OPT_NOSAVE, "tools",
     "checkpoint to evaluate (train eval)"},
    {"out", T_STR, F(out), "", NULL, NULL, 0, 0, 0, 0, OPT_NOSAVE, "tools",
     "output SVG of train schedule (default schedule.svg)"},
    {"start-lr", T_FLOAT, F(start_lr), "1e-7", NULL, NULL, 0, 0, INF, OPEN_LO, 0, "tools",
     "lr-find: first learning rate"},
    {"end-lr", T_FLOAT, F(end_lr), "10", NULL, NULL, 0, 0, INF, OPEN_LO, 0, "tools",
     "lr-find: last learning rate"},
    {"num-it", T_INT, F(num_it), "100", NULL, NULL, 0, 5, 1e4, 0, 0, "tools",
     "lr-find: steps of the sweep"},
};
#define N_OPTS ((int)(sizeof opts / sizeof opts[0]))

static const OptDef *find_opt(const char *name) {
    for (int i = 0; i < N_OPTS; i++)
        if (strcmp(opts[i].name, name) == 0) return &opts[i];
    return NULL;
}

static const char *choices_of(const OptDef *o) {
    if (!o->choices) return NULL;
    if (strcmp(o->choices, "@optim") == 0) return optim_names();
    if (strcmp(o->choices, "@sched") == 0) return sched_names();
    return o->choices;
}

static int in_choices(const char *choices, const char *v) {
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

/* Parses text into the option's field. Numbers must be finite, whole (for T_INT), in range,
 * with nothing after them. Returns 0, or -1 with err = "why". */
static int set_value(Config *c, const OptDef *o, const char *text, char *err) {
    char *field = (char *)c + o->offset, *end;
    switch (o->type) {
    case T_STR: {
        const char *choices = choices_of(o);
        if (choices && !in_choices(choices, text))
            return errf(err, "unknown value '%s' (choose from %s)", text, choices);
        if (strlen(text) >= o->size) return errf(err, "longer than %zu characters", o->size - 1);
        strcpy(field, text);
        return 0;
    }
    case T_BOOL:
        if (!strcmp(text, "1") || !strcmp(text, "on") || !strcmp(text, "true")) *(int *)field = 1;
        else if (!strcmp(text, "0") || !strcmp(text, "off") || !strcmp(text, "false")) *(int *)field = 0;
        else return errf(err, "expected on or off, got '%s'", text);
        return 0;
    case T_INT: {
        if (o->keyword && strcmp(text, o->keyword) == 0) {
            *(long *)field = o->keyword_value;
            return 0;
        }
        double v = strtod(text, &end);
        if (end == text || *end || !isfinite(v) || v != floor(v))
            return errf(err, "expected a whole number%s%s, got '%s'", o->keyword ? " or " : "",
                        o->keyword ? o->keyword : "", text);
        if (v < o->lo || v > o->hi)
            return errf(err, "%s is out of range [%.0f, %.0f]", text, o->lo, o->hi);
        *(long *)field = (long)v;
        return 0;
    }
    case T_FLOAT: {
        double v = strtod(text, &end);
        if (end == text || *end || !isfinite(v))
            return errf(err, "expected a finite number, got '%s'", text);
        if (v < o->lo || v > o->hi || ((o->open & OPEN_LO) && v == o->lo) ||
            ((o->open & OPEN_HI) && v == o->hi))
            return errf(err, "%s is out of range %s%g, %g%s", text, o->open & OPEN_LO ? "(" : "[",
                        o->lo, o->hi, (o->open & OPEN_HI) || isinf(o->hi) ? ")" : "]");
        *(double *)field = v;
        return 0;
    }
    }
    return 0;
}

void config_defaults(Config *c) {
    char err[ERR_LEN];
    memset(c, 0, sizeof *c);
    for (int i = 0; i < N_OPTS; i++) {
        if (!strcmp(opts[i].def, "optimizer's") || !strcmp(opts[i].def, "schedule's"))
            /* filled in by config_finalize once the optimizer and schedule are known */
            *(double *)((char *)c + opts[i].offset) = NAN;
        else if (set_value(c, &opts[i], opts[i].def, err) != 0)
            fatal(EXIT_FAIL, "internal: default of --%s: %s", opts[i].name, err);
    }
}

int config_given(const Config *c, const char *name) {
    const OptDef *o = find_opt(name);
    return o && c->given[o - opts];
}

int config_set_default(Config *c, const char *name, const char *text, char *err) {
    const OptDef *o = find_opt(name);
    if (!o) return errf(err, "unknown option '%s'", name);
    if (c->given[o - opts]) return 0;
    if (set_value(c, o, text, err) != 0) return -1;
    c->set[o - opts] = 1;
    return 0;
}

void config_parse_args(Config *c, int argc, char **argv, int first, char ***pos, int *n_pos) {
    static struct option long_opts[N_OPTS + 1];
    for (int i = 0; i < N_OPTS; i++) {
        long_opts[i].name = opts[i].name;
        long_opts[i].has_arg = opts[i].type == T_BOOL ? optional_argument : required_argument;
        long_opts[i].flag = NULL;
        long_opts[i].val = 1000 + i;
    }
    char err[ERR_LEN];
    optind = first;
    opterr = 0;
    int ch, idx;
    while ((ch = getopt_long(argc, argv, "+", long_opts, &idx)) != -1) {
        if (ch == '?') {
            const char *bad = argv[optind - 1];
            if (optopt >= 1000) fatal(EXIT_USAGE, "--%s: needs a value", opts[optopt - 1000].name);
            fatal(EXIT_USAGE, "%s: unknown option (see train --help)", bad);
        }
        const OptDef *o = &opts[ch - 1000];
        const char *v = o->type == T_BOOL ? (optarg ? optarg : "on") : optarg;
        /* a switch also takes a separate on/off word: --cycle-momentum off */
        static const char *words[] = {"on", "off", "true", "false", "1", "0"};
        for (size_t k = 0; o->type == T_BOOL && !optarg && optind < argc && k < 6; k++)
            if (!strcmp(argv[optind], words[k])) { v = argv[optind++]; break; }
        if (set_value(c, o, v, err) != 0) fatal(EXIT_USAGE, "--%s: %s", o->name, err);
        c->given[ch - 1000] = c->set[ch - 1000] = 1;
    }
    int n = argc - optind;
    if (!pos) {
        if (n > 0) fatal(EXIT_USAGE, "%s: unexpected argument (see train --help)", argv[optind]);
        return;
    }
    *pos = argv + optind;
    *n_pos = n;
}

/* Applies "flag=value ..." (an optimizer's defaults) to options not set explicitly. */
static void apply_defaults(Config *c, const char *list) {
    char buf[256], err[ERR_LEN], *save = NULL;
    snprintf(buf, sizeof buf, "%s", list);
    for (char *item = strtok_r(buf, " ", &save); item; item = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(item, '=');
        if (eq) *eq = 0;
        const OptDef *o = find_opt(item);
        if (!eq || !o) fatal(EXIT_FAIL, "internal: bad optimizer default '%s'", item);
        if (!c->set[o - opts] && set_value(c, o, eq + 1, err) != 0)
            fatal(EXIT_FAIL, "internal: optimizer default --%s: %s", o->name, err);
    }
}

/* 1 if the space-separated list holds the word "--name" */
static int reads_flag(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, "--")); p += 2)
        if (!strncmp(p + 2, name, n) && (p[2 + n] == ' ' || p[2 + n] == 0)) return 1;
    return 0;
}

static int is_set(const Config *c, const char *name) {
    const OptDef *o = find_opt(name);
    return o && c->set[o - opts];
}

void config_finalize(Config *c) {
    const Optimizer *o = optim_find(c->opt);
    apply_defaults(c, o->defaults);
    if (c->overfit) {   /* nothing may stand between the model and memorising N examples */
        c->subset = c->overfit;
        c->val = 0;
        c->dropout = 0;
        c->wd = 0;
        c->label_smoothing = 0;
        if (!is_set(c, "schedule")) snprintf(c->schedule, sizeof c->schedule, "constant");
        if (!is_set(c, "steps")) c->steps = 2000;
    }
    const Schedule *s = sched_find(c->schedule);
    if (isnan(c->gamma))
        c->gamma = !strcmp(c->schedule, "exp") ? 0.999 : !strcmp(c->schedule, "cyclic") ? 0.9999 : 0.1;
    for (int i = 0; i < N_OPTS; i++) {
        if (!c->given[i]) continue;
        if ((opts[i].flags & OPT_OPTIM) && !reads_flag(o->flags, opts[i].name))
            fatal(EXIT_USAGE, "--%s: not used by --opt %s (it reads --lr %s)", opts[i].name, o->name, o->flags);
        if ((opts[i].flags & OPT_SCHED) && !reads_flag(s->flags, opts[i].name))
            fatal(EXIT_USAGE, "--%s: not used by --schedule %s (it reads --lr --warmup%s%s)", opts[i].name,
                  s->name, s->flags[0] ? " " : "", s->flags);
    }
    if (c->min_lr > c->lr) fatal(EXIT_USAGE, "--min-lr: %g is above --lr %g", c->min_lr, c->lr);
    if (c->nesterov && (c->momentum <= 0 || c->dampening != 0))
        fatal(EXIT_USAGE, "--nesterov: needs --momentum > 0 and --dampening 0 (as PyTorch)");
    if (!strcmp(c->schedule, "step") && c->step_size == 0)
        fatal(EXIT_USAGE, "--step-size: --schedule step needs it (decay every N steps)");
    if (!strcmp(c->schedule, "multistep")) {
        long m[SCHED_MAX_MILESTONES];
        char err[ERR_LEN];
        if (!c->milestones[0]) fatal(EXIT_USAGE, "--milestones: --schedule multistep needs it (e.g. 3000,6000)");
        if (sched_parse_milestones(c->milestones, m, SCHED_MAX_MILESTONES, err) < 0)
            fatal(EXIT_USAGE, "--milestones: %s", err);
    }
    if (c->base_momentum > c->max_momentum)
        fatal(EXIT_USAGE, "--base-momentum: %g is above --max-momentum %g", c->base_momentum, c->max_momentum);
    if (c->label_smoothing > 0 && strcmp(c->loss, "ce") != 0)
        fatal(EXIT_USAGE, "--label-smoothing: only applies to --loss ce");
    if (c->resume[0] && c->init[0])
        fatal(EXIT_USAGE, "--init: cannot be combined with --resume (the run has its own weights)");
    if (c->resume[0] && c->force)
        fatal(EXIT_USAGE, "--force: cannot be combined with --resume (it would delete the run)");
}

static void json_key(StrBuf *b, const char *name) {
    char key[64];
    size_t i = 0;
    for (; name[i] && i < sizeof key - 1; i++) key[i] = name[i] == '-' ? '_' : name[i];
    key[i] = 0;
    sb_json_string(b, key);
    sb_append(b, ": ");
}

void config_to_json(const Config *c, StrBuf *b) {
    sb_append(b, "{");
    int first = 1;
    for (int i = 0; i < N_OPTS; i++) {
        const OptDef *o = &opts[i];
        if (o->flags & OPT_NOSAVE) continue;
        const char *field = (const char *)c + o->offset;
        sb_append(b, first ? "\n  " : ",\n  ");
        first = 0;
        json_key(b, o->name);
        switch (o->type) {
        case T_STR: sb_json_string(b, field); break;
        case T_BOOL: sb_append(b, *(const int *)field ? "true" : "false"); break;
        case T_INT:
            if (o->keyword && *(const long *)field == o->keyword_value) sb_json_string(b, o->keyword);
            else sb_printf(b, "%ld", *(const long *)field);
            break;
        case T_FLOAT: sb_json_number(b, *(const double *)field); break;
        }
    }
    sb_append(b, "\n}\n");
}

int config_from_json(Config *c, const Json *j, char *err) {
    if (!j || j->type != JSON_OBJECT) return errf(err, "config: not a JSON object");
    for (int k = 0; k < j->n; k++) {
        char name[64];
        size_t i = 0;
        for (; j->keys[k][i] && i < sizeof name - 1; i++) name[i] = j->keys[k][i] == '_' ? '-' : j->keys[k][i];
        name[i] = 0;
        const OptDef *o = find_opt(name);
        if (!o) return errf(err, "config: unknown option '%s'", j->keys[k]);
        const Json *v = &j->items[k];
        char text[PATH_LEN], why[ERR_LEN];
        if (v->type == JSON_STRING) snprintf(text, sizeof text, "%s", v->string);
        else if (v->type == JSON_BOOL) snprintf(text, sizeof text, "%s", v->number ? "on" : "off");
        else if (v->type == JSON_NUMBER) snprintf(text, sizeof text, "%.17g", v->number);
        else return errf(err, "config: '%s' has the wrong type", j->keys[k]);
        if (set_value(c, o, text, why) != 0) return errf(err, "config: %s: %s", j->keys[k], why);
        c->set[o - opts] = 1;
    }
    return 0;
}

int config_diff_kept(const Config *old, const Config *now, StrBuf *b) {
    int n = 0;
    for (int i = 0; i < N_OPTS; i++) {
        const OptDef *o = &opts[i];
        if (!(o->flags & OPT_KEEP)) continue;
        StrBuf x, y;
        sb_init(&x); sb_init(&y);
        const char *fo = (const char *)old + o->offset, *fn = (const char *)now + o->offset;
        if (o->type == T_STR) { sb_append(&x, fo); sb_append(&y, fn); }
        else if (o->type == T_BOOL) { sb_append(&x, *(const int *)fo ? "on" : "off"); sb_append(&y, *(const int *)fn ? "on" : "off"); }
        else if (o->type == T_INT) { sb_printf(&x, "%ld", *(const long *)fo); sb_printf(&y, "%ld", *(const long *)fn); }
        else { sb_printf(&x, "%.17g", *(const double *)fo); sb_printf(&y, "%.17g", *(const double *)fn); }
        if (strcmp(x.s, y.s) != 0) {
            sb_printf(b, "  --%s: run has %s, flags say %s\n", o->name, x.s, y.s);
            n++;
        }
        sb_free(&x); sb_free(&y);
    }
    return n;
}

void config_print_help(FILE *out) {
    const char *group = "";
    for (int i = 0; i < N_OPTS; i++) {
        const OptDef *o = &opts[i];
        if (strcmp(o->group, group) != 0) fprintf(out, "\n%s:\n", group = o->group);
        char flag[64];
        snprintf(flag, sizeof flag, "--%s%s", o->name, o->type == T_BOOL ? "" : " X");
        fprintf(out, "  %-22s %s", flag, o->help);
        const char *choices = choices_of(o);
        if (choices && !strchr(o->help, '|')) fprintf(out, " (%s)", choices);
        fprintf(out, " [%s]\n", o->def[0] ? o->def : "none");
    }
}
