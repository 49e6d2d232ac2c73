/* Every row of the optimizer table as `--opt NAME` sets it up: each hyper-parameter flag a
 * row does not read is refused with the row's name, and each one it lists changes its
 * updates (none is accepted and silently ignored); lookahead wraps every row but those that
 * step through closures of their own; the defaults README's table gives for lbfgs, sf-adamw,
 * sf-sgd and sophia are what the options resolve to; the state `train optimizers` reports
 * for the default model is, row by row, what README's memory table says, counted by hand. */
#include "test.h"
#include "optim/closure.h"
#include "optim/optim.h"
#include "run/config.h"
#include "run/optim_memory.h"
#include "run/options.h"
#include "run/resolve.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define ERR_FILE "tests/tmp/optim_rows.err"

/* `train --opt row [--inner inner] [--flag [value]]`, parsed and finalised in a child process
 * (a refusal exits): its exit status, and its stderr in err. */
static int parse_status(const char *row, const char *inner, const char *flag, const char *value,
                        char *err, size_t len) {
    char *argv[8] = {"train", "--opt", (char *)row};
    int argc = 3;
    if (inner) { argv[argc++] = "--inner"; argv[argc++] = (char *)inner; }
    if (flag) argv[argc++] = (char *)flag;
    if (value) argv[argc++] = (char *)value;
    argv[argc] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(ERR_FILE, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 2) < 0) _exit(99);
        Config c;
        config_defaults(&c);
        config_parse_args(&c, argc, argv, 1, NULL, NULL);
        config_finalize(&c);
        _exit(0);
    }
    int status = -1;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
    err[0] = 0;
    FILE *f = fopen(ERR_FILE, "r");
    if (f) { size_t n = fread(err, 1, len - 1, f); err[n] = 0; fclose(f); }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* " --a --b " contains " --name " */
static int lists(const char *flags, const char *name) {
    char word[48];
    snprintf(word, sizeof word, "--%s", name);
    for (const char *at = flags; (at = strstr(at, word)); at++) {
        char after = at[strlen(word)];
        if ((at == flags || at[-1] == ' ') && (after == 0 || after == ' ')) return 1;
    }
    return 0;
}

/* The value a row's defaults ("lr=1e-3 momentum=0.9 ...") give option `name`, or NULL */
static const char *row_default(const OptimDef *def, const char *name, char *buf, size_t len) {
    char key[48];
    snprintf(key, sizeof key, "%s=", name);
    for (const char *at = def ? def->defaults : ""; (at = strstr(at, key)); at++)
        if (at == def->defaults || at[-1] == ' ') {
            snprintf(buf, len, "%.*s", (int)strcspn(at + strlen(key), " "), at + strlen(key));
            return buf;
        }
    return NULL;
}

/* Every optimizer flag (options with OPT_OPTIM) against every row, lookahead around adamw and
 * around shampoo: a flag neither the row nor its inner row lists is refused, exit code 2,
 * "train: --flag: not used by --opt row"; one it reads is accepted at the row's default value. */
static void test_unread_flags_refused(void) {
    int refused = 0, accepted = 0;
    for (int r = 0; r < optim_count + 1; r++) {
        /* the last round: lookahead --inner shampoo; before it lookahead's inner is adamw */
        const OptimDef *def = r < optim_count ? &optim_table[r] : optim_find("lookahead");
        const OptimDef *in = r < optim_count ? NULL : optim_find("shampoo");
        if (!in && lists(def->flags, "inner")) in = optim_find("adamw");
        for (int i = 0; i < n_opts; i++) {
            const OptDef *o = &opts[i];
            if (!(o->flags & OPT_OPTIM) || !strcmp(o->name, "inner")) continue;
            char flag[48], err[512], want[160], buf[32];
            snprintf(flag, sizeof flag, "--%s", o->name);
            const char *value = row_default(def, o->name, buf, sizeof buf);
            if (!value) value = row_default(in, o->name, buf, sizeof buf);
            if (!value) value = !strcmp(o->name, "eps") ? "1e-8" : o->def;
            if (o->type == T_BOOL) value = NULL;
            int reads = lists(def->flags, o->name) || (in && lists(in->flags, o->name));
            /* sgd's momentum is 0, which --nesterov refuses (as PyTorch) */
            if (reads && !strcmp(o->name, "nesterov") && !strcmp(def->name, "sgd")) continue;
            int rc = parse_status(def->name, r < optim_count ? NULL : in->name, flag, value, err, sizeof err);
            if (reads) {
                if (rc != 0) fprintf(stderr, "  --opt %s %s %s: %s", def->name, flag, value ? value : "", err);
                CHECK(rc == 0);
                accepted++;
                continue;
            }
            snprintf(want, sizeof want, "train: %s: not used by --opt %s%s%s (it reads ", flag, def->name,
                     in ? " --inner " : "", in ? in->name : "");
            if (rc != 2 || !strstr(err, want))
                fprintf(stderr, "  --opt %s %s: exit %d, %s", def->name, flag, rc, err);
            CHECK(rc == 2 && strstr(err, want));
            refused++;
        }
    }
    fprintf(stderr, "  %d flags refused, %d accepted over %d rows\n", refused, accepted, optim_count);
    CHECK(refused > 20 * optim_count && accepted > 2 * optim_count);
    /* lbfgs reads no weight decay: --wd is refused with the reason */
    char err[512];
    CHECK(parse_status("lbfgs", NULL, "--wd", "0.1", err, sizeof err) == 2);
    CHECK_CONTAINS(err, "train: --wd: --opt lbfgs has no weight decay");
}

/* lookahead wraps every row but itself and the four that step through a closure of their
 * own (lbfgs, sf-adamw, sf-sgd, sophia), which are refused with the reason */
static void test_lookahead_inner(void) {
    char err[512], want[96];
    for (int r = 0; r < optim_count; r++) {
        const char *name = optim_table[r].name;
        int rc = parse_status("lookahead", name, NULL, NULL, err, sizeof err);
        int closure = !strcmp(name, "lbfgs") || !strcmp(name, "sf-adamw") || !strcmp(name, "sf-sgd") ||
                      !strcmp(name, "sophia");
        snprintf(want, sizeof want, "train: --inner: lookahead cannot wrap %s",
                 strcmp(name, "lookahead") ? name : "itself");
        if (closure || !strcmp(name, "lookahead")) {
            CHECK(rc == 2);
            CHECK_CONTAINS(err, want);
        } else {
            if (rc != 0) fprintf(stderr, "  --inner %s: %s", name, err);
            CHECK(rc == 0);
        }
    }
}

/* ---- every flag a row lists moves its update */

/* W [2, 3] and b [3] as one flat vector, and the gradients of 12 steps */
static const OptTensor w_and_b[2] = {
    {"0.weight", 2, {2, 3}, ROLE_WEIGHT, 0, 6},
    {"0.bias", 1, {3, 0}, ROLE_BIAS, 6, 3},
};
static const float P0[9] = {0.5f, -0.2f, 0.1f, 0.3f, 0.4f, -0.6f, 0.1f, -0.2f, 0.0005f};
#define STEPS 12

static float grad_of(int t, int i) { return (float)sin(1.7 * i + 0.9 * t) * (1 + 0.1f * (float)i); }

/* Sophia's sampled-label gradient: a fixed function of the step's draw count */
static int draws;
static void sampled_grad(void *ctx, Rng *rng) {
    (void)rng;
    draws++;
    for (int i = 0; i < 9; i++) ((float *)ctx)[i] = grad_of(draws + 20, i);
}

/* The parameters after STEPS updates of `--opt row` with the extra flags (argv from index 3),
 * the row's default lr warmed up linearly over the steps (so that lr-dependent weights, such
 * as schedule-free's lr_max^P, see a changing rate). */
static void run_row(char **argv, int argc, float *p) {
    Config c;
    config_defaults(&c);
    config_parse_args(&c, argc, argv, 1, NULL, NULL);
    config_finalize(&c);
    OptimHyper h = resolve_optim_hyper(&c);
    h.examples = 4;
    Optim o;
    optim_init(&o, optim_find(c.opt), &h, w_and_b, 2, 9);
    float g[9], hess[9];
    OptimClosure closure = {NULL, sampled_grad, hess, hess, 0};
    o.closure = &closure;
    draws = 0;
    memcpy(p, P0, sizeof P0);
    for (int t = 1; t <= STEPS; t++) {
        for (int i = 0; i < 9; i++) g[i] = grad_of(t, i);
        optim_step(&o, p, g, t, (float)(c.lr * t / STEPS), NAN);
    }
    optim_free(&o);
}

/* The value that differs from a row's default, and the flags that make the flag matter
 * (dampening and Nesterov act on momentum, dampening only without Nesterov; Shampoo's roots exist only for a matrix of more
 * than --block elements) */
static const struct { const char *flag, *value, *context; } alternatives[] = {
    {"momentum", "0.5", NULL}, {"dampening", "0.5", "--momentum=0.9 --nesterov=off"},
    {"nesterov", NULL, "--momentum=0.9"}, {"beta1", "0.5", NULL}, {"beta2", "0.5", NULL},
    {"eps", "0.9", NULL}, {"amsgrad", NULL, NULL}, {"alpha", "0.5", NULL}, {"centered", NULL, NULL},
    {"lr-decay", "0.5", NULL}, {"initial-accumulator", "0.5", NULL}, {"momentum-decay", "0.5", NULL},
    {"rho", "0.5", NULL}, {"beta2-decay", "-0.5", NULL}, {"eps2", "0.5", NULL},
    {"clip-threshold", "100", NULL}, {"trust-coeff", "0.1", NULL}, {"trust-clip", NULL, NULL},
    {"ns-steps", "3", NULL}, {"ns-eps", "0.9", NULL}, {"muon-adjust", "match_rms_adamw", NULL},
    {"block", "4", NULL}, {"precond-every", "5", "--block=4"}, {"matrix-eps", "0.1", "--block=4"},
    {"lookahead-k", "2", NULL}, {"lookahead-alpha", "0.8", NULL}, {"weight-step-power", "1", NULL},
    {"weight-lr-power", "1", NULL}, {"hess-every", "3", NULL}, {"wd", "0.05", NULL},
};

/* Every row but lbfgs (whose flags its float64 parity tests vary), every flag it lists but
 * --lr and --inner: STEPS updates with the flag changed from the default end elsewhere than
 * STEPS updates without it (both with the flag's context). A listed flag the rule ignored
 * would be a flag accepted and silently ignored. */
static void test_listed_flags_act(void) {
    int checked = 0;
    for (int r = 0; r < optim_count; r++) {
        const OptimDef *def = &optim_table[r];
        if (!strcmp(def->name, "lbfgs")) continue;
        char flags[256];
        snprintf(flags, sizeof flags, "%s", def->flags);
        for (char *save = NULL, *word = strtok_r(flags, " ", &save); word; word = strtok_r(NULL, " ", &save)) {
            if (!strcmp(word, "--lr") || !strcmp(word, "--inner")) continue;
            int k = 0, n = sizeof alternatives / sizeof *alternatives;
            while (k < n && strcmp(word + 2, alternatives[k].flag)) k++;
            CHECK(k < n);
            if (k == n) { fprintf(stderr, "  %s: no alternative value for %s\n", def->name, word); continue; }
            char buf[32], changed[64];
            const char *on = row_default(def, word + 2, buf, sizeof buf);
            if (alternatives[k].value) snprintf(changed, sizeof changed, "%s=%s", word, alternatives[k].value);
            else snprintf(changed, sizeof changed, "%s=%s", word, on && !strcmp(on, "on") ? "off" : "on");
            char *base[8] = {"train", "--opt", (char *)def->name}, *with[8], context[64], *at = NULL;
            int argc = 3;
            snprintf(context, sizeof context, "%s", alternatives[k].context ? alternatives[k].context : "");
            for (char *c = strtok_r(context, " ", &at); c; c = strtok_r(NULL, " ", &at)) base[argc++] = c;
            memcpy(with, base, sizeof base);
            with[argc] = changed;
            float a[9], b[9];
            run_row(base, argc, a);
            run_row(with, argc + 1, b);
            int moved = memcmp(a, b, sizeof a) != 0;
            if (!moved) fprintf(stderr, "  --opt %s %s: the same weights as without it\n", def->name, changed);
            CHECK(moved);
            checked++;
        }
    }
    fprintf(stderr, "  %d (row, flag) pairs move the update\n", checked);
    CHECK(checked > 2 * optim_count);
}

/* `--opt NAME` and nothing else: its hyper-parameters and schedule */
static OptimHyper hyper_of(const char *name, Config *c) {
    config_defaults(c);
    snprintf(c->opt, sizeof c->opt, "%s", name);
    config_finalize(c);
    return resolve_optim_hyper(c);
}

/* README: lbfgs lr 1, max-iter 20, max-eval 25 (max-iter * 5 / 4), history 100,
 * tolerance-grad 1e-7, tolerance-change 1e-9, no line search, schedule constant; sf-adamw lr
 * 2.5e-3, betas 0.9/0.999, eps 1e-8, weight-step-power 0, weight-lr-power 2, schedule
 * constant; sf-sgd lr 1, momentum 0.9, the same powers; sophia lr 1e-4, betas 0.965/0.99, rho
 * 0.04, wd 0.1, eps 1e-15, hess-every 10, the default cosine schedule. */
static void test_defaults(void) {
    Config c;
    OptimHyper h = hyper_of("lbfgs", &c);
    CHECK(c.lr == 1 && h.max_iter == 20 && h.max_eval == 25 && h.history_size == 100 &&
          h.tolerance_grad == 1e-7 && h.tolerance_change == 1e-9 && !h.strong_wolfe && h.wd == 0);
    CHECK_STR(c.schedule, "constant");
    h = hyper_of("sf-adamw", &c);
    CHECK(c.lr == 2.5e-3 && h.beta1 == 0.9 && h.beta2 == 0.999 && h.eps == 1e-8 && h.r == 0 &&
          h.weight_lr_power == 2 && h.wd == 0);
    CHECK_STR(c.schedule, "constant");
    h = hyper_of("sf-sgd", &c);
    CHECK(c.lr == 1 && h.momentum == 0.9 && h.r == 0 && h.weight_lr_power == 2 && h.wd == 0);
    CHECK_STR(c.schedule, "constant");
    h = hyper_of("sophia", &c);
    CHECK(c.lr == 1e-4 && h.beta1 == 0.965 && h.beta2 == 0.99 && h.rho == 0.04 && h.wd == 0.1 &&
          h.eps == 1e-15 && h.hess_every == 10);
    CHECK_STR(c.schedule, "cosine");
    /* a schedule given on the command line replaces lbfgs's constant one */
    char *argv[] = {"train", "--opt", "lbfgs", "--schedule", "linear", NULL};
    config_defaults(&c);
    config_parse_args(&c, 5, argv, 1, NULL, NULL);
    config_finalize(&c);
    CHECK_STR(c.schedule, "linear");
}

/* State bytes of every row for 784-256-256-10 (P = 269,322 parameters: W = 268,800 weights
 * in three matrices, 522 biases), README's memory table. */
static void test_state_memory_of_every_row(void) {
    const long weights = 784 * 256 + 256 * 256 + 256 * 10, biases = 256 + 256 + 10, P = weights + biases;
    const struct { const char *row; long bytes; } want[] = {
        {"sgd", 0}, {"momentum", 4 * P}, {"nesterov", 4 * P}, {"adagrad", 4 * P}, {"rmsprop", 4 * P},
        {"lion", 4 * P}, {"lars", 4 * P}, {"sf-sgd", 4 * P},
        {"adam", 8 * P}, {"adamw", 8 * P}, {"nadam", 8 * P}, {"radam", 8 * P}, {"adamax", 8 * P},
        {"adadelta", 8 * P}, {"lamb", 8 * P}, {"sf-adamw", 8 * P}, {"sophia", 8 * P},
        {"amsgrad", 12 * P}, {"lookahead", 12 * P},
        /* momentum of the weights, two moments of the biases */
        {"muon", 4 * (weights + 2 * biases)},
        /* a row and a column per matrix, the biases in full */
        {"adafactor", 4 * ((256 + 784) + (256 + 256) + (10 + 256) + biases)},
        /* d, prev_flat_grad, 100 rows of old_dirs and of old_stps, ro */
        {"lbfgs", 4 * (2 * P + 2 * 100 * P + 100)},
    };
    const int n = sizeof want / sizeof *want;
    CHECK(n + 1 == optim_count);   /* shampoo: tests/test_optim2.c counts its blocks */
    for (int i = 0; i < n; i++) {
        long bytes, params;
        optim_default_memory(optim_find(want[i].row), &bytes, &params);
        if (bytes != want[i].bytes) fprintf(stderr, "  %s: %ld bytes, want %ld\n", want[i].row, bytes, want[i].bytes);
        CHECK(params == P && bytes == want[i].bytes);
    }
}

int main(void) {
    if (system("mkdir -p tests/tmp") != 0) return 1;
    RUN(test_unread_flags_refused);
    RUN(test_lookahead_inner);
    RUN(test_listed_flags_act);
    RUN(test_defaults);
    RUN(test_state_memory_of_every_row);
    return test_summary();
}
