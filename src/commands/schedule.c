/* schedule.c: `train schedule [flags]`: the learning rate (and the momentum or beta1 that
 * onecycle cycles) of every step of the run the flags describe, as CSV on stdout, and drawn
 * into an SVG. Trains nothing. */
#include "commands/schedule.h"
#include "commands/train.h"
#include "data/dataset.h"
#include "formats/plot.h"
#include "optim/sched.h"
#include "run/datainfo.h"
#include "run/resolve.h"
#include "run/trainer.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>

/* Total steps as `train` would run them: --steps, else epochs * ceil(n / (batch * accum))
 * with n the training examples that --data, --val and --subset leave. */
static long total_steps(Config *c) {
    if (c->steps) return c->steps;
    Dataset ds;
    char err[ERR_LEN];
    if (dataset_open(c->data, 1, &ds, err) != 0)
        fatal(EXIT_FAIL, "%s (or give --steps, so the data is not needed)", err);
    data_default_val(c, ds.n);
    long n = c->subset ? c->subset : ds.n - c->val;
    dataset_free(&ds);
    if (n <= 0) fatal(EXIT_USAGE, "--val: %ld leaves no training data", c->val);
    long group = trainer_group_size(c, n);
    return c->epochs * ((n + group - 1) / group);
}

int cmd_schedule(int argc, char **argv) {
    Config c;
    resolve_options(&c, argc, argv);
    config_check_reads(&c, "train schedule", "@data @batches @schedule @length --opt --inner --lr --momentum --out --quiet", NULL);
    long T = total_steps(&c);
    config_check_run_length(&c, T);
    Schedule sched = resolve_schedule(&c);
    int cycles = !isnan(sched_momentum(&sched, 0, T));
    printf(cycles ? "step,lr,momentum\n" : "step,lr\n");
    long stride = T > 4000 ? T / 2000 : 1, n = 0;
    double *x = xmalloc(sizeof(double) * (size_t)(T / stride + 2));
    double *lr = xmalloc(sizeof(double) * (size_t)(T / stride + 2));
    double *mom = xmalloc(sizeof(double) * (size_t)(T / stride + 2));
    for (long t = 0; t < T; t++) {
        double v = sched_lr(&sched, t, T), m = sched_momentum(&sched, t, T);
        if (cycles) printf("%ld,%.9g,%.9g\n", t, v, m);
        else printf("%ld,%.9g\n", t, v);
        if (t % stride == 0 || t == T - 1) { x[n] = (double)t; lr[n] = v; mom[n] = m; n++; }
    }
    char title[256], err[ERR_LEN];
    snprintf(title, sizeof title, "%s schedule, lr %g, warmup %ld, %ld steps", c.schedule, c.lr, c.warmup, T);
    Plot p;
    plot_init(&p, title, "step", "learning rate");
    plot_add(&p, "lr", x, lr, (int)n, 0);
    if (cycles) {
        p.y2_label = "momentum / beta1";
        plot_add(&p, "momentum", x, mom, (int)n, 1);
        p.series[1].dashed = 1;
    }
    const char *out = c.out[0] ? c.out : "schedule.svg";
    if (plot_write_svg(&p, out, err) != 0) fatal(EXIT_FAIL, "%s", err);
    if (!c.quiet) fprintf(stderr, "train: wrote %s (%ld steps)\n", out, T);
    free(x); free(lr); free(mom);
    return 0;
}

