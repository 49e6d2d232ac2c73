/* runplot.c: loss.svg and acc.svg from a run's log.csv, see runplot.h. */
#include "run/runplot.h"
#include "run/rundir.h"
#include "formats/logcsv.h"
#include "formats/plot.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>

/* Smoothing over logged rows: 0.9 for long logs, less for short ones, where a 10-row memory
 * would mostly show the lag. */
static double smoothing_for(int rows) {
    return rows > 50 ? 0.9 : rows > 5 ? 1.0 - 5.0 / rows : 0.0;
}

void smooth_ema(const double *x, int n, double beta, double *out) {
    double a = 0;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i])) { out[i] = NAN; continue; }
        a = beta * a + (1 - beta) * x[i];
        out[i] = a / (1 - pow(beta, ++k));
    }
}

/* Copies the (x, y) pairs whose y is finite, so evaluation rows form one connected line. */
static int finite_pairs(const double *x, const double *y, int n, double *ox, double *oy) {
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(y[i])) { ox[m] = x[i]; oy[m] = y[i]; m++; }
    return m;
}

int runplot_write(const char *dir, const char *title, int log_loss, char *err) {
    char path[1200];
    snprintf(path, sizeof path, "%s/" RUN_LOG, dir);
    LogCsv t;
    if (logcsv_read(path, &t, err) != 0) return -1;
    int n = t.n_rows, rc = 0;
    double *step = logcsv_column(&t, "step"), *loss = logcsv_column(&t, "loss"),
           *lr = logcsv_column(&t, "lr"), *acc = logcsv_column(&t, "acc"),
           *val_loss = logcsv_column(&t, "val_loss"), *val_acc = logcsv_column(&t, "val_acc");
    if (!step || !loss || !lr || !acc || !val_loss || !val_acc) {
        rc = errf(err, "%s: missing one of the columns step, lr, loss, acc, val_loss, val_acc", path);
        goto done;
    }
    size_t bytes = sizeof(double) * (size_t)(n ? n : 1);
    double *loss_s = xmalloc(bytes), *acc_s = xmalloc(bytes), *vx = xmalloc(bytes), *vy = xmalloc(bytes);
    double *ax = xmalloc(bytes), *ay = xmalloc(bytes);
    smooth_ema(loss, n, smoothing_for(n), loss_s);
    smooth_ema(acc, n, smoothing_for(n), acc_s);
    int nv = finite_pairs(step, val_loss, n, vx, vy), na = finite_pairs(step, val_acc, n, ax, ay);

    Plot p;
    plot_init(&p, title, "step", "loss");
    p.log_y = log_loss;
    p.y2_label = "learning rate";
    plot_add(&p, "train loss", step, loss, n, 0);
    plot_add(&p, "train loss, smoothed", step, loss_s, n, 0);
    if (nv) plot_add(&p, "val loss", vx, vy, nv, 0);
    plot_add(&p, "lr", step, lr, n, 1);
    p.series[p.n_series - 1].dashed = 1;
    snprintf(path, sizeof path, "%s/loss.svg", dir);
    rc = plot_write_svg(&p, path, err);

    if (rc == 0) {
        plot_init(&p, title, "step", "accuracy");
        p.legend_bottom = 1;
        plot_add(&p, "train acc, smoothed", step, acc_s, n, 0);
        if (na) plot_add(&p, "val acc", ax, ay, na, 0);
        snprintf(path, sizeof path, "%s/acc.svg", dir);
        rc = plot_write_svg(&p, path, err);
    }
    free(loss_s); free(acc_s); free(vx); free(vy); free(ax); free(ay);
done:
    free(step); free(loss); free(lr); free(acc); free(val_loss); free(val_acc);
    logcsv_free(&t);
    return rc;
}
