/* config.c: the option table and everything derived from it: defaults, command-line parsing,
 * validation, --help, JSON out and in, and the resume comparison. */
#include "run/config.h"
#include "run/options.h"
#include "optim/optim.h"
#include "nn/model.h"
#include "optim/sched.h"
#include "run/group.h"
#include "util/suggest.h"
#include "util/util.h"

#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>


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
    if (N_OPTS > MAX_OPTS) fatal(EXIT_FAIL, "internal: %d options, room for %d", N_OPTS, MAX_OPTS);
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

int config_is_set(const Config *c, const char *name) {
    const OptDef *o = find_opt(name);
    return o && c->set[o - opts];
}

/* "train: -lr: unknown option (did you mean --lr?)": the argument as typed (without an
 * "=value"), and the closest flag when one is close. */
static void unknown_option(const char *arg) {
    const char *names[MAX_OPTS];
    int n = 0;
    for (int i = 0; i < N_OPTS; i++)
        if (!(opts[i].flags & OPT_DATA)) names[n++] = opts[i].name;
    int len = (int)strcspn(arg, "=");
    char word[64];
    const char *bare = arg + strspn(arg, "-");
    snprintf(word, sizeof word, "%.*s", (int)strcspn(bare, "="), bare);
    const char *near = closest_name(word, names, n, sizeof names[0]);
    if (near) fatal(EXIT_USAGE, "%.*s: unknown option (did you mean --%s?)", len, arg, near);
    StrBuf starts;   /* a shortened flag: the flags it begins */
    sb_init(&starts);
    int count = 0;
    for (int i = 0; i < n && word[0]; i++)
        if (!strncmp(names[i], word, strlen(word)) && count++ < 4) sb_printf(&starts, "%s--%s", count > 1 ? ", " : "", names[i]);
    if (count) fatal(EXIT_USAGE, "%.*s: unknown option (flags are spelled in full: %s%s?)", len, arg,
                     starts.s, count > 4 ? ", ..." : "");
    fatal(EXIT_USAGE, "%.*s: unknown option (see train --help)", len, arg);
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
    static struct option long_opts[MAX_OPTS + 1];
    for (int i = 0; i < N_OPTS; i++) {
        long_opts[i].name = opts[i].name;
        long_opts[i].has_arg = opts[i].type == T_BOOL ? optional_argument : required_argument;
        long_opts[i].flag = NULL;
        long_opts[i].val = 1000 + i;
    }
    char err[ERR_LEN];
    optind = first;
    opterr = 0;
    int ch, idx, at = first;   /* argv[at]: the argument being parsed */
    while ((ch = getopt_long(argc, argv, "+", long_opts, &idx)) != -1) {
        if (ch == '?') {
            if (optopt >= 1000) fatal(EXIT_USAGE, "--%s: needs a value", opts[optopt - 1000].name);
            unknown_option(argv[at]);
        }
        const OptDef *o = &opts[ch - 1000];
        if (o->flags & OPT_DATA) unknown_option(argv[at]);
        /* getopt_long takes a unique prefix (--epoch for --epochs): a flag is spelled in full */
        const char *typed = argv[at] + 2;
        size_t typed_len = strcspn(typed, "=");
        if (strncmp(argv[at], "--", 2) || typed_len != strlen(o->name) || strncmp(typed, o->name, typed_len))
            unknown_option(argv[at]);
        const char *v = o->type == T_BOOL ? (optarg ? optarg : "on") : optarg;
        /* a switch also takes a separate on/off word: --cycle-momentum off */
        static const char *words[] = {"on", "off", "true", "false", "1", "0"};
        for (size_t k = 0; o->type == T_BOOL && !optarg && optind < argc && k < 6; k++)
            if (!strcmp(argv[optind], words[k])) { v = argv[optind++]; break; }
        char joined[PATH_LEN];
        if (c->given[ch - 1000]) {   /* a second --milestones adds to the list; others are errors */
            if (!(o->flags & OPT_LIST))
                fatal(EXIT_USAGE, "--%s: given more than once (it takes one value)", o->name);
            snprintf(joined, sizeof joined, "%s,%s", (char *)c + o->offset, v);
            v = joined;
        }
        if (set_value(c, o, v, err) != 0) fatal(EXIT_USAGE, "--%s: %s", o->name, err);
        c->given[ch - 1000] = c->set[ch - 1000] = 1;
        at = optind;
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

/* Validation flags need a validation set: with --val 0 (given, or left by --overfit or a tiny
 * dataset) they would do nothing. Their off values (0) are fine. */
static void check_validation_flags(const Config *c, long val) {
    static const char *const needs_val[] = {"early-stop", "eval-every", "min-delta"};
    long on[] = {c->early_stop != 0, c->eval_every != 0, c->min_delta != 0};
    if (val > 0) return;
    for (int i = 0; i < 3; i++)
        if (config_given(c, needs_val[i]) && on[i])
            fatal(EXIT_USAGE, "--%s: needs a validation set, and there is none (%s)", needs_val[i],
                  c->overfit ? "--overfit trains without one" : is_set(c, "val") ? "--val 0"
                  : "the training set is too small to hold one out; give --val N");
}

/* Flags that would be accepted and then do nothing, or be silently overruled, are refused
 * here with the reason (flags an optimizer or schedule does not read are refused in
 * config_finalize by their table rows; flags a command does not read by config_check_reads;
 * checks that need the data, by config_check_run_length). */
static void refuse_flags_that_do_nothing(const Config *c) {
    if (c->keep > 0 && c->ckpt_every == 0)
        fatal(EXIT_USAGE, "--keep: keeps periodic checkpoints, and --ckpt-every 0 makes none");
    if (config_given(c, "warmup") && c->warmup > 0 && !strcmp(c->schedule, "onecycle"))
        fatal(EXIT_USAGE, "--warmup: --schedule onecycle has its own warm-up phase (--pct-start, "
              "--div-factor); a second one would restart it");
    if (c->overfit) {   /* --overfit turns these off: a value given for them would be overruled */
        static const char *const off[] = {"val", "subset", "dropout", "wd", "label-smoothing"};
        for (int i = 0; i < 5; i++) {
            const OptDef *o = find_opt(off[i]);
            const char *field = (const char *)c + o->offset;
            int zero = o->type == T_INT ? *(const long *)field == (i == 1 ? c->overfit : 0)
                                        : *(const double *)field == 0;
            if (config_given(c, off[i]) && !zero)
                fatal(EXIT_USAGE, "--%s: --overfit turns it off (%s); drop --%s", off[i],
                      i == 1 ? "it trains on the first N images itself" : "nothing may fight memorisation",
                      off[i]);
        }
    }
    check_validation_flags(c, c->overfit ? 0 : config_given(c, "val") ? c->val : 1);
}

/* --overfit: what fights memorisation is off (flags giving it are refused above); defaults and
 * model files that had it on are overridden, said in one line. */
static void overfit_overrides(Config *c) {
    StrBuf note;
    sb_init(&note);
    if (c->val) sb_printf(&note, ", --val %ld -> 0", c->val);
    if (c->subset != c->overfit && c->subset) sb_printf(&note, ", --subset %ld -> %ld", c->subset, c->overfit);
    if (c->dropout) sb_printf(&note, ", --dropout %g -> 0", c->dropout);
    if (c->wd) sb_printf(&note, ", --wd %g -> 0", c->wd);
    if (c->label_smoothing) sb_printf(&note, ", --label-smoothing %g -> 0", c->label_smoothing);
    ModelSpec m;
    char err[ERR_LEN];
    if (!(c->model[0] >= '0' && c->model[0] <= '9') && model_spec_parse_list(c->model, &m, err) == 0) {
        int dropped = 0;   /* a listed dropout layer stays (module indices), with p = 0 */
        for (int i = 0; i < m.n_layers; i++)
            if (m.layers[i].kind == LAYER_DROPOUT && m.layers[i].arg > 0) { m.layers[i].arg = 0; dropped++; }
        if (dropped) {
            model_spec_format(&m, c->model, sizeof c->model);
            sb_printf(&note, ", the model's dropout layers -> p 0");
        }
    }
    if (note.len) warn("--overfit: nothing may fight memorisation: %s", note.s + 2);
    sb_free(&note);
    c->subset = c->overfit;
    c->val = 0;
    c->set[find_opt("val") - opts] = 1;   /* the data must not choose one */
    c->dropout = 0;
    c->wd = 0;
    c->label_smoothing = 0;
}

void config_finalize(Config *c) {
    const OptimDef *o = optim_find(c->opt);
    /* a wrapper (lookahead) reads --inner, and takes the defaults and flags of what it wraps */
    const OptimDef *in = reads_flag(o->flags, "inner") ? optim_find(c->inner) : NULL;
    if (in && reads_flag(in->flags, "inner"))
        fatal(EXIT_USAGE, "--inner: %s cannot wrap itself (choose another optimizer)", in->name);
    apply_defaults(c, o->defaults);
    if (in) apply_defaults(c, in->defaults);
    refuse_flags_that_do_nothing(c);
    if (c->overfit) {   /* nothing may stand between the model and memorising N examples */
        overfit_overrides(c);
        if (!is_set(c, "schedule")) snprintf(c->schedule, sizeof c->schedule, "constant");
        if (!is_set(c, "steps")) c->steps = 2000;
    }
    const SchedDef *s = sched_find(c->schedule);
    if (isnan(c->gamma))
        c->gamma = !strcmp(c->schedule, "exp") ? 0.999 : !strcmp(c->schedule, "cyclic") ? 0.9999 : 0.1;
    for (int i = 0; i < N_OPTS; i++) {
        if (!c->given[i]) continue;
        if ((opts[i].flags & OPT_OPTIM) && !reads_flag(o->flags, opts[i].name) &&
            !(in && reads_flag(in->flags, opts[i].name)))
            fatal(EXIT_USAGE, "--%s: not used by --opt %s%s%s (it reads --lr %s%s%s)", opts[i].name,
                  o->name, in ? " --inner " : "", in ? in->name : "", o->flags, in ? " " : "",
                  in ? in->flags : "");
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
    group_check_options(c);
    averaging_check_options(c);
}

/* 1 if the space-separated list names flag o, or its group as "@group" */
static int reads_opt(const char *reads, const OptDef *o) {
    char group[32];
    snprintf(group, sizeof group, "@%s", o->group);
    size_t n = strlen(group);
    for (const char *p = reads; (p = strstr(p, group)); p += n)
        if (p[n] == ' ' || p[n] == 0) return 1;
    return reads_flag(reads, o->name);
}

void config_check_reads(const Config *c, const char *command, const char *reads, const char *why) {
    for (int i = 0; i < N_OPTS; i++) {
        if (!c->given[i] || reads_opt(reads, &opts[i])) continue;
        if (!strcmp(opts[i].name, "ckpt"))
            fatal(EXIT_USAGE, "--ckpt: not read by %s (it names the checkpoint of train eval, "
                  "predict and export); to start from a checkpoint's weights use --init, to continue "
                  "a run --resume", command);
        if (why) fatal(EXIT_USAGE, "--%s: not read by %s (%s)", opts[i].name, command, why);
        StrBuf list;
        sb_init(&list);
        for (int k = 0; k < N_OPTS; k++)
            if (!(opts[k].flags & OPT_DATA) && reads_opt(reads, &opts[k]) && list.len < 200)
                sb_printf(&list, " --%s", opts[k].name);
        fatal(EXIT_USAGE, "--%s: not read by %s (it reads%s%s)", opts[i].name, command, list.s,
              list.len >= 200 ? " ..." : "");
    }
}

void config_check_run_length(const Config *c, long total_steps) {
    if (c->warmup > total_steps)
        fatal(EXIT_USAGE, "--warmup: %ld steps is longer than the run (%ld steps)", c->warmup, total_steps);
    if (!strcmp(c->schedule, "multistep")) {   /* config_finalize parsed them already */
        long m[SCHED_MAX_MILESTONES];
        char err[ERR_LEN];
        int n = sched_parse_milestones(c->milestones, m, SCHED_MAX_MILESTONES, err);
        /* milestone k applies from step warmup + k on (counted from 0): within the run or never */
        for (int i = 0; i < n; i++)
            if (c->warmup + m[i] >= total_steps)
                fatal(EXIT_USAGE, "--milestones: %ld is at or past the end of the run (%ld steps%s), "
                      "so it would never apply", m[i], total_steps, c->warmup ? " with the warmup" : "");
    }
    /* the first decay comes after warmup + step_size steps (as a milestone would) */
    if (!strcmp(c->schedule, "step") && c->step_size > 0 && c->warmup + c->step_size >= total_steps)
        fatal(EXIT_USAGE, "--step-size: %ld steps%s reach past the end of the run (%ld steps), so the "
              "lr would never decay", c->step_size, c->warmup ? " after the warmup" : "", total_steps);
    check_validation_flags(c, c->val);
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
        if (o->flags & OPT_DATA) continue;
        if (strcmp(o->group, group) != 0) fprintf(out, "\n%s:\n", group = o->group);
        char flag[64];
        snprintf(flag, sizeof flag, "--%s%s", o->name, o->type == T_BOOL ? "" : " X");
        fprintf(out, "  %-22s %s", flag, o->help);
        const char *choices = choices_of(o);
        if (choices && !strchr(o->help, '|')) fprintf(out, " (%s)", choices);
        fprintf(out, " [%s]\n", o->def[0] ? o->def : "none");
    }
}
