/* landscape.c: `train landscape`, the loss landscape of a real network:
 *   --from A --to B     the line (1 - alpha) A + alpha B (Goodfellow et al. 2015): training
 *                       and test loss and accuracy for alpha from -span to 1 + span; A may be
 *                       `init`, B's initial weights (what its --seed gave). Weights and
 *                       BatchNorm's running statistics are interpolated alike.
 *   RUN|CKPT            the plane through the checkpoint spanned by two directions (--dirs):
 *                       random, filter-normalised (Li et al. 2018), coordinates in [-span,
 *                       span]; or pca, the first two principal components of the run's saved
 *                       checkpoints (--keep), its initial weights and the final ones, with the
 *                       trajectory drawn on the plane, through the final weights.
 * Losses are the training loss over the first --examples training examples (and, on a line,
 * as many test examples), in evaluation mode. The points are evaluated in parallel, one
 * network per thread; a point's value does not depend on the thread count. Writes a CSV of
 * the values and an SVG (a line chart, or a heat map with contour lines), by default beside
 * the checkpoint. */
#include "commands/landscape.h"
#include "commands/ckpt_open.h"
#include "formats/contour.h"
#include "formats/plot.h"
#include "instruments/landscape.h"
#include "instruments/vec.h"
#include "kernels/kernels.h"
#include "nn/model.h"
#include "run/evaluate.h"
#include "run/resolve.h"
#include "run/rundir.h"
#include "util/util.h"

#include <dirent.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_ROWS 1000

/* The state a point of the landscape sets: parameters and float buffers. */
typedef struct {
    float *params, *buffers;
} Weights;

static Weights weights_copy(const Net *n) {
    Weights w = {xalloc_floats((size_t)n->n_params), xalloc_floats((size_t)n->n_buffers + 1)};
    memcpy(w.params, n->params, sizeof(float) * (size_t)n->n_params);
    memcpy(w.buffers, n->buffers, sizeof(float) * (size_t)n->n_buffers);
    return w;
}

static void weights_free(Weights *w) {
    free(w->params);
    free(w->buffers);
}

/* Weights of another checkpoint of the same model (arg: a file or run directory, or "init":
 * the initialisation of the opened run's seed), read through o's network, which is then
 * restored. */
static Weights load_other(Opened *o, const char *arg) {
    Net *n = &o->t.net;
    Weights keep = weights_copy(n), w;
    char err[ERR_LEN];
    if (!strcmp(arg, "init")) {
        net_init_params(n, (uint64_t)o->t.c.seed);
    } else {
        char path[PATH_LEN + 64];
        ckpt_resolve_path(arg, path, sizeof path);
        StFile f;
        Config c;
        config_defaults(&c);
        if (st_read(path, &f, err) != 0) fatal(EXIT_FAIL, "%s", err);
        if (ckpt_config(&f, &c, err) != 0) fatal(EXIT_FAIL, "%s: %s", path, err);
        config_finalize(&c);
        if (strcmp(c.model, o->t.c.model) || strcmp(c.act, o->t.c.act) || strcmp(c.loss, o->t.c.loss))
            fatal(EXIT_USAGE, "landscape: %s holds model %s (%s, %s), %s holds %s (%s, %s): not the same network",
                  path, c.model, c.act, c.loss, o->path, o->t.c.model, o->t.c.act, o->t.c.loss);
        if (ckpt_load_model(&f, n, path, err) != 0) fatal(EXIT_FAIL, "%s", err);
        st_free(&f);
    }
    w = weights_copy(n);
    memcpy(n->params, keep.params, sizeof(float) * (size_t)n->n_params);
    memcpy(n->buffers, keep.buffers, sizeof(float) * (size_t)n->n_buffers);
    weights_free(&keep);
    return w;
}

/* ---- evaluating many points in parallel: one network (and scratch) per thread */
typedef struct {
    int threads;
    Net *nets;
    int **idx, **labels;
} Pool;

static void pool_init(Pool *p, const Config *c, const Net *like) {
    ModelSpec spec;
    char err[ERR_LEN];
    if (resolve_model_spec(c, &spec, err) != 0) fatal(EXIT_USAGE, "--model: %s", err);
    p->threads = kernels_get_threads();
    p->nets = xcalloc((size_t)p->threads, sizeof(Net));
    p->idx = xcalloc((size_t)p->threads, sizeof(int *));
    p->labels = xcalloc((size_t)p->threads, sizeof(int *));
    for (int i = 0; i < p->threads; i++) {
        if (model_build(&p->nets[i], &spec, net_input_dim(like), err) != 0) fatal(EXIT_USAGE, "--model: %s", err);
        net_alloc(&p->nets[i], EVAL_ROWS);
        memcpy(p->nets[i].counters, like->counters, sizeof(int64_t) * (size_t)like->n_counters);
        p->idx[i] = xmalloc(sizeof(int) * EVAL_ROWS);
        p->labels[i] = xmalloc(sizeof(int) * EVAL_ROWS);
    }
}

static void pool_free(Pool *p) {
    for (int i = 0; i < p->threads; i++) {
        net_free(&p->nets[i]);
        free(p->idx[i]);
        free(p->labels[i]);
    }
    free(p->nets); free(p->idx); free(p->labels);
}

/* What a point is: a place on a line between two weight vectors, or on a plane. */
typedef struct {
    const Weights *a, *b;          /* line: (1 - alpha) a + alpha b */
    const Weights *centre;         /* plane: centre + x d1 + y d2, its buffers kept */
    const float *d1, *d2;
} Geometry;

static void set_point(Net *n, const Geometry *g, double x, double y) {
    if (g->centre) {
        landscape_plane_point(g->centre->params, g->d1, g->d2, x, y, n->params, n->n_params);
        memcpy(n->buffers, g->centre->buffers, sizeof(float) * (size_t)n->n_buffers);
    } else {
        landscape_lerp(g->a->params, g->b->params, x, n->params, n->n_params);
        landscape_lerp(g->a->buffers, g->b->buffers, x, n->buffers, n->n_buffers);
    }
}

/* Evaluates every point (xs[i], ys[i]) on train (and test, when not NULL). */
static void evaluate_points(Pool *p, const Geometry *g, const double *xs, const double *ys, int count,
                            const Dataset *train, const Dataset *test, EvalResult *tr, EvalResult *te) {
    #pragma omp parallel for schedule(dynamic, 1) num_threads(p->threads)
    for (int i = 0; i < count; i++) {
        int k = omp_get_thread_num();
        Net *n = &p->nets[k];
        set_point(n, g, xs[i], ys ? ys[i] : 0);
        tr[i] = evaluate(n, train, p->idx[k], p->labels[k]);
        if (test) te[i] = evaluate(n, test, p->idx[k], p->labels[k]);
    }
}

static double z_max(const double *z, int n) {
    double m = -INFINITY;
    for (int i = 0; i < n; i++) if (z[i] > m) m = z[i];
    return m;
}

/* out: --out, or name beside the checkpoint; csv: the same with ".csv" */
static void output_paths(const Config *flags, const char *ckpt, const char *name, char *svg, char *csv,
                         size_t len) {
    if (flags->out[0]) snprintf(svg, len, "%s", flags->out);
    else ckpt_sibling(ckpt, name, svg, len);
    const char *dot = strrchr(svg, '.'), *slash = strrchr(svg, '/');
    int stem = dot && (!slash || dot > slash) ? (int)(dot - svg) : (int)strlen(svg);
    snprintf(csv, len, "%.*s.csv", stem, svg);
    if (!strcmp(svg, csv)) fatal(EXIT_USAGE, "--out: %s would be both the picture and the CSV", svg);
}

static FILE *open_csv(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) fatal(EXIT_FAIL, "%s: cannot write", path);
    return f;
}

static void close_csv(FILE *f, const char *path) {
    if (fclose(f) != 0) fatal(EXIT_FAIL, "%s: cannot write", path);
}

/* ---- the line from --from to --to */
static void line(const Config *flags) {
    Opened o;
    ckpt_open(&o, flags->to, flags);
    Weights b = weights_copy(&o.t.net), a = load_other(&o, flags->from);
    int n = (int)flags->grid, ext = (int)ceil((flags->span > 0 ? flags->span : 0.5) * (n - 1) - 1e-9);
    int count = n + 2 * ext;
    double *alpha = xmalloc(sizeof(double) * (size_t)count);
    for (int i = 0; i < count; i++) alpha[i] = (double)(i - ext) / (n - 1);   /* exactly 0 and 1 at the ends */
    int examples = (int)(flags->examples < o.t.train.n ? flags->examples : o.t.train.n);
    int test_n = (int)(flags->examples < o.t.test.n ? flags->examples : o.t.test.n);
    Dataset train = dataset_slice(&o.t.train, 0, examples), test = dataset_slice(&o.t.test, 0, test_n);
    EvalResult *tr = xmalloc(sizeof(EvalResult) * (size_t)count), *te = xmalloc(sizeof(EvalResult) * (size_t)count);
    Pool pool;
    pool_init(&pool, &o.t.c, &o.t.net);
    Geometry g = {&a, &b, NULL, NULL, NULL};
    double start = now_seconds();
    evaluate_points(&pool, &g, alpha, NULL, count, &train, &test, tr, te);
    double seconds = now_seconds() - start;

    char svg[PATH_LEN + 64], csv[PATH_LEN + 64];
    output_paths(flags, o.path, "landscape-line.svg", svg, csv, sizeof svg);
    FILE *f = open_csv(csv);
    fprintf(f, "alpha,train_loss,train_acc,test_loss,test_acc\n");
    double *cols[4];
    for (int c = 0; c < 4; c++) cols[c] = xmalloc(sizeof(double) * (size_t)count);
    for (int i = 0; i < count; i++) {
        fprintf(f, "%.9g,%.9g,%.6g,%.9g,%.6g\n", alpha[i], tr[i].loss, tr[i].acc, te[i].loss, te[i].acc);
        cols[0][i] = tr[i].loss; cols[1][i] = te[i].loss; cols[2][i] = tr[i].acc; cols[3][i] = te[i].acc;
    }
    close_csv(f, csv);
    char title[2 * PATH_LEN + 64], from_label[PATH_LEN + 16], to_label[PATH_LEN + 16], err[ERR_LEN];
    snprintf(title, sizeof title, "loss from %s (alpha 0) to %s (alpha 1)", flags->from, flags->to);
    snprintf(from_label, sizeof from_label, "alpha 0: %s", flags->from);
    snprintf(to_label, sizeof to_label, "alpha 1: %s", flags->to);
    Plot p;
    plot_init(&p, title, "alpha: weights (1 - alpha) from + alpha to", "loss");
    p.log_y = 1;
    p.y2_label = "accuracy";
    plot_add(&p, "train loss", alpha, cols[0], count, 0);
    plot_add(&p, "test loss", alpha, cols[1], count, 0);
    plot_add(&p, "train accuracy", alpha, cols[2], count, 1);
    plot_add(&p, "test accuracy", alpha, cols[3], count, 1);
    p.series[2].dashed = p.series[3].dashed = 1;
    plot_mark(&p, 0, from_label);
    plot_mark(&p, 1, to_label);
    if (plot_write_svg(&p, svg, err) != 0) fatal(EXIT_FAIL, "%s", err);

    int i0 = ext, i1 = ext + n - 1, lowest = 0;
    for (int i = 0; i < count; i++) if (tr[i].loss < tr[lowest].loss) lowest = i;
    printf("landscape: the line from %s to %s, %d points, alpha in [%g, %g], %d training and %d test examples\n",
           flags->from, flags->to, count, alpha[0], alpha[count - 1], examples, test_n);
    printf("  %-8s %12s %10s %12s %10s\n", "alpha", "train_loss", "train_acc", "test_loss", "test_acc");
    int stride = count > 21 ? (count + 19) / 20 : 1;
    for (int i = 0; i < count; i++)
        if (i % stride == 0 || i == i0 || i == i1 || i == count - 1)
            printf("  %-8.3g %12.6g %9.2f%% %12.6g %9.2f%%\n", alpha[i], tr[i].loss, 100 * tr[i].acc, te[i].loss,
                   100 * te[i].acc);
    printf("  lowest training loss %.6g at alpha %.3g; %.2f s on %d thread%s\n", tr[lowest].loss, alpha[lowest],
           seconds, pool.threads, pool.threads > 1 ? "s" : "");
    printf("  wrote %s and %s\n", svg, csv);
    for (int c = 0; c < 4; c++) free(cols[c]);
    pool_free(&pool);
    free(alpha); free(tr); free(te);
    weights_free(&a);
    weights_free(&b);
    ckpt_close(&o);
}

/* ---- the run's checkpoints for --dirs pca: its initial weights, step-NNNNNNNN.safetensors
 * in step order, and the checkpoint itself last */
typedef struct {
    Weights *points;
    long *steps;
    int n;
} Trajectory;

static int by_step(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static void collect_trajectory(Opened *o, const char *dir, Trajectory *tr) {
    DIR *d = opendir(dir);
    if (!d) fatal(EXIT_USAGE, "landscape: --dirs pca needs a run directory (with checkpoints saved by --keep), not %s", dir);
    long *steps = xmalloc(sizeof(long) * 1024);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long step;
        char tail[32];
        if (sscanf(e->d_name, "step-%ld.safeten%31s", &step, tail) == 2 && !strcmp(tail, "sors") && step < o->step) {
            if (n == 1024) fatal(EXIT_USAGE, "landscape: more than 1024 checkpoints in %s", dir);
            steps[n++] = step;
        }
    }
    closedir(d);
    qsort(steps, (size_t)n, sizeof(long), by_step);
    tr->points = xmalloc(sizeof(Weights) * (size_t)(n + 2));
    tr->steps = xmalloc(sizeof(long) * (size_t)(n + 2));
    tr->n = 0;
    tr->steps[tr->n] = 0;
    tr->points[tr->n++] = load_other(o, "init");
    for (int i = 0; i < n; i++) {
        char name[64], path[PATH_LEN + 64];
        snprintf(name, sizeof name, RUN_STEP_FORMAT, steps[i]);
        rundir_path(dir, name, path, sizeof path);
        tr->steps[tr->n] = steps[i];
        tr->points[tr->n++] = load_other(o, path);
    }
    tr->steps[tr->n] = o->step;
    tr->points[tr->n++] = weights_copy(&o->t.net);
    free(steps);
    if (tr->n < 3)
        fatal(EXIT_USAGE, "landscape: --dirs pca needs saved checkpoints (train with --keep N and --ckpt-every), "
              "%s has none before step %ld", dir, o->step);
}

static void plane(const Config *flags, const char *arg) {
    Opened o;
    ckpt_open(&o, arg, flags);
    Net *net = &o.t.net;
    long n_params = net->n_params;
    int pca = !strcmp(flags->dirs, "pca");
    Weights centre = weights_copy(net);
    float *d1 = xalloc_floats((size_t)n_params), *d2 = xalloc_floats((size_t)n_params);
    Trajectory path = {0};
    double explained[2] = {NAN, NAN}, *px = NULL, *py = NULL;
    double lo[2], hi[2], span = flags->span > 0 ? flags->span : 1;
    lo[0] = lo[1] = -span;
    hi[0] = hi[1] = span;
    if (pca) {
        collect_trajectory(&o, arg, &path);
        const float **pts = xmalloc(sizeof(float *) * (size_t)path.n);
        for (int i = 0; i < path.n; i++) pts[i] = path.points[i].params;
        if (landscape_pca(pts, path.n, n_params, d1, d2, explained) != 0)
            fatal(EXIT_FAIL, "landscape: the checkpoints of %s span fewer than two dimensions", arg);
        free(pts);
        px = xmalloc(sizeof(double) * (size_t)path.n);
        py = xmalloc(sizeof(double) * (size_t)path.n);
        for (int i = 0; i < path.n; i++)
            landscape_plane_coords(path.points[i].params, centre.params, d1, d2, n_params, &px[i], &py[i]);
        if (flags->span <= 0)   /* the trajectory's extent, with a margin of a fifth of it */
            for (int c = 0; c < 2; c++) {
                const double *v = c ? py : px;
                lo[c] = hi[c] = 0;
                for (int i = 0; i < path.n; i++) { lo[c] = fmin(lo[c], v[i]); hi[c] = fmax(hi[c], v[i]); }
                double margin = 0.2 * (hi[c] - lo[c]) + 1e-12;
                lo[c] -= margin;
                hi[c] += margin;
            }
    } else {
        Rng rng;
        rng_seed(&rng, (uint64_t)flags->seed, STREAM_DIRECTIONS);
        landscape_random_direction(net, centre.params, d1, &rng);
        landscape_random_direction(net, centre.params, d2, &rng);
    }
    int g = (int)flags->grid, count = g * g;
    double *xs = xmalloc(sizeof(double) * (size_t)count), *ys = xmalloc(sizeof(double) * (size_t)count);
    for (int j = 0; j < g; j++)
        for (int i = 0; i < g; i++) {
            xs[j * g + i] = lo[0] + i * (hi[0] - lo[0]) / (g - 1);
            ys[j * g + i] = lo[1] + j * (hi[1] - lo[1]) / (g - 1);
        }
    int examples = (int)(flags->examples < o.t.train.n ? flags->examples : o.t.train.n);
    Dataset train = dataset_slice(&o.t.train, 0, examples);
    EvalResult *tr = xmalloc(sizeof(EvalResult) * (size_t)(count + 1));
    Pool pool;
    pool_init(&pool, &o.t.c, net);
    Geometry geo = {NULL, NULL, &centre, d1, d2};
    double start = now_seconds();
    evaluate_points(&pool, &geo, xs, ys, count, &train, NULL, tr, NULL);
    double zero = 0;
    evaluate_points(&pool, &geo, &zero, &zero, 1, &train, NULL, tr + count, NULL);   /* the checkpoint */
    double seconds = now_seconds() - start;

    char svg[PATH_LEN + 64], csv[PATH_LEN + 64], err[ERR_LEN];
    output_paths(flags, o.path, pca ? "landscape-pca.svg" : "landscape.svg", svg, csv, sizeof svg);
    FILE *f = open_csv(csv);
    fprintf(f, "x,y,loss,acc\n");
    double *z = xmalloc(sizeof(double) * (size_t)count);
    int lowest = 0;
    for (int i = 0; i < count; i++) {
        fprintf(f, "%.9g,%.9g,%.9g,%.6g\n", xs[i], ys[i], tr[i].loss, tr[i].acc);
        z[i] = tr[i].loss;
        if (tr[i].loss < tr[lowest].loss) lowest = i;
    }
    close_csv(f, csv);
    char path_csv[PATH_LEN + 80] = "";
    if (pca) {
        snprintf(path_csv, sizeof path_csv, "%.*s-path.csv", (int)(strlen(csv) - 4), csv);
        f = open_csv(path_csv);
        fprintf(f, "step,x,y\n");
        for (int i = 0; i < path.n; i++) fprintf(f, "%ld,%.9g,%.9g\n", path.steps[i], px[i], py[i]);
        close_csv(f, path_csv);
    }
    char title[PATH_LEN + 128], xl[64], yl[64], centre_label[64];
    snprintf(title, sizeof title, "training loss around %s", o.path);
    if (pca) {
        snprintf(xl, sizeof xl, "PC1 (%.1f%% of the variance)", 100 * explained[0]);
        snprintf(yl, sizeof yl, "PC2 (%.1f%% of the variance)", 100 * explained[1]);
    } else {
        snprintf(xl, sizeof xl, "direction 1 (filter-normalised)");
        snprintf(yl, sizeof yl, "direction 2 (filter-normalised)");
    }
    snprintf(centre_label, sizeof centre_label, "checkpoint (step %ld)", o.step);
    Contour c;
    contour_init(&c, title, xl, yl, "training loss");
    contour_grid(&c, z, g, g, lo[0], hi[0], lo[1], hi[1]);
    c.heat = 1;
    c.log_z = 1;
    if (pca) {
        contour_add_path(&c, "trajectory (saved checkpoints)", px, py, path.n, 1);
        contour_add_mark(&c, px[0], py[0], "initial weights", MARK_DOT);
    }
    contour_add_mark(&c, 0, 0, centre_label, MARK_STAR);
    contour_add_mark(&c, xs[lowest], ys[lowest], "lowest on the grid", MARK_CROSS);
    if (contour_write_svg(&c, svg, err) != 0) fatal(EXIT_FAIL, "%s", err);

    printf("landscape: %s plane through %s (step %ld), %d x %d points in [%g, %g] x [%g, %g], %d training examples\n",
           pca ? "PCA" : "random filter-normalised", o.path, o.step, g, g, lo[0], hi[0], lo[1], hi[1], examples);
    if (pca)
        printf("  %d checkpoints (initial weights, steps %ld to %ld); PC1 and PC2 explain %.1f%% and %.1f%% of their variance\n",
               path.n, path.steps[0], path.steps[path.n - 1], 100 * explained[0], 100 * explained[1]);
    printf("  loss at the checkpoint %.6g (accuracy %.2f%%); lowest on the grid %.6g at (%.3g, %.3g); highest %.6g\n",
           tr[count].loss, 100 * tr[count].acc, tr[lowest].loss, xs[lowest], ys[lowest], z_max(z, count));
    printf("  %.2f s on %d thread%s\n  wrote %s and %s%s%s\n", seconds, pool.threads, pool.threads > 1 ? "s" : "", svg,
           csv, pca ? " and " : "", path_csv);
    pool_free(&pool);
    for (int i = 0; i < path.n; i++) weights_free(&path.points[i]);
    free(path.points); free(path.steps); free(px); free(py);
    free(xs); free(ys); free(tr); free(z); free(d1); free(d2);
    weights_free(&centre);
    ckpt_close(&o);
}

int cmd_landscape(int argc, char **argv) {
    Config flags;
    char **pos;
    int n_pos;
    char **args = command_flags(&flags, argc, argv, "train landscape",
                                "--from --to --dirs --grid --span --examples --seed --data --threads --out", &pos, &n_pos);
    int is_line = flags.from[0] || flags.to[0];
    if (is_line && (!flags.from[0] || !flags.to[0]))
        fatal(EXIT_USAGE, "landscape: a line needs both --from and --to");
    if (is_line && n_pos) fatal(EXIT_USAGE, "%s: unexpected argument (a line takes --from and --to only)", pos[0]);
    if (is_line && config_given(&flags, "dirs")) fatal(EXIT_USAGE, "--dirs: only for a plane (RUN|CKPT without --from/--to)");
    if (!is_line && n_pos != 1)
        fatal(EXIT_USAGE, "landscape: expected RUN|CKPT (a plane) or --from A --to B (a line)");
    if (is_line) line(&flags);
    else plane(&flags, pos[0]);
    free(args);
    return 0;
}
