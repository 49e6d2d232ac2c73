/* instruments_hook.c: --log-curvature and --log-noise during training, see
 * instruments_hook.h. */
#include "run/instruments_hook.h"
#include "run/dist.h"
#include "formats/logcsv.h"
#include "formats/plot.h"
#include "instruments/curvature.h"
#include "instruments/noise.h"
#include "run/rundir.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct InstrumentsHook {
    /* --log-curvature */
    CurvData data;
    CurvOperator op;
    LanczosWork work;
    double sharpness;            /* of this step, NAN when not measured */
    /* --log-noise: the small batches of the current step */
    int per_example;             /* 1: per-example norms; 0: the chunks' gradients */
    float *prev;                 /* chunk mode: the accumulated gradient before the chunk */
    int chunks;
    double small_sq, small_count, inv_sizes;
};

void instruments_open(Run *run, StrBuf *columns) {
    Trainer *t = &run->t;
    static const char *const measure[] = {"examples", "tol", "lanczos-iter"};
    for (int i = 0; i < 3 && !t->c.log_curvature; i++)   /* they shape a measurement not made */
        if (config_given(&t->c, measure[i]))
            fatal(EXIT_USAGE, "--%s: shapes --log-curvature's measurement, which is off (give "
                  "--log-curvature N, or use train curvature on a checkpoint)", measure[i]);
    if (!t->c.log_curvature && !t->c.log_noise) return;
    InstrumentsHook *h = t->instruments = xcalloc(1, sizeof *h);
    h->sharpness = NAN;
    if (t->c.log_curvature) {
        curv_data_init(&h->data, &t->net, &t->train, (int)t->c.examples);
        h->op = curv_data_operator(&h->data);
        lanczos_alloc(&h->work, t->net.n_params, (int)t->c.lanczos_iter);
        sb_append(columns, ",sharpness");
    }
    if (t->c.log_noise) {
        const char *layer = NULL;
        h->per_example = noise_per_example_ok(&t->net, &layer);
        long group = trainer_group_size(&t->c, t->train.n);
        if (!h->per_example && group <= t->net.capacity)
            fatal(EXIT_USAGE, "--log-noise: the model has parameters outside Linear layers (%s), so "
                  "the noise scale needs two or more micro-batches per step: give --accum 2 or more", layer);
        if (!h->per_example) h->prev = xalloc_floats((size_t)t->net.n_params);
        sb_append(columns, ",noise_scale");
    }
}

void instruments_after_backward(Trainer *t, int rows) {
    InstrumentsHook *h = t->instruments;
    if (!h || !t->c.log_noise) return;
    Net *n = &t->net;
    if (h->per_example) {
        h->small_sq += noise_example_sq_sum(n, rows);
        h->small_count += rows;
        h->inv_sizes += rows;   /* each "batch" is one example: 1/b = 1 */
        return;
    }
    /* this chunk's gradient: the growth of the accumulated one, rescaled from 1/group to a
     * mean over its own rows */
    double sq = 0, to_mean = 1.0 / ((double)n->loss_scale * rows);
    for (long i = 0; i < n->n_params; i++) {
        double d = h->chunks ? (double)n->grads[i] - h->prev[i] : n->grads[i];
        sq += d * d;
    }
    memcpy(h->prev, n->grads, sizeof(float) * (size_t)n->n_params);
    h->chunks++;
    h->small_sq += sq * to_mean * to_mean;
    h->small_count += 1;
    h->inv_sizes += 1.0 / rows;
}

/* The step's two estimates into the averages kept in the training state. */
static void noise_update(Trainer *t, InstrumentsHook *h, const StepResult *r) {
    double sums[3] = {h->small_sq, h->small_count, h->inv_sizes};
    dist_sum_doubles(sums, 3);   /* each rank saw its pieces of the group */
    h->small_sq = sums[0];
    h->small_count = sums[1];
    h->inv_sizes = sums[2];
    double count = h->small_count, b = count / h->inv_sizes, B = r->n;
    if (count > 0 && B > b && isfinite(r->loss) && isfinite(r->grad_norm)) {
        double g2, tr;
        noise_estimate(b, h->small_sq / count, B, r->grad_norm * r->grad_norm, &g2, &tr);
        noise_ema_update(&t->st.noise, g2, tr);
    }
    h->small_sq = h->small_count = h->inv_sizes = 0;
    h->chunks = 0;
}

int instruments_step(Run *run, const StepResult *r) {
    Trainer *t = &run->t;
    InstrumentsHook *h = t->instruments;
    if (!h) return 0;
    if (t->c.log_noise) noise_update(t, h, r);
    h->sharpness = NAN;
    if (!t->c.log_curvature || t->st.step % t->c.log_curvature != 0) return 0;
    /* a start vector of its own for every step, so a resumed run measures the same */
    LanczosOpts o = {1, t->c.tol, (uint64_t)t->c.seed * 1000003u + (uint64_t)t->st.step};
    LanczosResult res;
    lanczos_top(&h->op, &h->work, &o, &res, NULL);
    h->sharpness = res.value[0];
    progress_message(&run->log, "step %ld: sharpness %.4g, 2/lr %.4g (%d Hessian-vector products%s)",
                     t->st.step, h->sharpness, 2 / r->lr, res.iterations, res.converged ? "" : ", not converged");
    return 1;
}

int instruments_values(Run *run, double *values, int n) {
    const Trainer *t = &run->t;
    if (!t->instruments) return n;
    if (t->c.log_curvature) values[n++] = t->instruments->sharpness;
    if (t->c.log_noise) values[n++] = noise_ema_scale(&t->st.noise);
    return n;
}

/* (step, value) of the rows where column `name` has a value. */
static int column_pairs(const LogCsv *log, const char *name, double *x, double *y) {
    int cs = logcsv_find(log, "step"), cv = logcsv_find(log, name), m = 0;
    for (int i = 0; cs >= 0 && cv >= 0 && i < log->n_rows; i++) {
        double v = log->cells[i * log->n_cols + cv];
        if (isfinite(v)) { x[m] = log->cells[i * log->n_cols + cs]; y[m++] = v; }
    }
    return m;
}

static void write_plots(const Trainer *t, const char *dir) {
    char path[RUN_DIR_LEN + 32], err[ERR_LEN];
    rundir_path(dir, RUN_LOG, path, sizeof path);
    LogCsv log;
    if (logcsv_read(path, &log, err) != 0) { warn("%s", err); return; }
    size_t bytes = sizeof(double) * (size_t)(log.n_rows + 1);
    double *x = xmalloc(bytes), *y = xmalloc(bytes), *lx = xmalloc(bytes), *ly = xmalloc(bytes);
    char title[320];
    Plot p;
    int rc = 0;
    if (t->c.log_curvature) {
        int m = column_pairs(&log, "sharpness", x, y), ml = column_pairs(&log, "lr", lx, ly);
        double top = 0;
        for (int i = 0; i < m; i++) top = fmax(top, y[i]);
        /* 2/lr where it is within sight of the sharpness (a decayed lr sends it far away) */
        for (int i = 0; i < ml; i++) ly[i] = ly[i] > 0 && 2 / ly[i] <= 3 * top ? 2 / ly[i] : NAN;
        snprintf(title, sizeof title, "%s: sharpness against 2/lr", t->c.run);
        plot_init(&p, title, "step", "largest Hessian eigenvalue");
        plot_add(&p, "sharpness (lambda_max)", x, y, m, 0);
        plot_add(&p, "2 / lr", lx, ly, ml, 0);
        p.series[1].dashed = 1;
        snprintf(path, sizeof path, "%s/curvature.svg", dir);
        rc |= plot_write_svg(&p, path, err);
    }
    if (rc == 0 && t->c.log_noise) {
        int m = column_pairs(&log, "noise_scale", x, y);
        double batch = (double)trainer_group_size(&t->c, t->train.n);
        int cs = logcsv_find(&log, "step");
        for (int i = 0; i < log.n_rows; i++) {
            lx[i] = log.cells[i * log.n_cols + cs];
            ly[i] = batch;
        }
        snprintf(title, sizeof title, "%s: gradient noise scale", t->c.run);
        plot_init(&p, title, "step", "B_simple = tr(Sigma) / |G|^2");
        p.log_y = 1;
        plot_add(&p, "noise scale (EMA 0.99)", x, y, m, 0);
        plot_add(&p, "batch size", lx, ly, log.n_rows, 0);
        p.series[1].dashed = 1;
        snprintf(path, sizeof path, "%s/noise.svg", dir);
        rc |= plot_write_svg(&p, path, err);
    }
    if (rc) warn("%s", err);
    free(x); free(y); free(lx); free(ly);
    logcsv_free(&log);
}

void instruments_finish(Run *run) {
    Trainer *t = &run->t;
    InstrumentsHook *h = t->instruments;
    if (!h) return;
    if (dist_is_root()) write_plots(t, run->log.dir);
    if (t->c.log_curvature) {
        curv_data_free(&h->data);
        lanczos_free(&h->work);
    }
    free(h->prev);
    free(h);
    t->instruments = NULL;
}
