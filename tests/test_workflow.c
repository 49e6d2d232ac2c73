/* The experiment workflow: sweep expansion (product, zip, --milestones alternatives, errors),
 * `train compare` against the runs' own summary.json, compare.svg's structure, `train sweep`
 * end to end, `train sweep --jobs` against a sequential sweep, and `train inspect` against
 * statistics recomputed here. The command-line tests run ./train (built by `make test`
 * before the tests); files go to tests/tmp/workflow/. */
#include "test.h"
#include "formats/json.h"
#include "formats/safetensors.h"
#include "commands/sweep.h"
#include "util/util.h"

#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define TMP "tests/tmp/workflow"
/* tiny runs: a few hundred examples, a 784-32-10 model, one thread */
#define TINY "--quiet --subset 512 --val 128 --model 784-32-10 --threads 1"

static char err[ERR_LEN];

/* ---------------------------------------------------------------- helpers */

/* Runs a shell command; returns its exit code (-1 if it did not exit normally). */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path) {
    char *s = read_file(path, NULL, err);
    if (!s) fprintf(stderr, "  cannot read %s: %s\n", path, err);
    return s;
}

/* Counts the non-overlapping occurrences of needle. */
static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static Sweep expand(int argc, const char **argv, int *rc) {
    Sweep s;
    *rc = sweep_expand(argc, (char **)argv, &s, err);
    return s;
}
#define EXPAND(rc, ...) expand(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *), \
                               (const char *[]){__VA_ARGS__}, &(rc))

/* The runs' argv joined by spaces, for comparing a whole command line at once. */
static const char *joined(const SweepRun *r) {
    static char buf[1024];
    buf[0] = 0;
    for (int a = 0; a < r->argc; a++) {
        if (a) strcat(buf, " ");
        strcat(buf, r->argv[a]);
    }
    return buf;
}

/* ---------------------------------------------------------------- sweep expansion */

static void test_sweep_product(void) {
    int rc;
    Sweep s = EXPAND(rc, "--opt", "sgd,adamw", "--lr", "0.05,1e-3", "--steps", "10");
    CHECK(rc == 0);
    CHECK(s.n == 4);
    if (s.n != 4) return;
    /* the first flag varies slowest; fixed flags keep their place; names hold only what varies */
    CHECK_STR(s.runs[0].name, "opt-sgd_lr-0.05");
    CHECK_STR(s.runs[1].name, "opt-sgd_lr-1e-3");
    CHECK_STR(s.runs[2].name, "opt-adamw_lr-0.05");
    CHECK_STR(s.runs[3].name, "opt-adamw_lr-1e-3");
    CHECK_STR(joined(&s.runs[0]), "--opt=sgd --lr=0.05 --steps=10");
    CHECK_STR(joined(&s.runs[3]), "--opt=adamw --lr=1e-3 --steps=10");
    CHECK(s.pair == 0);
    CHECK_STR(s.runs_dir, "runs");
    CHECK_STR(s.name, "");
    sweep_free(&s);

    /* three lists: 2 x 3 x 2 = 12, last varying fastest; --name=value spelling too */
    s = EXPAND(rc, "--seed=1,2", "--batch", "16,32,64", "--act", "relu,tanh");
    CHECK(rc == 0);
    CHECK(s.n == 12);
    if (s.n == 12) {
        CHECK_STR(s.runs[0].name, "seed-1_batch-16_act-relu");
        CHECK_STR(s.runs[1].name, "seed-1_batch-16_act-tanh");
        CHECK_STR(s.runs[2].name, "seed-1_batch-32_act-relu");
        CHECK_STR(s.runs[6].name, "seed-2_batch-16_act-relu");
        CHECK_STR(s.runs[11].name, "seed-2_batch-64_act-tanh");
    }
    sweep_free(&s);

    /* nothing varies: one run, named "run" */
    s = EXPAND(rc, "--lr", "0.1");
    CHECK(rc == 0 && s.n == 1);
    if (s.n == 1) CHECK_STR(s.runs[0].name, "run");
    sweep_free(&s);
}

static void test_sweep_zip(void) {
    int rc;
    Sweep s = EXPAND(rc, "--pair", "--opt", "sgd,adamw,lion", "--lr", "0.1,1e-3,1e-4", "--seed", "7");
    CHECK(rc == 0);
    CHECK(s.pair == 1);
    CHECK(s.n == 3);
    if (s.n == 3) {
        CHECK_STR(s.runs[0].name, "opt-sgd_lr-0.1");
        CHECK_STR(s.runs[1].name, "opt-adamw_lr-1e-3");
        CHECK_STR(s.runs[2].name, "opt-lion_lr-1e-4");
        CHECK_STR(joined(&s.runs[2]), "--opt=lion --lr=1e-4 --seed=7");   /* --pair is the sweep's */
    }
    sweep_free(&s);

    /* unequal lengths are refused, naming both flags */
    s = EXPAND(rc, "--opt", "sgd,adamw", "--pair", "--lr", "1,2,3");
    CHECK(rc == -1);
    CHECK_CONTAINS(err, "--pair");
    CHECK_CONTAINS(err, "--lr has 3");
    CHECK_CONTAINS(err, "--opt has 2");
    /* without --pair the same lists are a 2 x 3 product */
    s = EXPAND(rc, "--opt", "sgd,adamw", "--lr", "1,2,3");
    CHECK(rc == 0 && s.n == 6);
    sweep_free(&s);
}

static void test_sweep_milestones(void) {
    int rc;
    /* commas stay inside an alternative; ';' and '/' separate alternatives */
    Sweep s = EXPAND(rc, "--schedule", "multistep", "--milestones", "100,200/300,400;500", "--lr", "0.1,0.2");
    CHECK(rc == 0);
    CHECK(s.n == 6);
    if (s.n == 6) {
        CHECK_STR(joined(&s.runs[0]), "--schedule=multistep --milestones=100,200 --lr=0.1");
        CHECK_STR(s.runs[0].name, "milestones-100+200_lr-0.1");
        CHECK_STR(joined(&s.runs[3]), "--schedule=multistep --milestones=300,400 --lr=0.2");
        CHECK_STR(s.runs[5].name, "milestones-500_lr-0.2");
    }
    sweep_free(&s);
    /* one comma list is one alternative */
    s = EXPAND(rc, "--milestones=10,20,30");
    CHECK(rc == 0 && s.n == 1);
    if (s.n == 1) CHECK_STR(joined(&s.runs[0]), "--milestones=10,20,30");
    sweep_free(&s);
    s = EXPAND(rc, "--milestones", "10,20//30");
    CHECK(rc == -1);
    CHECK_CONTAINS(err, "--milestones: empty value");
}

static void test_sweep_flags_and_errors(void) {
    int rc;
    /* --run and --runs-dir name the sweep and are not passed on; --quiet and --force are;
     * a bare switch stays bare, a switch with a list gets =value */
    Sweep s = EXPAND(rc, "--run", "grid", "--runs-dir", TMP, "--quiet", "--force", "--nesterov",
                     "--cycle-momentum", "on,off");
    CHECK(rc == 0);
    CHECK_STR(s.name, "grid");
    CHECK_STR(s.runs_dir, TMP);
    CHECK(s.quiet == 1 && s.force == 1);
    CHECK(s.n == 2);
    if (s.n == 2) {
        CHECK_STR(joined(&s.runs[0]), "--quiet --force --nesterov --cycle-momentum=on");
        CHECK_STR(s.runs[1].name, "cycle-momentum-off");
    }
    sweep_free(&s);

    /* characters that cannot go into a directory name are replaced */
    s = EXPAND(rc, "--data", "data/mnist,mnist");
    CHECK(rc == 0 && s.n == 2);
    if (s.n == 2) CHECK_STR(s.runs[0].name, "data-data+mnist");
    sweep_free(&s);

    s = EXPAND(rc, "--lr", "0.1,,0.2");
    CHECK(rc == -1); CHECK_CONTAINS(err, "--lr: empty value");
    s = EXPAND(rc, "--lr", "0.1", "--lr", "0.2");
    CHECK(rc == -1); CHECK_CONTAINS(err, "given twice");
    s = EXPAND(rc, "--run", "a,b");
    CHECK(rc == -1); CHECK_CONTAINS(err, "--run");
    s = EXPAND(rc, "--resume", "runs/x");
    CHECK(rc == -1); CHECK_CONTAINS(err, "--resume");
    s = EXPAND(rc, "--lr", "0.1", "stray");
    CHECK(rc == -1); CHECK_CONTAINS(err, "stray: unexpected argument");
    s = EXPAND(rc, "--lr", "0.1,0.1");
    CHECK(rc == -1); CHECK_CONTAINS(err, "both be named");
    s = EXPAND(rc, "--seed", "1,2,3,4,5,6,7,8,9,10,11", "--lr", "1,2,3,4,5,6,7,8,9,10", "--batch", "1,2,3,4,5,6,7,8,9,10");
    CHECK(rc == -1); CHECK_CONTAINS(err, "more than");
}

/* ---------------------------------------------------------------- compare */

/* Two finished runs (a: adamw, b: sgd) and an unfinished one, made once for the tests below. */
static int make_runs(void) {
    static int made = -1;
    if (made >= 0) return made;
    sh("rm -rf " TMP " && mkdir -p " TMP "/unfinished");
    made = sh("./train " TINY " --runs-dir " TMP " --force --run a --steps 30 >/dev/null") == 0 &&
           sh("./train " TINY " --runs-dir " TMP " --force --run b --steps 30 --opt sgd --lr 0.05 >/dev/null") == 0;
    if (!made) fprintf(stderr, "  could not train the test runs (is ./train built?)\n");
    return made;
}

static int load_json_file(const char *path, Json *j) {
    char *text = slurp(path);
    if (!text) return -1;
    int rc = json_parse(text, strlen(text), j, err);
    free(text);
    return rc;
}

static double num(const Json *j, const char *key) {
    const Json *v = json_get(j, key);
    return v && v->type == JSON_NUMBER ? v->number : NAN;
}

/* Splits a CSV line (no quoting needed here) into at most max fields, in place. */
static int fields(char *line, char **f, int max) {
    int n = 0;
    for (char *p = line; n < max;) {
        f[n++] = p;
        p = strchr(p, ',');
        if (!p) break;
        *p++ = 0;
    }
    return n;
}

static void test_compare_matches_summary(void) {
    if (!make_runs()) { CHECK(0); return; }
    int rc = sh("./train compare " TMP "/a " TMP "/b/ " TMP "/unfinished --csv --out " TMP "/compare.svg "
                ">" TMP "/compare.csv 2>" TMP "/compare.err");
    CHECK(rc == 0);
    char *errs = slurp(TMP "/compare.err");
    CHECK_CONTAINS(errs, "train: " TMP "/unfinished: no summary.json (run not finished?)");
    free(errs);
    char *csv = slurp(TMP "/compare.csv");
    if (!csv) { CHECK(0); return; }
    char *save = NULL, *line = strtok_r(csv, "\n", &save);
    CHECK_STR(line, "run,opt,lr,schedule,batch,steps,train_loss,train_acc,val_acc,test_acc,gap_acc,gap_loss,"
                    "best_step,wall_s");
    const char *names[2] = {"a", "b"};
    int rows = 0;
    for (line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save), rows++) {
        char *f[20];
        CHECK(fields(line, f, 20) == 14);
        if (rows >= 2) continue;
        CHECK_STR(f[0], names[rows]);
        char path[256];
        Json sum, cfg;
        snprintf(path, sizeof path, TMP "/%s/summary.json", names[rows]);
        if (load_json_file(path, &sum) != 0) { CHECK(0); continue; }
        snprintf(path, sizeof path, TMP "/%s/config.json", names[rows]);
        if (load_json_file(path, &cfg) != 0) { CHECK(0); json_free(&sum); continue; }
        /* the CSV prints 9 significant digits */
        double tol = 1e-8;
        CHECK_STR(f[1], json_get(&cfg, "opt")->string);
        CHECK_CLOSE(atof(f[2]), num(&cfg, "lr"), tol);
        CHECK_STR(f[3], json_get(&cfg, "schedule")->string);
        CHECK_CLOSE(atof(f[4]), num(&cfg, "batch"), tol);
        CHECK_CLOSE(atof(f[5]), num(&sum, "steps"), tol);
        CHECK_CLOSE(atof(f[6]), num(&sum, "train_loss"), tol);
        CHECK_CLOSE(atof(f[7]), 100 * num(&sum, "train_acc"), tol);
        CHECK_CLOSE(atof(f[8]), 100 * num(&sum, "val_acc"), tol);
        CHECK_CLOSE(atof(f[9]), 100 * num(&sum, "test_acc"), tol);
        CHECK_CLOSE(atof(f[10]), 100 * (num(&sum, "train_acc") - num(&sum, "test_acc")), tol);
        CHECK_CLOSE(atof(f[11]), num(&sum, "test_loss") - num(&sum, "train_loss"), tol);
        CHECK_CLOSE(atof(f[12]), num(&sum, "best_step"), tol);
        CHECK_CLOSE(atof(f[13]), num(&sum, "wall_seconds"), tol);
        json_free(&sum);
        json_free(&cfg);
    }
    CHECK(rows == 2);
    free(csv);

    /* the text table: a header, one row per run in the order given, rounded figures */
    rc = sh("./train compare " TMP "/b " TMP "/a --out " TMP "/compare2.svg >" TMP "/compare.txt 2>/dev/null");
    CHECK(rc == 0);
    char *txt = slurp(TMP "/compare.txt");
    CHECK(txt && !strncmp(txt, "run  opt ", 9));
    CHECK(txt && strstr(txt, "\nb    sgd ") && strstr(txt, "\na    adamw ") &&
          strstr(txt, "\nb    sgd ") < strstr(txt, "\na    adamw "));
    CHECK_CONTAINS(txt, "gap_acc = train_acc - test_acc");
    free(txt);
}

static void test_compare_errors(void) {
    if (!make_runs()) { CHECK(0); return; }
    CHECK(sh("./train compare 2>/dev/null") == 2);
    CHECK(sh("./train compare --bogus " TMP "/a 2>/dev/null") == 2);
    CHECK(sh("./train compare " TMP "/a --out 2>/dev/null") == 2);
    /* nothing usable: exit 1 */
    CHECK(sh("./train compare " TMP "/unfinished " TMP "/missing 2>" TMP "/e.txt >/dev/null") == 1);
    char *e = slurp(TMP "/e.txt");
    CHECK_CONTAINS(e, "train: " TMP "/missing: not a run directory");
    free(e);
    /* a malformed summary.json is reported with its path, the other run still compared */
    sh("mkdir -p " TMP "/bad && cp " TMP "/a/config.json " TMP "/a/log.csv " TMP "/bad/ && "
       "echo '{\"steps\": ' > " TMP "/bad/summary.json");
    CHECK(sh("./train compare " TMP "/bad " TMP "/a --out " TMP "/c3.svg 2>" TMP "/e.txt >/dev/null") == 0);
    e = slurp(TMP "/e.txt");
    CHECK_CONTAINS(e, "train: " TMP "/bad/summary.json: ");
    free(e);
}

/* A minimal well-formedness check: every element closed in order, nothing after the root. */
static int xml_balanced(const char *s) {
    const char *stack[64];
    size_t lens[64];
    int depth = 0, roots = 0;
    for (const char *p = strchr(s, '<'); p; p = strchr(p, '<')) {
        const char *end = strchr(p, '>');
        if (!end) return 0;
        if (p[1] == '?') { p = end; continue; }
        if (p[1] == '/') {
            size_t n = strcspn(p + 2, " >");
            if (depth == 0 || lens[depth - 1] != n || strncmp(stack[depth - 1], p + 2, n)) return 0;
            depth--;
        } else if (end[-1] != '/') {
            if (depth == 0) roots++;
            if (depth == 64) return 0;
            stack[depth] = p + 1;
            lens[depth++] = strcspn(p + 1, " />");
        }
        p = end;
    }
    return depth == 0 && roots == 1;
}

static void test_compare_svg(void) {
    if (!make_runs()) { CHECK(0); return; }
    char *svg = slurp(TMP "/compare.svg");   /* written by test_compare_matches_summary */
    if (!svg) { CHECK(0); return; }
    CHECK(!strncmp(svg, "<?xml", 5));
    CHECK_CONTAINS(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"");
    CHECK(xml_balanced(svg));
    /* four panels (training loss, validation loss, training accuracy, validation accuracy),
     * one series per run in each */
    CHECK(count(svg, "<path class=\"series\"") == 4 * 2);
    CHECK(count(svg, "<title>a</title>") == 4);
    CHECK(count(svg, "<title>b</title>") == 4);
    CHECK_CONTAINS(svg, "validation accuracy");
    free(svg);
    if (sh("command -v xmllint >/dev/null 2>&1") == 0)
        CHECK(sh("xmllint --noout " TMP "/compare.svg") == 0);
}

/* ---------------------------------------------------------------- sweep end to end */

static void test_sweep_end_to_end(void) {
    if (!make_runs()) { CHECK(0); return; }
    int rc = sh("./train sweep --quiet --runs-dir " TMP " --run grid --opt sgd,adamw --lr 0.05,0.001 "
                "--subset 256 --val 64 --steps 10 --model 784-16-10 --threads 1 >" TMP "/sweep.txt 2>" TMP "/sweep.err");
    CHECK(rc == 0);
    const char *names[4] = {"opt-sgd_lr-0.05", "opt-sgd_lr-0.001", "opt-adamw_lr-0.05", "opt-adamw_lr-0.001"};
    char *out = slurp(TMP "/sweep.txt");
    CHECK_CONTAINS(out, "sweep " TMP "/grid: 4 runs\nrun ");
    const char *prev = out;
    for (int k = 0; k < 4; k++) {
        char path[256], row[64];
        snprintf(path, sizeof path, TMP "/grid/%s/summary.json", names[k]);
        CHECK(is_file(path));
        snprintf(path, sizeof path, TMP "/grid/%s/config.json", names[k]);
        char *cfg = slurp(path);
        CHECK_CONTAINS(cfg, "\"steps\": 10,");
        CHECK_CONTAINS(cfg, k < 2 ? "\"opt\": \"sgd\"" : "\"opt\": \"adamw\"");
        free(cfg);
        /* the table's rows come in the sweep's order */
        snprintf(row, sizeof row, "\n%s ", names[k]);
        const char *at = out ? strstr(out, row) : NULL;
        CHECK(at && at > prev);
        if (at) prev = at;
    }
    free(out);
    char *svg = slurp(TMP "/grid/compare.svg");
    CHECK(svg && xml_balanced(svg) && count(svg, "<path class=\"series\"") == 4 * 4);
    free(svg);
    char *errs = slurp(TMP "/sweep.err");
    CHECK(errs && errs[0] == 0);   /* --quiet: nothing on stderr */
    free(errs);

    /* the sweep directory exists now: refused without --force */
    CHECK(sh("./train sweep --quiet --runs-dir " TMP " --run grid --lr 0.1 --steps 1 2>/dev/null") == 2);
    /* a combination train refuses stops the sweep before anything runs */
    CHECK(sh("./train sweep --quiet --runs-dir " TMP " --run refused --opt sgd,adamw --beta1 0.8 --steps 1 "
             "2>" TMP "/e.txt") == 2);
    char *e = slurp(TMP "/e.txt");
    CHECK_CONTAINS(e, "--beta1: not used by --opt sgd");
    CHECK_CONTAINS(e, "sweep: run opt-sgd: invalid flags");
    free(e);
    CHECK(!is_dir(TMP "/refused"));
    /* a run that fails stops the sweep with its exit code, naming it; later runs are not made */
    CHECK(sh("./train sweep " TINY " --runs-dir " TMP " --run fail --steps 5 --data " TMP "/nodata,mnist "
             "2>" TMP "/e.txt >/dev/null") == 1);
    e = slurp(TMP "/e.txt");
    CHECK_CONTAINS(e, "sweep: run data-tests+tmp+workflow+nodata failed (exit code 1)");
    free(e);
    CHECK(!is_dir(TMP "/fail/data-mnist"));
}

/* ---------------------------------------------------------------- sweep --jobs */

/* The largest |difference| between the tensors of two checkpoints (INFINITY when their
 * names or shapes differ or one cannot be read). */
static double max_weight_diff(const char *a, const char *b) {
    StFile fa, fb;
    if (st_read(a, &fa, err) != 0) { fprintf(stderr, "  %s\n", err); return INFINITY; }
    if (st_read(b, &fb, err) != 0) {
        fprintf(stderr, "  %s\n", err);
        st_free(&fa);
        return INFINITY;
    }
    double worst = fa.n_tensors == fb.n_tensors && fa.n_tensors > 0 ? 0 : INFINITY;
    for (int i = 0; i < fa.n_tensors && worst < INFINITY; i++) {
        const StTensor *x = &fa.tensors[i], *y = &fb.tensors[i];
        long n = 1;
        if (strcmp(x->name, y->name) != 0 || x->ndim != y->ndim) { worst = INFINITY; break; }
        for (int d = 0; d < x->ndim; d++) {
            if (x->shape[d] != y->shape[d]) worst = INFINITY;
            n *= x->shape[d];
        }
        for (long k = 0; k < n && worst < INFINITY; k++) {
            double d = fabs((double)x->data[k] - y->data[k]);
            if (d > worst || d != d) worst = d != d ? INFINITY : d;
        }
    }
    st_free(&fa);
    st_free(&fb);
    return worst;
}

/* Blanks the last field of every line but the footnote "(...)": the comparison table
 * without its wall_s column, for comparing sweeps. */
static void drop_last_column(char *table) {
    for (char *line = table; *line;) {
        char *end = strchrnul(line, '\n'), *cut = end;
        while (cut > line && cut[-1] == ' ') cut--;
        while (cut > line && cut[-1] != ' ') cut--;
        if (*line != '(') memset(cut, ' ', (size_t)(end - cut));
        line = *end ? end + 1 : end;
    }
}

/* --jobs 2 gives the runs of --jobs 1 bit for bit (checkpoints equal to the last weight and
 * optimizer moment), the same table in the same order, and stderr in the sweep's order. */
static void test_sweep_jobs_same_results(void) {
    const char *flags = "--opt sgd,adamw --lr 0.05,0.001 --subset 512 --val 128 --steps 40 "
                        "--model 784-32-10 --seed 3";
    sh("rm -rf " TMP "/jobs && mkdir -p " TMP "/jobs");
    CHECK(sh("./train sweep --quiet --runs-dir " TMP "/jobs --run one --jobs 1 %s >" TMP
             "/jobs/one.txt", flags) == 0);
    CHECK(sh("./train sweep --runs-dir " TMP "/jobs --run two --jobs 2 %s >" TMP
             "/jobs/two.txt 2>" TMP "/jobs/two.err", flags) == 0);
    const char *names[4] = {"opt-sgd_lr-0.05", "opt-sgd_lr-0.001", "opt-adamw_lr-0.05",
                            "opt-adamw_lr-0.001"};
    for (int k = 0; k < 4; k++) {
        char a[256], b[256];
        snprintf(a, sizeof a, TMP "/jobs/one/%s/last.safetensors", names[k]);
        snprintf(b, sizeof b, TMP "/jobs/two/%s/last.safetensors", names[k]);
        double d = max_weight_diff(a, b);
        if (d != 0) fprintf(stderr, "  %s: max weight difference %g\n", names[k], d);
        CHECK(d == 0);
    }
    char *one = slurp(TMP "/jobs/one.txt"), *two = slurp(TMP "/jobs/two.txt");
    CHECK(one && two);
    if (one && two) {
        drop_last_column(one);
        drop_last_column(two);
        char *t1 = strstr(one, "\nrun "), *t2 = strstr(two, "\nrun ");
        CHECK(t1 && t2 && strcmp(t1, t2) == 0);
    }
    /* stderr: each run's command line, then its own output, in the sweep's order; with two
     * runs at once on a machine of C cores, each run got C / 2 threads */
    char *e = slurp(TMP "/jobs/two.err");
    const char *prev = e;
    for (int k = 0; k < 4 && e; k++) {
        char head[128], tail[128];
        snprintf(head, sizeof head, "run %d/4: %s\n  train ", k + 1, names[k]);
        snprintf(tail, sizeof tail, "run " TMP "/jobs/two/%s: 40 steps", names[k]);
        const char *h = strstr(e, head), *t = strstr(e, tail);
        CHECK(h && t && h > prev && t > h);
        if (t) prev = t;
    }
    char want[32];
    int share = omp_get_num_procs() / 2;
    snprintf(want, sizeof want, "--threads=%d ", share > 1 ? share : 1);
    CHECK_CONTAINS(e, want);
    free(one), free(two), free(e);
}

/* A run that fails stops a parallel sweep as it stops a sequential one: the exit code and
 * the message name it, and a later run that was already going is stopped and leaves no
 * directory. --jobs takes one whole number of at least 1. */
static void test_sweep_jobs_failure_and_errors(void) {
    CHECK(sh("./train sweep --quiet --runs-dir " TMP "/jobs --run diverge --jobs 2 --opt sgd "
             "--lr 1e30,0.01 --subset 512 --val 128 --model 784-32-10 --steps 20000 --threads 1 "
             ">/dev/null 2>" TMP "/jobs/diverge.err") == 1);
    char *e = slurp(TMP "/jobs/diverge.err");
    CHECK_CONTAINS(e, "sweep: run lr-1e30 failed (exit code 1); stopping the sweep");
    free(e);
    CHECK(!is_dir(TMP "/jobs/diverge/lr-0.01"));
    int rc;
    Sweep s = EXPAND(rc, "--jobs", "3", "--lr", "0.1,0.2");
    CHECK(rc == 0 && s.jobs == 3 && s.n == 2);
    if (s.n == 2) CHECK_STR(joined(&s.runs[0]), "--lr=0.1");   /* not passed on */
    sweep_free(&s);
    s = EXPAND(rc, "--jobs", "0", "--lr", "0.1");
    CHECK(rc == -1); CHECK_CONTAINS(err, "--jobs: expected a whole number from 1 to 1000, got '0'");
    s = EXPAND(rc, "--jobs", "2x");
    CHECK(rc == -1); CHECK_CONTAINS(err, "--jobs: expected a whole number");
    s = EXPAND(rc, "--jobs", "1,2");
    CHECK(rc == -1); CHECK_CONTAINS(err, "--jobs: describes the whole sweep");
    s = EXPAND(rc, "--lr", "0.1", "--jobs");
    CHECK(rc == -1); CHECK_CONTAINS(err, "--jobs: needs a value");
    CHECK(sh("./train sweep --jobs -1 --lr 0.1 2>/dev/null") == 2);
}

/* Lines in a file (0 if it cannot be read). */
static int lines_in(const char *path) {
    char *s = read_file(path, NULL, err);
    int n = s ? count(s, "\n") : 0;
    free(s);
    return n;
}

/* SIGINT to a parallel sweep: each running run stops after its step and saves, as a run
 * does on Ctrl-C, no further run starts, what the runs printed comes out in order (their
 * "interrupted ... continue with" lines included) and the sweep ends by the signal. */
static void test_sweep_jobs_interrupt(void) {
    sh("rm -rf " TMP "/jobs/int");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        freopen(TMP "/jobs/int.err", "w", stderr);
        freopen("/dev/null", "w", stdout);
        execl("./train", "train", "sweep", "--runs-dir", TMP "/jobs", "--run", "int", "--jobs", "2",
              "--subset", "512", "--val", "128", "--model", "784-32-10", "--steps", "1000000",
              "--lr", "0.01,0.02,0.03", (char *)NULL);
        _exit(127);
    }
    /* both runs are past their first logged steps, so train's signal handlers are in place */
    for (int i = 0; i < 400; i++) {
        if (lines_in(TMP "/jobs/int/lr-0.01/log.csv") >= 2 &&
            lines_in(TMP "/jobs/int/lr-0.02/log.csv") >= 2)
            break;
        usleep(50000);
    }
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT);
    char *e = slurp(TMP "/jobs/int.err");
    const char *r1 = e ? strstr(e, "run 1/3: lr-0.01") : NULL;
    const char *r2 = e ? strstr(e, "run 2/3: lr-0.02") : NULL;
    CHECK(r1 && r2 && r1 < r2);
    CHECK(count(e, "train: interrupted at step") == 2);
    CHECK_CONTAINS(e, "continue with: ./train --resume " TMP "/jobs/int/lr-0.02");
    free(e);
    char *summary = slurp(TMP "/jobs/int/lr-0.01/summary.json");
    CHECK_CONTAINS(summary, "\"stopped\": \"interrupted\"");
    free(summary);
    CHECK(!is_dir(TMP "/jobs/int/lr-0.03"));
}

/* ---------------------------------------------------------------- inspect */

static void test_inspect(void) {
    if (!make_runs()) { CHECK(0); return; }
    CHECK(sh("./train inspect " TMP "/a >" TMP "/inspect.txt") == 0);
    char *out = slurp(TMP "/inspect.txt");
    StFile f;
    if (!out || st_read(TMP "/a/last.safetensors", &f, err) != 0) { CHECK(0); free(out); return; }
    CHECK(f.n_tensors == 4 + 8);   /* the model, then AdamW's exp_avg and exp_avg_sq of each */
    CHECK_CONTAINS(out, "checkpoint " TMP "/a/last.safetensors: 4 tensors, 25450 parameters, "
                        "8 optimizer state tensors\n");
    CHECK_CONTAINS(out, "\noptimizer.2.bias.exp_avg_sq ");
    const char *shapes[] = {"[32, 784]", "[32]", "[10, 32]", "[10]"};
    for (int i = 0; i < f.n_tensors && i < 4; i++) {
        const StTensor *t = &f.tensors[i];
        char key[64];
        snprintf(key, sizeof key, "\n%s ", t->name);
        const char *line = strstr(out, key);
        CHECK(line != NULL);
        if (!line) continue;
        char name[64], shape[64], rest[256];
        long n;
        double mean, sd;
        /* "name  [a, b]  n  mean  std ...": the shape has a space inside its brackets */
        const char *close = strchr(line, ']');
        CHECK(sscanf(line + 1, "%63s", name) == 1);
        snprintf(shape, sizeof shape, "%.*s", (int)(close - strchr(line, '[') + 1), strchr(line, '['));
        CHECK_STR(shape, shapes[i]);
        CHECK(sscanf(close + 1, "%ld %lf %lf %255s", &n, &mean, &sd, rest) == 4);
        long expect_n = t->ndim == 2 ? (long)(t->shape[0] * t->shape[1]) : (long)t->shape[0];
        CHECK(n == expect_n);
        /* recomputed here, independently of inspect.c: population mean and std */
        double sum = 0, dev = 0;
        for (long k = 0; k < expect_n; k++) sum += t->data[k];
        double m = sum / expect_n;
        for (long k = 0; k < expect_n; k++) dev += (t->data[k] - m) * (t->data[k] - m);
        /* printed with 6 significant digits */
        CHECK_NEAR(mean, m, 1e-5 * fabs(m) + 1e-12);
        CHECK_NEAR(sd, sqrt(dev / expect_n), 1e-5 * sqrt(dev / expect_n));
    }
    st_free(&f);
    CHECK_CONTAINS(out, "\nstep       30\n");
    CHECK_CONTAINS(out, "\noptimizer  adamw\n");
    CHECK_CONTAINS(out, "\nconfig     model 784-32-10, opt adamw, lr 0.001\n");
    free(out);
    /* a checkpoint path works as well as its run directory; errors */
    CHECK(sh("./train inspect " TMP "/b/best.safetensors | grep -q '^optimizer  sgd$'") == 0);
    CHECK(sh("./train inspect 2>/dev/null") == 2);
    CHECK(sh("./train inspect " TMP "/a/config.json 2>/dev/null") == 1);
    CHECK(sh("./train inspect " TMP "/nothing 2>/dev/null") == 1);
}

int main(void) {
    RUN(test_sweep_product);
    RUN(test_sweep_zip);
    RUN(test_sweep_milestones);
    RUN(test_sweep_flags_and_errors);
    RUN(test_compare_matches_summary);
    RUN(test_compare_errors);
    RUN(test_compare_svg);
    RUN(test_sweep_end_to_end);
    RUN(test_sweep_jobs_same_results);
    RUN(test_sweep_jobs_failure_and_errors);
    RUN(test_sweep_jobs_interrupt);
    RUN(test_inspect);
    return test_summary();
}
