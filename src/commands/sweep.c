/* sweep.c: `train sweep`, see sweep.h. The runs are separate processes (this program
 * re-executed through /proc/self/exe) so that each one is exactly what `train` with those
 * flags would do, with its own run directory, and a crash in one leaves the others' files
 * intact.
 *
 * With several runs at once (--jobs), each run's output (its stdout and stderr) goes to a
 * temporary file and is copied to stderr, after its command line, once it and every run
 * before it have ended: stderr reads as it would one run after another. A run that fails
 * stops the sweep as it would then: no further run starts, the runs before it finish, the
 * runs after it that were already going are killed, and their directories removed if the
 * sweep made them; the failure reported is the first in the sweep's order. */
#include "commands/sweep.h"
#include "commands/compare.h"
#include "commands/train.h"
#include "run/dist.h"
#include "run/resolve.h"
#include "run/rundir.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <omp.h>
#include <signal.h>
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
           !strcmp(name, "force") || !strcmp(name, "jobs");
}

/* Flags of the sweep that are not passed on to its runs. */
static int sweep_only(const char *name) {
    return !strcmp(name, "run") || !strcmp(name, "runs-dir") || !strcmp(name, "jobs");
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

/* Parses argv into items, taking out the sweep's own flags (--pair, --run, --runs-dir,
 * --jobs) and noting --quiet and --force, which are also passed on to every run. */
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
        if (sweep_only(it->name) && (!value || !*value))
            return errf(err, "--%s: needs a value", it->name);
        if (!strcmp(it->name, "jobs")) {
            char *end;
            long v = strtol(value, &end, 10);
            if (*end || end == value || v < 1 || v > SWEEP_MAX_RUNS)
                return errf(err, "--jobs: expected a whole number from 1 to %d, got '%s'",
                            SWEEP_MAX_RUNS, value);
            s->jobs = (int)v;
        }
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
        if (sweep_only(it->name)) continue;
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

/* "train <flags> [--threads=K] --runs-dir DIR --run NAME", NULL-terminated; the strings are
 * borrowed. threads: the value to add (NULL: none). */
static char **child_argv(const SweepRun *r, const char *threads, const char *dir) {
    char **av = xmalloc(sizeof(char *) * (size_t)(r->argc + 7));
    int n = 0;
    av[n++] = "train";
    for (int a = 0; a < r->argc; a++) av[n++] = r->argv[a];
    if (threads) av[n++] = (char *)threads;
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

/* Exit code from a wait status: the child's own, or 128 + the signal that killed it (as a
 * shell reports). */
static int exit_code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return EXIT_FAIL;
}

static int wait_child(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return EXIT_FAIL;
    return exit_code(status);
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

/* Starts a run. The runs' own result tables go to stderr (or nowhere with --quiet): the
 * sweep's stdout is its comparison table alone, ready to be piped. out >= 0: the run's
 * stdout and stderr go there instead. mask: the signal mask to restore in the run, whose
 * SIGINT and SIGTERM go back to their defaults before it (NULL: the sweep's are kept). */
static pid_t start_child(char **av, int quiet, int out, const sigset_t *mask) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) fatal(EXIT_FAIL, "sweep: fork: %s", strerror(errno));
    if (pid == 0) {
        if (mask) {
            signal(SIGINT, SIG_DFL);
            signal(SIGTERM, SIG_DFL);
            sigprocmask(SIG_SETMASK, mask, NULL);
        }
        if (out >= 0) dup2(out, 2);
        int fd = quiet ? open("/dev/null", O_WRONLY) : 2;
        if (fd >= 0) dup2(fd, 1);
        execv("/proc/self/exe", av);
        fprintf(stderr, "train: /proc/self/exe: %s\n", strerror(errno));
        _exit(EXIT_FAIL);
    }
    return pid;
}

/* Interrupting a parallel sweep. A sequential sweep leaves SIGINT and SIGTERM alone: Ctrl-C
 * reaches the run, which saves and says so, and ends the sweep. With several runs at once
 * their output is held in files only this process copies out, so it stays: on the first
 * SIGINT or SIGTERM it asks every running run to stop as a first Ctrl-C would (SIGTERM:
 * after the current step, saved; a run that got the terminal's SIGINT too is not hurried
 * by it), starts no more, copies out what the runs printed, in order, and ends by the
 * signal it got. live[k] is run k's pid while it runs (signals are blocked around each
 * start, so no run escapes the list). */
static volatile sig_atomic_t stop_sig;
static volatile sig_atomic_t *live;
static int n_live;

static void on_stop(int sig) {
    stop_sig = sig;
    for (int k = 0; k < n_live; k++)
        if (live[k] > 0) kill((pid_t)live[k], SIGTERM);
}

/* The runs' threads: --threads as given, else (several runs at once) the cores shared out
 * equally. Returns the number of runs at once: --jobs, else as many as keep every core busy
 * (cores / threads of the busiest run), never more than the runs. *threads is the flag to
 * add to every run, or "" for none. */
static int plan_jobs(const Sweep *s, int cores, char *threads, size_t len) {
    int given = 0, most = 1;
    for (int k = 0; k < s->n; k++)
        for (int a = 0; a < s->runs[k].argc; a++) {
            const char *arg = s->runs[k].argv[a];
            if (strncmp(arg, "--threads", 9) != 0 || (arg[9] && arg[9] != '=')) continue;
            given = 1;
            long v = arg[9] ? strtol(arg + 10, NULL, 10) : 0;
            int t = v <= 0 || v > cores ? cores : (int)v;
            if (t > most) most = t;
        }
    int jobs = s->jobs > 0 ? s->jobs : cores / most;
    if (jobs > s->n) jobs = s->n;
    if (jobs < 1) jobs = 1;
    threads[0] = 0;
    if (!given && jobs > 1)
        snprintf(threads, len, "--threads=%d", cores / jobs > 1 ? cores / jobs : 1);
    return jobs;
}

typedef struct {
    pid_t pid;      /* 0: not started or reaped */
    FILE *out;      /* its output, until copied to stderr (several runs at once) */
    int rc;         /* exit code, -1 while running or not started */
    int new_dir;    /* its directory did not exist when it started */
} Slot;

static void print_command(const char *dir, int k, int n, const char *name, char **av) {
    fprintf(stderr, "sweep %s: run %d/%d: %s\n  train", dir, k + 1, n, name);
    for (int a = 1; av[a]; a++) fprintf(stderr, " %s", av[a]);
    fputc('\n', stderr);
}

static void copy_out(FILE *f) {
    char buf[8192];
    size_t n;
    rewind(f);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stderr);
    fflush(stderr);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Waits for one started run to end; returns its index. */
static int reap_one(Slot *slots, int n) {
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            fatal(EXIT_FAIL, "sweep: waitpid: %s", strerror(errno));
        }
        for (int k = 0; k < n; k++)
            if (slots[k].pid == pid) {
                slots[k].pid = 0;
                if (live) live[k] = 0;
                slots[k].rc = exit_code(status);
                return k;
            }
    }
}

/* Starts run k: its command line first when its output is not held. */
static void launch(const Sweep *s, const char *dir, char **av, const char *run_dir, Slot *sl,
                   int k, int hold, const sigset_t *mask) {
    if (hold) {
        sl->out = tmpfile();
        if (!sl->out) fatal(EXIT_FAIL, "sweep: temporary file: %s", strerror(errno));
    } else if (!s->quiet) {
        print_command(dir, k, s->n, s->runs[k].name, av);
    }
    sl->new_dir = !is_dir(run_dir);
    sl->pid = start_child(av, s->quiet, sl->out ? fileno(sl->out) : -1, mask);
    if (live) live[k] = sl->pid;
}

/* Runs every run, at most jobs at once; returns the index of the first run (in the sweep's
 * order) that failed, with its exit code in *rc, or -1. */
static int run_all(const Sweep *s, const char *dir, char ***avs, char **dirs, int jobs, int *rc) {
    Slot *slots = xcalloc((size_t)s->n, sizeof *slots);
    int next = 0, running = 0, shown = 0, failed = -1;
    sigset_t stops, old;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    if (jobs > 1) {
        live = xcalloc((size_t)s->n, sizeof *live);
        n_live = s->n;
        catch_stop_signals(on_stop);
    }
    for (int k = 0; k < s->n; k++) slots[k].rc = -1;
    while (running > 0 || (failed < 0 && !stop_sig && next < s->n)) {
        while (failed < 0 && next < s->n && running < jobs) {
            if (jobs > 1) sigprocmask(SIG_BLOCK, &stops, &old);
            int go = !stop_sig;
            if (go) launch(s, dir, avs[next], dirs[next], &slots[next], next, jobs > 1,
                           jobs > 1 ? &old : NULL);
            if (jobs > 1) sigprocmask(SIG_SETMASK, &old, NULL);
            if (!go) break;
            next++, running++;
        }
        if (running == 0) break;
        int k = reap_one(slots, s->n);
        running--;
        if (!stop_sig && slots[k].rc != 0 && (failed < 0 || k < failed)) {
            failed = k;
            /* the runs after it would not have started: stop them and take away what they
             * made (a directory that was there before stays) */
            for (int j = k + 1; j < s->n; j++)
                if (slots[j].pid > 0) kill(slots[j].pid, SIGKILL);
        }
        for (; shown < s->n && slots[shown].rc >= 0 && (failed < 0 || shown <= failed); shown++) {
            if (!slots[shown].out) continue;
            if (!s->quiet)
                print_command(dir, shown, s->n, s->runs[shown].name, avs[shown]);
            copy_out(slots[shown].out);
        }
    }
    *rc = failed >= 0 ? slots[failed].rc : 0;
    for (int k = 0; k < s->n; k++) {
        if (failed >= 0 && k > failed && slots[k].rc > 0 && slots[k].new_dir)
            nftw(dirs[k], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        if (slots[k].out) fclose(slots[k].out);
    }
    free(slots);
    if (jobs > 1) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        n_live = 0;
        free((void *)live);
        live = NULL;
    }
    if (stop_sig) raise(stop_sig);
    return failed;
}

/* Under mpirun: run k on rank k mod N, one run per rank at a time (dist.h). Returns the
 * first run (in the sweep's order) that failed, with its exit code in *rc, or -1. */
static int run_on_ranks(const Sweep *s, const char *dir, char ***avs, int *rc) {
    dist_sweep_begin();
    for (int k = 0; k < s->n; k++) {
        if (dist_sweep_owns(k) && !s->quiet) print_command(dir, k, s->n, s->runs[k].name, avs[k]);
        *rc = dist_sweep_owns(k) ? wait_child(start_child(avs[k], s->quiet, -1, NULL)) : 0;
        int failed = dist_sweep_agree(k, s->n, rc);
        if (failed >= 0) return failed;
    }
    return -1;
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

    char threads[32];
    int jobs = plan_jobs(&s, omp_get_num_procs(), threads, sizeof threads);
    if (dist_size() > 1) {   /* under mpirun each rank runs its runs one at a time */
        if (s.jobs > 1)
            fatal(EXIT_USAGE, "sweep: --jobs: under mpirun the runs are dealt out to the ranks, "
                  "one run per rank at a time");
        threads[0] = 0;
    }
    char ***avs = xmalloc(sizeof(char **) * (size_t)s.n);
    char **dirs = xmalloc(sizeof(char *) * (size_t)s.n);
    for (int k = 0; k < s.n; k++) {
        avs[k] = child_argv(&s.runs[k], threads[0] ? threads : NULL, dir);
        if (check_flags(avs[k]) != 0)
            fatal(EXIT_USAGE, "sweep: run %s: invalid flags (above); nothing was run", s.runs[k].name);
        dirs[k] = xmalloc(strlen(dir) + strlen(s.runs[k].name) + 2);
        sprintf(dirs[k], "%s/%s", dir, s.runs[k].name);
    }
    int rc = 0, failed = dist_size() > 1 ? run_on_ranks(&s, dir, avs, &rc)
                                         : run_all(&s, dir, avs, dirs, jobs, &rc);
    if (failed >= 0) {
        warn("sweep: run %s failed (exit code %d); stopping the sweep", s.runs[failed].name, rc);
        exit(rc);
    }
    char *svg = xmalloc(strlen(dir) + 16);
    sprintf(svg, "%s/compare.svg", dir);
    printf("sweep %s: %d run%s\n", dir, s.n, s.n == 1 ? "" : "s");
    rc = dist_is_root() ? compare_dirs(dirs, s.n, svg, 0, s.quiet) : 0;
    for (int k = 0; k < s.n; k++) { free(dirs[k]); free(avs[k]); }
    free(dirs); free(avs); free(svg); free(dir);
    sweep_free(&s);
    return rc;
}
