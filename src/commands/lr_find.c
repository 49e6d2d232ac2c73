/* lr_find.c: `train lr-find [flags]`: the LR range test (Smith 2015; fastai's lr_find), see
 * lr_find.h. */
#include "commands/lr_find.h"
#include "formats/plot.h"
#include "run/resolve.h"
#include "run/rundir.h"
#include "run/runlog.h"
#include "run/trainer.h"
#include "util/fsio.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>

int lrfind_valley(const double *losses, int n) {
    if (n <= 0) return 0;
    int *run = xmalloc(sizeof(int) * (size_t)n), best_end = 0, best_start = 0;
    for (int i = 0; i < n; i++) run[i] = 1;
    /* the end test sits inside the inner loop, as in fastai, so the start is fixed by the
     * first length that beat the record */
    for (int i = 1; i < n; i++)
        for (int j = 0; j < i; j++) {
            if (losses[i] < losses[j] && run[i] < run[j] + 1) run[i] = run[j] + 1;
            if (run[best_end] < run[i]) {
                best_end = i;
                best_start = best_end - run[best_end];
            }
        }
    free(run);
    double third = (best_end - best_start) / 3.0;
    int idx = best_start + (int)third + (int)(third / 2);
    return idx < 0 ? 0 : idx >= n ? n - 1 : idx;
}

int lrfind_steepest(const double *lrs, const double *losses, int n) {
    if (n < 2) return 0;
    int best = 0;
    double best_slope = INFINITY;
    for (int i = 0; i < n; i++) {
        int a = i > 0 ? i - 1 : i, b = i < n - 1 ? i + 1 : i;
        double slope = (losses[b] - losses[a]) / (log10(lrs[b]) - log10(lrs[a]));
        if (slope < best_slope) { best_slope = slope; best = i; }
    }
    return best;
}

#define SMOOTH_BETA 0.98
#define DIVERGE_FACTOR 4.0

int cmd_lr_find(int argc, char **argv) {
    Config c;
    char err[ERR_LEN];
    resolve_options(&c, argc, argv);
    /* the lr is the sweep's; no schedule, length or cadence applies */
    config_check_reads(&c, "train lr-find", "@data @model @batches --opt --momentum --dampening "
                       "--nesterov --beta1 --beta2 --eps --wd --wd-bias --amsgrad --alpha --centered "
                       "--lr-decay --initial-accumulator --momentum-decay --clip --clip-value --threads "
                       "--seed --denormals --precision --run --runs-dir --init --force --quiet --start-lr --end-lr "
                       "--num-it", "it sets the lr itself, from --start-lr to --end-lr over --num-it "
                       "steps: no schedule, length or cadence applies");
    if (c.end_lr <= c.start_lr) fatal(EXIT_USAGE, "--end-lr: %g is not above --start-lr %g", c.end_lr, c.start_lr);
    char kind[32];
    snprintf(kind, sizeof kind, "lr-find-%s", c.opt);
    rundir_default_name(&c, kind);
    if (rundir_check_new(&c, err) != 0) fatal(EXIT_USAGE, "%s", err);
    Trainer *t = xcalloc(1, sizeof *t);
    trainer_setup(t, &c, SETUP_TRAIN, NULL, NULL);
    RunLog log;
    runlog_init(&log, &c);
    if (rundir_create(log.dir, &c, err) != 0) fatal(EXIT_FAIL, "%s", err);

    int n_max = (int)c.num_it, n = 0;
    double *lrs = xmalloc(sizeof(double) * (size_t)n_max), *raw = xmalloc(sizeof(double) * (size_t)n_max);
    double *smooth = xmalloc(sizeof(double) * (size_t)n_max);
    double avg = 0, best = INFINITY, step_seconds = 0;
    const char *stop = "the sweep ended";
    for (int i = 0; i < n_max; i++) {
        double lr = c.start_lr * pow(c.end_lr / c.start_lr, (double)i / (n_max - 1));
        double t0 = now_seconds();
        StepResult r = trainer_step(t, lr, NAN);
        step_seconds += now_seconds() - t0;
        if (!isfinite(r.loss) || !isfinite(r.grad_norm)) { stop = "the loss became non-finite"; break; }
        avg = SMOOTH_BETA * avg + (1 - SMOOTH_BETA) * r.loss;
        double s = avg / (1 - pow(SMOOTH_BETA, i + 1));
        lrs[n] = lr; raw[n] = r.loss; smooth[n] = s; n++;
        if (s < best) best = s;
        progress_update(&log, i + 1, n_max, (double)t->st.samples / t->train.n, lr, s,
                        step_seconds > 0 ? t->st.samples / step_seconds : 0);
        if (i > 0 && s > DIVERGE_FACTOR * best) { stop = "the smoothed loss exceeded 4x its minimum"; break; }
    }
    if (n < 3) fatal(EXIT_FAIL, "lr-find: only %d steps before %s: lower --start-lr", n, stop);

    char path[sizeof log.dir + 32];
    rundir_path(log.dir, "lr_find.csv", path, sizeof path);
    StrBuf csv;
    sb_init(&csv);
    sb_printf(&csv, "step,lr,loss,smoothed_loss\n");
    for (int i = 0; i < n; i++) sb_printf(&csv, "%d,%.9g,%.9g,%.9g\n", i, lrs[i], raw[i], smooth[i]);
    if (fsio_replace(path, csv.s, csv.len, err) != 0) fatal(EXIT_FAIL, "%s", err);
    sb_free(&csv);

    /* As fastai: suggestions ignore the first tenth (the average is still settling) and the
     * last 5 points (the blow-up), when enough points remain. */
    int skip_start = n / 10, skip_end = 5;
    if (n - skip_start - skip_end < 5) skip_start = skip_end = 0;
    int m = n - skip_start - skip_end;
    int valley = skip_start + lrfind_valley(smooth + skip_start, m);
    int steep = skip_start + lrfind_steepest(lrs + skip_start, smooth + skip_start, m);
    int minimum = 0;
    for (int i = 1; i < n; i++) if (smooth[i] < smooth[minimum]) minimum = i;

    char title[PATH_LEN + 128], valley_label[64], steep_label[64];
    snprintf(title, sizeof title, "LR range test: %s, %s, batch %ld", c.model, c.opt, c.batch);
    snprintf(valley_label, sizeof valley_label, "valley %.3g", lrs[valley]);
    snprintf(steep_label, sizeof steep_label, "steepest %.3g", lrs[steep]);
    Plot p;
    plot_init(&p, title, "learning rate", "training loss");
    p.log_x = 1;
    plot_add(&p, "loss", lrs, raw, n, 0);
    plot_add(&p, "smoothed loss", lrs, smooth, n, 0);
    plot_mark(&p, lrs[valley], valley_label);
    plot_mark(&p, lrs[steep], steep_label);
    rundir_path(log.dir, "lr_find.svg", path, sizeof path);
    if (plot_write_svg(&p, path, err) != 0) fatal(EXIT_FAIL, "%s", err);

    printf("lr-find: %d steps from %.3g to %.3g (%s)\n", n, lrs[0], lrs[n - 1], stop);
    printf("  suggested lr (valley)   %.3g\n", lrs[valley]);
    printf("  steepest descent at     %.3g\n", lrs[steep]);
    printf("  minimum smoothed loss   %.4f at lr %.3g\n", smooth[minimum], lrs[minimum]);
    printf("  wrote %s/lr_find.csv and lr_find.svg\n", log.dir);
    free(lrs); free(raw); free(smooth);
    trainer_free(t);
    free(t);
    return 0;
}
