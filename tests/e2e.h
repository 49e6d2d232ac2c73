/* e2e.h: helpers for tests that drive the built binary. Define RUNS (the directory the test's
 * runs go to) before including. */
#ifndef E2E_H
#define E2E_H

#include "formats/json.h"
#include "formats/safetensors.h"
#include "util/util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* the binary under test: $TRAIN_BIN (make asan sets it to the sanitized build), else ./train */
#define TRAIN "\"${TRAIN_BIN:-./train}\""

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static int sh(const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0) fprintf(stderr, "  command failed (%d): %s\n", rc, cmd);
    return rc;
}

/* Exit status of a shell command (-1 if it did not exit normally), without complaint. */
static __attribute__((unused)) int sh_status(const char *cmd) {
    int rc = system(cmd);
    return rc == -1 || !(rc >= 0 && (rc & 0x7f) == 0) ? -1 : (rc >> 8) & 0xff;
}

/* Trains run NAME with the given flags (quiet, fresh directory). */
static __attribute__((unused)) int train(const char *name, const char *flags) {
    return sh(TRAIN " --quiet --runs-dir " RUNS " --force --run %s %s > " RUNS "/%s.out", name, flags, name);
}

/* The pair of the resume invariant: RUNS/<name>-whole trains `steps` steps with flags,
 * RUNS/<name>-halves steps / 2 (with half_flags too), then resumes to `steps` (with
 * half_flags, which must be flags --resume accepts, such as --threads). 0 when all succeed. */
static __attribute__((unused)) int train_whole_and_halves(const char *name, const char *flags, long steps,
                                                          const char *half_flags) {
    char run[96], all[1024];
    snprintf(run, sizeof run, "%s-whole", name);
    snprintf(all, sizeof all, "%s --steps %ld", flags, steps);
    if (train(run, all) != 0) return -1;
    snprintf(run, sizeof run, "%s-halves", name);
    snprintf(all, sizeof all, "%s --steps %ld %s", flags, steps / 2, half_flags);
    if (train(run, all) != 0) return -1;
    return sh(TRAIN " --quiet --resume " RUNS "/%s --steps %ld %s > /dev/null", run, steps, half_flags);
}

/* A number (or a string, via *text) from RUNS/<run>/summary.json. */
static __attribute__((unused)) double summary_field(const char *run, const char *key, char *text, size_t len) {
    char path[256], err[ERR_LEN];
    snprintf(path, sizeof path, RUNS "/%s/summary.json", run);
    size_t n;
    char *doc = read_file(path, &n, err);
    if (!doc) { fprintf(stderr, "  %s\n", err); return NAN; }
    Json j;
    double v = NAN;
    if (json_parse(doc, n, &j, err) == 0) {
        const Json *x = json_get(&j, key);
        if (x && x->type == JSON_NUMBER) v = x->number;
        if (x && x->type == JSON_STRING && text) snprintf(text, len, "%s", x->string);
        json_free(&j);
    }
    free(doc);
    return v;
}

static __attribute__((unused)) double summary_value(const char *run, const char *key) {
    return summary_field(run, key, NULL, 0);
}

/* Largest |a - b| over all tensors of two checkpoints, model and optimizer state (INFINITY if
 * they do not match up). */
static __attribute__((unused)) double max_weight_diff(const char *a_path, const char *b_path) {
    StFile a, b;
    char err[ERR_LEN];
    if (st_read(a_path, &a, err) != 0) { fprintf(stderr, "  %s\n", err); return INFINITY; }
    if (st_read(b_path, &b, err) != 0) { fprintf(stderr, "  %s\n", err); st_free(&a); return INFINITY; }
    double worst = a.n_tensors == b.n_tensors ? 0 : INFINITY;
    for (int i = 0; i < a.n_tensors && worst < INFINITY; i++) {
        const StTensor *ta = &a.tensors[i], *tb = st_find(&b, ta->name);
        if (!tb || tb->ndim != ta->ndim) { worst = INFINITY; break; }
        long n = 1;
        for (int d = 0; d < ta->ndim; d++) n *= ta->shape[d];
        if (ta->dtype != tb->dtype) { worst = INFINITY; break; }
        for (long k = 0; k < n; k++) {
            double d = ta->dtype == ST_I64 ? fabs((double)(ta->i64[k] - tb->i64[k]))
                                           : fabs((double)ta->data[k] - tb->data[k]);
            if (d > worst || d != d) worst = d != d ? INFINITY : d;
        }
    }
    st_free(&a);
    st_free(&b);
    return worst;
}

/* RUNS/<run>/<file>, from a small ring of buffers so several can be used in one call. */
static __attribute__((unused)) const char *ckpt(const char *run, const char *file) {
    static char path[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], RUNS "/%s/%s", run, file);
    return path[k];
}

/* Occurrences of text in the file at path (0 when it does not read). */
static __attribute__((unused)) int count_in(const char *path, const char *text) {
    char err[ERR_LEN];
    char *doc = read_file(path, NULL, err);
    int n = 0;
    for (char *p = doc; p && (p = strstr(p, text)); p += strlen(text)) n++;
    free(doc);
    return n;
}

#endif
