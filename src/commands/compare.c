/* compare.c: `train compare`, see compare.h. Everything is read back from the files a run
 * leaves (summary.json, config.json, log.csv), so any finished run can be compared, however
 * and whenever it was made. */
#include "commands/compare.h"
#include "formats/json.h"
#include "formats/logcsv.h"
#include "formats/plot.h"
#include "run/rundir.h"
#include "util/util.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- loading */

static Json *load_json(const char *path, Json *j, char *err) {
    char why[ERR_LEN];
    size_t len;
    char *text = read_file(path, &len, err);
    if (!text) return NULL;
    int rc = json_parse(text, len, j, why);
    free(text);
    if (rc != 0) { errf(err, "%s: %s", path, why); return NULL; }
    if (j->type != JSON_OBJECT) { json_free(j); errf(err, "%s: not a JSON object", path); return NULL; }
    return j;
}

/* A number member; null (how summary.json writes a missing figure, e.g. val_* with --val 0)
 * reads as NaN. */
static int get_number(const Json *j, const char *key, double *out, const char *path, char *err) {
    const Json *v = json_get(j, key);
    if (!v) return errf(err, "%s: no \"%s\"", path, key);
    if (v->type == JSON_NULL) { *out = NAN; return 0; }
    if (v->type != JSON_NUMBER) return errf(err, "%s: \"%s\" is not a number", path, key);
    *out = v->number;
    return 0;
}

static int get_long(const Json *j, const char *key, long *out, const char *path, char *err) {
    double v;
    if (get_number(j, key, &v, path, err) != 0) return -1;
    /* 2^63 is exact in a double; LONG_MAX is not (it rounds up to 2^63, out of range) */
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0) || v != floor(v))
        return errf(err, "%s: \"%s\" is not a whole number", path, key);
    *out = (long)v;
    return 0;
}

/* A string member, or a number printed (batch is a number, or "full"). */
static int get_text(const Json *j, const char *key, char *out, size_t len, const char *path, char *err) {
    const Json *v = json_get(j, key);
    if (!v) return errf(err, "%s: no \"%s\"", path, key);
    if (v->type == JSON_STRING) snprintf(out, len, "%s", v->string);
    else if (v->type == JSON_NUMBER) snprintf(out, len, "%.15g", v->number);
    else return errf(err, "%s: \"%s\" is neither a string nor a number", path, key);
    return 0;
}

static int load_summary(const char *path, RunInfo *r, char *err) {
    Json j;
    if (!load_json(path, &j, err)) return -1;
    int rc = get_long(&j, "steps", &r->steps, path, err) ||
             get_long(&j, "best_step", &r->best_step, path, err) ||
             get_number(&j, "train_loss", &r->train_loss, path, err) ||
             get_number(&j, "train_acc", &r->train_acc, path, err) ||
             get_number(&j, "val_acc", &r->val_acc, path, err) ||
             get_number(&j, "test_loss", &r->test_loss, path, err) ||
             get_number(&j, "test_acc", &r->test_acc, path, err) ||
             get_number(&j, "wall_seconds", &r->wall_seconds, path, err);
    json_free(&j);
    return rc ? -1 : 0;
}

static int load_config(const char *path, RunInfo *r, char *err) {
    Json j;
    if (!load_json(path, &j, err)) return -1;
    int rc = get_text(&j, "opt", r->opt, sizeof r->opt, path, err) ||
             get_text(&j, "schedule", r->schedule, sizeof r->schedule, path, err) ||
             get_text(&j, "batch", r->batch, sizeof r->batch, path, err) ||
             get_number(&j, "lr", &r->lr, path, err);
    json_free(&j);
    return rc ? -1 : 0;
}

/* The curves, from log.csv's columns by name (the log may gain columns). */
static int load_log(const char *path, RunInfo *r, char *err) {
    LogCsv t;
    if (logcsv_read(path, &t, err) != 0) return -1;
    static const char *needed[] = {"step", "loss", "acc", "val_loss", "val_acc"};
    for (int k = 0; k < 5; k++)
        if (logcsv_find(&t, needed[k]) < 0) {
            logcsv_free(&t);
            return errf(err, "%s: no \"%s\" column", path, needed[k]);
        }
    r->step = logcsv_column(&t, "step");
    r->loss = logcsv_column(&t, "loss");
    r->acc = logcsv_column(&t, "acc");
    double *val_loss = logcsv_column(&t, "val_loss"), *val_acc = logcsv_column(&t, "val_acc");
    size_t cap = sizeof(double) * (size_t)(t.n_rows ? t.n_rows : 1);
    r->val_step = xmalloc(cap);
    r->val_loss = xmalloc(cap);
    r->val_acc_curve = xmalloc(cap);
    r->n = t.n_rows;
    for (int i = 0; i < r->n; i++) {
        r->acc[i] *= 100;
        if (isnan(val_loss[i])) continue;   /* a row without an evaluation */
        r->val_step[r->n_val] = r->step[i];
        r->val_loss[r->n_val] = val_loss[i];
        r->val_acc_curve[r->n_val] = 100 * val_acc[i];
        r->n_val++;
    }
    free(val_loss);
    free(val_acc);
    logcsv_free(&t);
    return 0;
}

/* The run's name: the last component of its directory (of its real path for "." or ".."). */
static void run_name(const char *dir, char *out, size_t len) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", dir);
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/') buf[--n] = 0;
    const char *slash = strrchr(buf, '/'), *base = slash && slash[1] ? slash + 1 : buf;
    char real[PATH_MAX];
    if ((!strcmp(base, ".") || !strcmp(base, "..")) && realpath(buf, real)) {
        slash = strrchr(real, '/');
        base = slash && slash[1] ? slash + 1 : real;
    }
    snprintf(out, len, "%.*s", (int)len - 1, base);   /* a longer name is cut */
}

int compare_load(const char *dir, RunInfo *r, char *err) {
    memset(r, 0, sizeof *r);
    run_name(dir, r->name, sizeof r->name);
    if (!is_dir(dir)) return errf(err, "%s: not a run directory", dir);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/" RUN_SUMMARY, dir);
    if (!is_file(path)) {
        errf(err, "%s: no " RUN_SUMMARY " (run not finished?)", dir);
        return 1;
    }
    if (load_summary(path, r, err) != 0) return -1;
    snprintf(path, sizeof path, "%s/" RUN_CONFIG, dir);
    if (load_config(path, r, err) != 0) return -1;
    snprintf(path, sizeof path, "%s/" RUN_LOG, dir);
    if (load_log(path, r, err) != 0) { compare_free(r); return -1; }
    return 0;
}

void compare_free(RunInfo *r) {
    free(r->step); free(r->loss); free(r->acc);
    free(r->val_step); free(r->val_loss); free(r->val_acc_curve);
    r->step = r->loss = r->acc = r->val_step = r->val_loss = r->val_acc_curve = NULL;
    r->n = r->n_val = 0;
}

/* ---------------------------------------------------------------- table */

enum { C_RUN, C_OPT, C_LR, C_SCHED, C_BATCH, C_STEPS, C_TRAIN_LOSS, C_TRAIN_ACC, C_VAL_ACC,
       C_TEST_ACC, C_GAP_ACC, C_GAP_LOSS, C_BEST, C_WALL, N_COLS };
static const char *headers[N_COLS] = {"run", "opt", "lr", "schedule", "batch", "steps",
                                      "train_loss", "train_acc", "val_acc", "test_acc", "gap_acc",
                                      "gap_loss", "best_step", "wall_s"};

/* A number for the table, or "-" (text) / "" (CSV) when absent. CSV keeps 9 significant
 * digits for scripts; the text table rounds for reading. */
static void number(char *buf, size_t len, const char *text_fmt, double v, int csv) {
    if (!isfinite(v)) snprintf(buf, len, "%s", csv ? "" : "-");
    else if (csv) snprintf(buf, len, "%.9g", v);
    else snprintf(buf, len, text_fmt, v);
}

static void cell(const RunInfo *r, int col, int csv, char *buf, size_t len) {
    switch (col) {
    case C_RUN: snprintf(buf, len, "%s", r->name); break;
    case C_OPT: snprintf(buf, len, "%s", r->opt); break;
    case C_LR: number(buf, len, "%.3g", r->lr, csv); break;
    case C_SCHED: snprintf(buf, len, "%s", r->schedule); break;
    case C_BATCH: snprintf(buf, len, "%s", r->batch); break;
    case C_STEPS: snprintf(buf, len, "%ld", r->steps); break;
    case C_TRAIN_LOSS: number(buf, len, "%.4f", r->train_loss, csv); break;
    case C_TRAIN_ACC: number(buf, len, "%.2f%%", 100 * r->train_acc, csv); break;
    case C_VAL_ACC: number(buf, len, "%.2f%%", 100 * r->val_acc, csv); break;
    case C_TEST_ACC: number(buf, len, "%.2f%%", 100 * r->test_acc, csv); break;
    case C_GAP_ACC: number(buf, len, "%+.2f", 100 * (r->train_acc - r->test_acc), csv); break;
    case C_GAP_LOSS: number(buf, len, "%+.4f", r->test_loss - r->train_loss, csv); break;
    case C_BEST: snprintf(buf, len, "%ld", r->best_step); break;
    case C_WALL: number(buf, len, "%.1f", r->wall_seconds, csv); break;
    }
}

/* RFC 4180 quoting, needed only if a name holds a comma, quote or newline. */
static void csv_field(FILE *out, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) { fputs(s, out); return; }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

#define CELL_LEN 300

void compare_print(FILE *out, const RunInfo *runs, int n, int csv) {
    char buf[CELL_LEN];
    if (csv) {
        for (int c = 0; c < N_COLS; c++) fprintf(out, "%s%s", c ? "," : "", headers[c]);
        fputc('\n', out);
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < N_COLS; c++) {
                if (c) fputc(',', out);
                cell(&runs[i], c, 1, buf, sizeof buf);
                csv_field(out, buf);
            }
            fputc('\n', out);
        }
        return;
    }
    int width[N_COLS];
    for (int c = 0; c < N_COLS; c++) {
        width[c] = (int)strlen(headers[c]);
        for (int i = 0; i < n; i++) {
            cell(&runs[i], c, 0, buf, sizeof buf);
            if ((int)strlen(buf) > width[c]) width[c] = (int)strlen(buf);
        }
    }
    /* names left-aligned, numbers right-aligned */
    for (int i = -1; i < n; i++) {
        for (int c = 0; c < N_COLS; c++) {
            if (i < 0) snprintf(buf, sizeof buf, "%s", headers[c]);
            else cell(&runs[i], c, 0, buf, sizeof buf);
            int left = c == C_RUN || c == C_OPT || c == C_SCHED;
            fprintf(out, "%s%*s", c ? "  " : "", left ? -width[c] : width[c], buf);
        }
        fputc('\n', out);
    }
    fprintf(out, "(gap_acc = train_acc - test_acc in percentage points, gap_loss = test_loss - train_loss;"
                 " train figures on the whole training set)\n");
}

/* ---------------------------------------------------------------- curves */

int compare_write_svg(const RunInfo *runs, int n, const char *path, char *err) {
    enum { P_LOSS, P_VAL_LOSS, P_ACC, P_VAL_ACC, N_PANELS };
    Plot p[N_PANELS];
    plot_init(&p[P_LOSS], "training loss (per step, training mode)", "step", "loss");
    plot_init(&p[P_VAL_LOSS], "validation loss", "step", "loss");
    plot_init(&p[P_ACC], "training accuracy (per step, on the batch)", "step", "accuracy (%)");
    plot_init(&p[P_VAL_ACC], "validation accuracy", "step", "accuracy (%)");
    p[P_LOSS].log_y = p[P_VAL_LOSS].log_y = 1;
    p[P_ACC].legend_bottom = p[P_VAL_ACC].legend_bottom = 1;   /* accuracy rises to the top */
    /* Every run is added to every panel, even one without evaluations, so a run keeps its
     * colour (its series index) across the panels. */
    int shown = n < PLOT_MAX_SERIES ? n : PLOT_MAX_SERIES;
    for (int i = 0; i < shown; i++) {
        const RunInfo *r = &runs[i];
        plot_add(&p[P_LOSS], r->name, r->step, r->loss, r->n, 0);
        plot_add(&p[P_VAL_LOSS], r->name, r->val_step, r->val_loss, r->n_val, 0);
        plot_add(&p[P_ACC], r->name, r->step, r->acc, r->n, 0);
        plot_add(&p[P_VAL_ACC], r->name, r->val_step, r->val_acc_curve, r->n_val, 0);
    }
    if (shown < n) warn("compare: %s shows the first %d of the %d runs", path, shown, n);
    return plot_write_svg_grid(p, N_PANELS, 2, path, err);
}

/* ---------------------------------------------------------------- command */

int compare_dirs(char *const *dirs, int n, const char *svg_path, int csv, int quiet) {
    RunInfo *runs = xcalloc((size_t)(n > 0 ? n : 1), sizeof *runs);
    char err[ERR_LEN];
    int ok = 0;
    for (int i = 0; i < n; i++) {
        if (compare_load(dirs[i], &runs[ok], err) != 0) {
            warn("%s", err);  /* skipped: the other runs are still worth comparing */
            continue;
        }
        ok++;
    }
    int rc = 0;
    if (ok == 0) {
        warn("compare: no usable run among the %d given", n);
        rc = EXIT_FAIL;
    } else {
        compare_print(stdout, runs, ok, csv);
        fflush(stdout);
        if (compare_write_svg(runs, ok, svg_path, err) != 0) {
            warn("%s", err);
            rc = EXIT_FAIL;
        } else if (!quiet) {
            fprintf(stderr, "train: wrote %s (%d run%s)\n", svg_path, ok, ok == 1 ? "" : "s");
        }
    }
    for (int i = 0; i < ok; i++) compare_free(&runs[i]);
    free(runs);
    return rc;
}

#define COMPARE_USAGE "usage: train compare RUN_DIR... [--out FILE] [--csv]"

int cmd_compare(int argc, char **argv) {
    const char *out = "compare.svg";
    int csv = 0, n = 0, options = 1;
    char **dirs = xmalloc(sizeof(char *) * (size_t)(argc > 0 ? argc : 1));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options && !strcmp(a, "--")) options = 0;
        else if (options && !strcmp(a, "--csv")) csv = 1;
        else if (options && !strcmp(a, "--out")) {
            if (i + 1 >= argc) fatal(EXIT_USAGE, "--out: needs a value");
            out = argv[++i];
        } else if (options && !strncmp(a, "--out=", 6)) out = a + 6;
        else if (options && a[0] == '-' && a[1]) fatal(EXIT_USAGE, "%s: unknown option (" COMPARE_USAGE ")", a);
        else dirs[n++] = argv[i];
    }
    if (!*out) fatal(EXIT_USAGE, "--out: empty file name");
    if (n == 0) fatal(EXIT_USAGE, "compare: no run directories given (" COMPARE_USAGE ")");
    int rc = compare_dirs(dirs, n, out, csv, 0);
    free(dirs);
    return rc;
}
