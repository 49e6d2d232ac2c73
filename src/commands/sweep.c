/* sweep.c: `train sweep`, see sweep.h. The runs are separate processes (this program
 * re-executed through /proc/self/exe) so that each one is exactly what `train` with those
 * flags would do, with its own run directory, and a crash in one leaves the others' files
 * intact. */
#include "commands/sweep.h"
#include "commands/compare.h"
#include "commands/train.h"
#include "run/resolve.h"
#include "run/rundir.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    char name[64];       /* flag name without the dashes */
    int has_value;       /* 0: a switch given bare ("--nesterov") */
    char **values;
    int n;
} Item;

/* Flags that describe the sweep rather than a run, so they cannot be lists. */
static int single_valued(const char *name) {
    return !strcmp(name, "run") || !strcmp(name, "runs-dir") || !strcmp(name, "quiet") ||
           !strcmp(name, "force");
}

/* Splits a flag's value into its alternatives. --milestones takes a comma list of steps, so
 * its alternatives are separated by ';' or '/' instead. */
static int split_values(Item *it, const char *value, char *err) {
    const char *seps = !strcmp(it->name, "milestones") ? ";/" : ",";
    size_t len = strlen(value);
    it->values = xmalloc(sizeof(char *) * (len + 1));
    it->n = 0;
    for (const char *p = value;;) {
        size_t k = strcspn(p, seps);
        if (k == 0) {
            return errf(err, "--%s: empty value in the list \"%s\"%s", it->name, value,
                        !strcmp(it->name, "milestones") ? " (alternatives are separated by ';' or '/')" : "");
        }
        char *v = xmalloc(k + 1);
        memcpy(v, p, k);
        v[k] = 0;
        it->values[it->n++] = v;
        if (!p[k]) break;
        p += k + 1;
    }
    return 0;
}

/* A value as part of a directory name: characters other than letters, digits, '.', '+'
 * and '-' (a ',' in milestones, a '/' in a path) become '+'. */
static void append_sanitized(StrBuf *b, const char *v) {
    for (; *v; v++) {
        char c = *v;
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '+' || c == '-';
        sb_appendn(b, keep ? v : "+", 1);
    }
}

static void free_items(Item *items, int n) {
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < items[i].n; k++) free(items[i].values[k]);
        free(items[i].values);
    }
    free(items);
}

/* Parses argv into items, taking out the sweep's own flags (--pair, --run, --runs-dir) and
 * noting --quiet and --force, which are also passed on to every run. */
static int parse_items(int argc, char **argv, Sweep *s, Item *items, int *n_items, char *err) {
    int n = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || !a[2])
            return errf(err, "%s: unexpected argument (a sweep takes flags only, e.g. --lr 0.1,0.01)", a);
        const char *eq = strchr(a, '='), *value = NULL;
        size_t name_len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (name_len == 0 || name_len >= sizeof items[0].name) return errf(err, "%s: unknown option", a);
        Item *it = &items[n];
        memset(it, 0, sizeof *it);
        memcpy(it->name, a + 2, name_len);
        it->name[name_len] = 0;
        if (!strcmp(it->name, "pair")) {
            if (eq) return errf(err, "--pair: takes no value");
            s->pair = 1;
            continue;
        }
        /* A token that is not a flag belongs to the flag before it; a switch given as
         * `--nesterov on,off` therefore works too (runs get --nesterov=on, --nesterov=off). */
        if (eq) value = eq + 1;
        else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) value = argv[++i];
        for (int k = 0; k < n; k++)
            if (!strcmp(items[k].name, it->name))
                return errf(err, "--%s: given twice (give the alternatives as one list)", it->name);
        if (!strcmp(it->name, "resume")) return errf(err, "--resume: a sweep only starts new runs");
        it->has_value = value != NULL;
        if (value && split_values(it, value, err) != 0) { n++; *n_items = n; return -1; }
        n++;
        *n_items = n;
        if (single_valued(it->name) && it->n > 1)
            return errf(err, "--%s: describes the whole sweep and takes one value, not a list", it->name);
        if ((!strcmp(it->name, "run") || !strcmp(it->name, "runs-dir")) && (!value || !*value))
            return errf(err, "--%s: needs a value", it->name);
        if (!strcmp(it->name, "run")) snprintf(s->name, sizeof s->name, "%s", value);
        if (!strcmp(it->name, "runs-dir")) snprintf(s->runs_dir, sizeof s->runs_dir, "%s", value);
        int on = !value || strcmp(value, "off") != 0;
        if (!strcmp(it->name, "quiet")) s->quiet = on;
        if (!strcmp(it->name, "force")) s->force = on;
    }
    *n_items = n;
    return 0;
}

/* Fills run k: the value of every item at its index for k, and the name from the items that
 * vary. idx[i] is item i's value index. */
static void build_run(SweepRun *r, const Item *items, int n_items, const int *idx) {
    StrBuf name;
    sb_init(&name);
    r->argv = xmalloc(sizeof(char *) * (size_t)(n_items + 1));
    r->argc = 0;
    for (int i = 0; i < n_items; i++) {
        const Item *it = &items[i];
        if (!strcmp(it->name, "run") || !strcmp(it->name, "runs-dir")) continue;
        StrBuf arg;
        sb_init(&arg);
        sb_printf(&arg, "--%s", it->name);
        if (it->has_value) sb_printf(&arg, "=%s", it->values[idx[i]]);
        r->argv[r->argc++] = arg.s;   /* the buffer is handed over, not freed */
        if (it->n > 1) {
            if (name.len) sb_append(&name, "_");
            sb_printf(&name, "%s-", it->name);
            append_sanitized(&name, it->values[idx[i]]);
        }
    }
    r->argv[r->argc] = NULL;
    if (!name.len) sb_append(&name, "run");
    r->name = name.s;
}

int sweep_expand(int argc, char **argv, Sweep *s, char *err) {
    memset(s, 0, sizeof *s);
    snprintf(s->runs_dir, sizeof s->runs_dir, "runs");
    Item *items = xcalloc((size_t)(argc > 0 ? argc : 1), sizeof *items);
    int n_items = 0;
    if (parse_items(argc, argv, s, items, &n_items, err) != 0) { free_items(items, n_items); return -1; }

    long total = 1;
    const Item *longest = NULL;
    for (int i = 0; i < n_items; i++) {
        const Item *it = &items[i];
        if (it->n <= 1) continue;
        if (s->pair) {
            if (longest && it->n != longest->n) {
                errf(err, "--pair: --%s has %d values but --%s has %d (zipped lists need equal lengths, "
                          "or one value for every run)", it->name, it->n, longest->name, longest->n);
                free_items(items, n_items);
                return -1;
            }
            longest = it;
            total = it->n;
        } else {
            total *= it->n;
            if (total > SWEEP_MAX_RUNS) break;
        }
    }
    if (total > SWEEP_MAX_RUNS) {
        errf(err, "sweep: more than %d runs (narrow the lists)", SWEEP_MAX_RUNS);
        free_items(items, n_items);
        return -1;
    }

    s->n = (int)total;
    s->runs = xcalloc((size_t)total, sizeof *s->runs);
    int *idx = xcalloc((size_t)(n_items > 0 ? n_items : 1), sizeof *idx);
    for (long k = 0; k < total; k++) {
        /* product: item i's index is digit i of k in the mixed radix of the list lengths,
         * the last list varying fastest; zip: every list at k (one-value lists at 0) */
        long rest = k;
        for (int i = n_items - 1; i >= 0; i--) {
            int len = items[i].n > 0 ? items[i].n : 1;
            if (s->pair) idx[i] = len > 1 ? (int)k : 0;
            else { idx[i] = (int)(rest % len); rest /= len; }
        }
        build_run(&s->runs[k], items, n_items, idx);
    }
    free(idx);
    free_items(items, n_items);

    for (int k = 0; k < s->n; k++) {
        if (strlen(s->runs[k].name) > 200) {
            errf(err, "sweep: run name %.40s... is too long (fewer or shorter varying values)", s->runs[k].name);
            sweep_free(s);
            return -1;
        }
        for (int j = 0; j < k; j++)
            if (!strcmp(s->runs[j].name, s->runs[k].name)) {
                errf(err, "sweep: runs %d and %d would both be named %s (repeated values?)", j + 1, k + 1,
                     s->runs[k].name);
                sweep_free(s);
                return -1;
            }
    }
    return 0;
}

void sweep_free(Sweep *s) {
    for (int k = 0; k < s->n; k++) {
        for (int a = 0; a < s->runs[k].argc; a++) free(s->runs[k].argv[a]);
        free(s->runs[k].argv);
        free(s->runs[k].name);
    }
    free(s->runs);
    s->runs = NULL;
    s->n = 0;
}

/* ---------------------------------------------------------------- running */

/* "train <flags> --runs-dir DIR --run NAME", NULL-terminated; the strings are borrowed. */
static char **child_argv(const SweepRun *r, const char *dir) {
    char **av = xmalloc(sizeof(char *) * (size_t)(r->argc + 6));
    int n = 0;
    av[n++] = "train";
    for (int a = 0; a < r->argc; a++) av[n++] = r->argv[a];
    av[n++] = "--runs-dir";
    av[n++] = (char *)dir;
    av[n++] = "--run";
    av[n++] = r->name;
    av[n] = NULL;
    return av;
}

static int count_args(char **av) {
    int n = 0;
    while (av[n]) n++;
    return n;
}

/* Exit code of a child: its own, or 128 + the signal that killed it (as a shell reports). */
static int wait_child(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return EXIT_FAIL;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return EXIT_FAIL;
}

/* Checks every run's flags (parse, model, cross-option checks) before any training, so a
 * combination that train would refuse (an optimizer flag crossed with an optimizer that does
 * not read it) stops the sweep at once rather than after hours. Checked in a child because
 * the parser reports by exiting. */
static int check_flags(char **av) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) fatal(EXIT_FAIL, "sweep: fork: %s", strerror(errno));
    if (pid == 0) {
        Config c;
        resolve_options(&c, count_args(av), av);
        config_check_reads(&c, "train", TRAIN_READS, NULL);
        _exit(0);
    }
    return wait_child(pid);
}

static int run_child(char **av, int quiet) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) fatal(EXIT_FAIL, "sweep: fork: %s", strerror(errno));
    if (pid == 0) {
        /* The runs' own result tables go to stderr (or nowhere with --quiet): the sweep's
         * stdout is its comparison table alone, ready to be piped. */
        int fd = quiet ? open("/dev/null", O_WRONLY) : 2;
        if (fd >= 0) dup2(fd, 1);
        execv("/proc/self/exe", av);
        fprintf(stderr, "train: /proc/self/exe: %s\n", strerror(errno));
        _exit(EXIT_FAIL);
    }
    return wait_child(pid);
}

int cmd_sweep(int argc, char **argv) {
    Sweep s;
    char err[ERR_LEN];
    if (sweep_expand(argc - 1, argv + 1, &s, err) != 0) fatal(EXIT_USAGE, "%s", err);
    if (!s.name[0]) {
        Config c;
        c.run[0] = 0;
        rundir_default_name(&c, "sweep");
        snprintf(s.name, sizeof s.name, "%s", c.run);
    }
    char *dir = xmalloc(strlen(s.runs_dir) + strlen(s.name) + 2);
    sprintf(dir, "%s/%s", s.runs_dir, s.name);
    if (is_dir(dir) && !s.force)
        fatal(EXIT_USAGE, "%s: sweep directory exists (use --force to replace its runs, or another --run name)", dir);

    char ***avs = xmalloc(sizeof(char **) * (size_t)s.n);
    for (int k = 0; k < s.n; k++) {
        avs[k] = child_argv(&s.runs[k], dir);
        if (check_flags(avs[k]) != 0)
            fatal(EXIT_USAGE, "sweep: run %s: invalid flags (above); nothing was run", s.runs[k].name);
    }

    char **dirs = xmalloc(sizeof(char *) * (size_t)s.n);
    for (int k = 0; k < s.n; k++) {
        if (!s.quiet) {
            fprintf(stderr, "sweep %s: run %d/%d: %s\n  train", dir, k + 1, s.n, s.runs[k].name);
            for (int a = 1; avs[k][a]; a++) fprintf(stderr, " %s", avs[k][a]);
            fputc('\n', stderr);
        }
        int rc = run_child(avs[k], s.quiet);
        if (rc != 0) {
            warn("sweep: run %s failed (exit code %d); stopping the sweep", s.runs[k].name, rc);
            exit(rc);
        }
        dirs[k] = xmalloc(strlen(dir) + strlen(s.runs[k].name) + 2);
        sprintf(dirs[k], "%s/%s", dir, s.runs[k].name);
    }

    char *svg = xmalloc(strlen(dir) + 16);
    sprintf(svg, "%s/compare.svg", dir);
    printf("sweep %s: %d run%s\n", dir, s.n, s.n == 1 ? "" : "s");
    int rc = compare_dirs(dirs, s.n, svg, 0, s.quiet);
    for (int k = 0; k < s.n; k++) { free(dirs[k]); free(avs[k]); }
    free(dirs); free(avs); free(svg); free(dir);
    sweep_free(&s);
    return rc;
}
