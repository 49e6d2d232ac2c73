/* curvature.c: `train curvature RUN|CKPT [--examples N] [--top K] [--trace]`: the K largest
 * eigenvalues of the Hessian of the checkpoint's training loss (Lanczos on exact
 * Hessian-vector products, each with its residual bound), optionally its trace (Hutchinson,
 * with the standard error), and lambda_max against 2/lr, the stability limit of gradient
 * descent at the run's learning rate of that step. Prints a table and writes curvature.json
 * beside the checkpoint. */
#include "commands/curvature.h"
#include "commands/ckpt_open.h"
#include "instruments/curvature.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void write_json(const char *path, const char *ckpt, long step, const LanczosResult *r, int trace,
                       double tr, double tr_se, int probes, int examples, long hvps, double seconds,
                       double lr, double tol) {
    StrBuf b;
    sb_init(&b);
    sb_append(&b, "{\n  \"checkpoint\": ");
    sb_json_string(&b, ckpt);
    sb_printf(&b, ",\n  \"step\": %ld,\n  \"examples\": %d,\n  \"eigenvalues\": [", step, examples);
    for (int i = 0; i < r->n; i++) { sb_append(&b, i ? ", " : ""); sb_json_number(&b, r->value[i]); }
    sb_append(&b, "],\n  \"residuals\": [");
    for (int i = 0; i < r->n; i++) { sb_append(&b, i ? ", " : ""); sb_json_number(&b, r->residual[i]); }
    sb_printf(&b, "],\n  \"tol\": ");
    sb_json_number(&b, tol);
    sb_printf(&b, ",\n  \"lanczos_steps\": %d,\n  \"converged\": %s,\n  \"trace\": ", r->iterations,
              r->converged ? "true" : "false");
    sb_json_number(&b, trace ? tr : NAN);
    sb_append(&b, ",\n  \"trace_stderr\": ");
    sb_json_number(&b, trace ? tr_se : NAN);
    sb_printf(&b, ",\n  \"probes\": %d,\n  \"lr\": ", trace ? probes : 0);
    sb_json_number(&b, lr);
    sb_append(&b, ",\n  \"sharpness_ratio\": ");
    sb_json_number(&b, r->n ? r->value[0] / (2 / lr) : NAN);
    sb_printf(&b, ",\n  \"hvps\": %ld,\n  \"seconds\": ", hvps);
    sb_json_number(&b, seconds);
    sb_append(&b, "\n}\n");
    FILE *f = fopen(path, "w");
    if (!f || fputs(b.s, f) < 0 || fclose(f) != 0) fatal(EXIT_FAIL, "%s: cannot write", path);
    sb_free(&b);
}

int cmd_curvature(int argc, char **argv) {
    Config flags;
    char **pos;
    int n_pos;
    char **args = command_flags(&flags, argc, argv, "train curvature",
                                "--examples --top --trace --probes --tol --lanczos-iter --seed --data --threads", &pos, &n_pos);
    /* --top is shared with predict, whose default is 3 */
    int top = config_given(&flags, "top") ? (int)flags.top : 1;
    if (top > CURV_MAX_TOP) fatal(EXIT_USAGE, "--top: at most %d eigenvalues", CURV_MAX_TOP);
    if (config_given(&flags, "probes") && !flags.trace)
        fatal(EXIT_USAGE, "--probes: the probes of the trace estimate, which only --trace makes");
    if (n_pos != 1) fatal(EXIT_USAGE, "curvature: expected one RUN_DIR or checkpoint (usage: train curvature RUN|CKPT [flags])");
    Opened o;
    ckpt_open(&o, pos[0], &flags);
    free(args);
    Trainer *t = &o.t;
    int examples = (int)(flags.examples < t->train.n ? flags.examples : t->train.n);
    double start = now_seconds();
    CurvData data;
    curv_data_init(&data, &t->net, &t->train, examples);
    CurvOperator op = curv_data_operator(&data);
    LanczosWork work;
    lanczos_alloc(&work, t->net.n_params, (int)flags.lanczos_iter);
    LanczosOpts lo = {top, flags.tol, (uint64_t)flags.seed};
    LanczosResult r;
    lanczos_top(&op, &work, &lo, &r, NULL);
    double tr = NAN, tr_se = NAN;
    if (flags.trace) tr = hutchinson_trace(&op, (int)flags.probes, (uint64_t)flags.seed, work.basis,
                                           work.basis + t->net.n_params, &tr_se);
    double seconds = now_seconds() - start;

    printf("curvature of %s (step %ld): Hessian of the mean training loss over %d examples, evaluation mode\n",
           o.path, o.step, examples);
    printf("  %4s %14s %12s\n", "rank", "eigenvalue", "residual");
    for (int i = 0; i < r.n; i++) printf("  %4d %14.6g %12.3g\n", i + 1, r.value[i], r.residual[i]);
    if (flags.trace)
        printf("  trace %.6g +- %.3g (standard error, %ld Rademacher probes)\n", tr, tr_se, flags.probes);
    printf("  lambda_max / (2 / lr) = %.6g / %.6g = %.4g (lr %.6g, the rate of step %ld)\n", r.value[0], 2 / o.lr,
           r.value[0] / (2 / o.lr), o.lr, o.step > 0 ? o.step : 1);
    printf("  Lanczos: %d steps, %s (tol %g); %ld Hessian-vector products, %.2f s\n", r.iterations,
           r.converged ? "converged" : "NOT converged: raise --lanczos-iter", flags.tol, data.products, seconds);
    char json[PATH_LEN + 32];
    ckpt_sibling(o.path, "curvature.json", json, sizeof json);
    write_json(json, o.path, o.step, &r, flags.trace, tr, tr_se, (int)flags.probes, examples, data.products,
               seconds, o.lr, flags.tol);
    printf("  wrote %s\n", json);
    lanczos_free(&work);
    curv_data_free(&data);
    ckpt_close(&o);
    return r.converged ? 0 : 1;
}
