/* inspect.c: `train inspect`, see inspect.h. Reads any safetensors file st_read accepts;
 * checkpoint metadata missing from it is shown as "?", so a file from elsewhere can be
 * inspected too. */
#include "commands/inspect.h"
#include "formats/json.h"
#include "run/checkpoint.h"
#include "run/rundir.h"
#include "util/util.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double element(const StTensor *t, long i) {
    return t->dtype == ST_I64 ? (double)t->i64[i] : t->data[i];
}

TensorStats inspect_stats(const StTensor *t) {
    TensorStats s = {0, NAN, NAN, NAN, NAN, 0, NAN};
    long n = (long)st_elements(t);
    s.n = n;
    if (n <= 0) return s;
    double sum = 0, sq = 0, lo = INFINITY, hi = -INFINITY;
    long zeros = 0;
    for (long i = 0; i < n; i++) {
        double v = element(t, i);
        sum += v;
        sq += v * v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        zeros += v == 0;
    }
    s.mean = sum / n;
    /* a second pass around the mean: sq / n - mean^2 cancels badly when |mean| >> std */
    double dev = 0;
    for (long i = 0; i < n; i++) dev += (element(t, i) - s.mean) * (element(t, i) - s.mean);
    s.std = sqrt(dev / n);
    s.min = lo;
    s.max = hi;
    s.l2 = sqrt(sq);
    s.zero_frac = (double)zeros / n;
    return s;
}

static void shape_text(const StTensor *t, char *buf, size_t len) {
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < t->ndim && used < len; d++)
        used += (size_t)snprintf(buf + used, len - used, "%s%" PRId64, d ? ", " : "", t->shape[d]);
    if (used < len) snprintf(buf + used, len - used, "]");
}

static void print_tensors(const StFile *f) {
    int wname = 4, wshape = 5;
    char shape[128];
    for (int i = 0; i < f->n_tensors; i++) {
        shape_text(&f->tensors[i], shape, sizeof shape);
        if ((int)strlen(f->tensors[i].name) > wname) wname = (int)strlen(f->tensors[i].name);
        if ((int)strlen(shape) > wshape) wshape = (int)strlen(shape);
    }
    printf("%-*s  %-*s  %9s  %12s  %12s  %12s  %12s  %12s  %7s\n", wname, "name", wshape, "shape",
           "elements", "mean", "std", "min", "max", "l2_norm", "zeros");
    for (int i = 0; i < f->n_tensors; i++) {
        const StTensor *t = &f->tensors[i];
        TensorStats s = inspect_stats(t);
        shape_text(t, shape, sizeof shape);
        printf("%-*s  %-*s  %9ld  %12.6g  %12.6g  %12.6g  %12.6g  %12.6g  %6.2f%%\n", wname, t->name, wshape,
               shape, s.n, s.mean, s.std, s.min, s.max, s.l2, 100 * s.zero_frac);
    }
}

/* The stored config's model, opt and lr, read straight from its JSON (not through
 * config_from_json, which refuses keys it does not know: a checkpoint from another version
 * should still be inspectable). */
static void print_config(const char *text, const char *path) {
    if (!text) { printf("config     ? (no \"config\" in the metadata)\n"); return; }
    Json j;
    char why[ERR_LEN];
    if (json_parse(text, strlen(text), &j, why) != 0) fatal(EXIT_FAIL, "%s: stored config: %s", path, why);
    const Json *model = json_get(&j, "model"), *opt = json_get(&j, "opt"), *lr = json_get(&j, "lr");
    printf("config     model %s, opt %s, lr ", model && model->type == JSON_STRING ? model->string : "?",
           opt && opt->type == JSON_STRING ? opt->string : "?");
    if (lr && lr->type == JSON_NUMBER) printf("%.9g\n", lr->number);
    else printf("?\n");
    json_free(&j);
}

int cmd_inspect(int argc, char **argv) {
    const char *arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) fatal(EXIT_USAGE, "%s: unknown option (usage: train inspect RUN_DIR|CKPT)", argv[i]);
        if (arg) fatal(EXIT_USAGE, "%s: unexpected argument (usage: train inspect RUN_DIR|CKPT)", argv[i]);
        arg = argv[i];
    }
    if (!arg) fatal(EXIT_USAGE, "inspect: no checkpoint given (usage: train inspect RUN_DIR|CKPT)");
    /* a run directory means its latest state */
    char *path = xmalloc(strlen(arg) + 32);
    if (is_dir(arg)) sprintf(path, "%s/" RUN_LAST, arg);
    else strcpy(path, arg);
    StFile f;
    char err[ERR_LEN];
    if (st_read(path, &f, err) != 0 || ckpt_check_origin(&f, path, err) != 0) fatal(EXIT_FAIL, "%s", err);

    /* the model's tensors, then (in files a run can resume from) the optimizer's state */
    long total = 0;
    int model = 0;
    for (int i = 0; i < f.n_tensors; i++)
        if (strncmp(f.tensors[i].name, "optimizer.", 10) != 0) {
            model++;
            total += inspect_stats(&f.tensors[i]).n;
        }
    printf("checkpoint %s: %d tensor%s, %ld parameters", path, model, model == 1 ? "" : "s", total);
    if (model < f.n_tensors) printf(", %d optimizer state tensors", f.n_tensors - model);
    printf("\n");
    print_tensors(&f);
    const char *step = st_meta_get(&f, "step"), *opt = st_meta_get(&f, "optimizer");
    printf("step       %s\n", step ? step : "?");
    printf("optimizer  %s\n", opt ? opt : "?");
    print_config(st_meta_get(&f, "config"), path);
    st_free(&f);
    free(path);
    return 0;
}
