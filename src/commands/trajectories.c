/* trajectories.c: `train trajectories [flags]`: runs optimizers on a 2-D test function
 * (instruments/trajectories.h) and writes a picture (contour lines, the minima, the start,
 * one path per optimizer), a CSV of the paths and a table of how many steps each took to come
 * within --within of a minimum.
 *
 * --opt takes a comma list; Newton's method is `newton`. The optimizer flags (--lr, --wd,
 * --momentum, --beta1, ...) take one value for every optimizer that reads it, or a comma list
 * with one value per optimizer ('-' for one that does not read the flag). Every other flag
 * (--steps, --schedule and its flags, --clip, --clip-value) applies to all. */
#include "commands/trajectories.h"
#include "commands/ckpt_open.h"
#include "formats/contour.h"
#include "instruments/trajectories.h"
#include "run/options.h"
#include "run/resolve.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_METHODS 12
#define MAX_FLAGS 32          /* distinct method flags */
#define DEFAULT_STEPS 1000
#define DEFAULT_OPTS "sgd,momentum,nesterov,rmsprop,adam"
#define CONTOUR_GRID 181
#define DRAWN_POINTS 4000    /* points of a path drawn at most (the CSV has them all) */

/* A flag of the methods: --opt, or one each method reads (--lr, --wd, --momentum, ...). */
typedef struct {
    char name[32];
    char *values[MAX_METHODS];
    int n;                   /* 1: one value for all; else one per method */
} MethodFlag;

static int is_method_flag(const char *name) {
    if (!strcmp(name, "opt") || !strcmp(name, "lr") || !strcmp(name, "wd")) return 1;
    for (int i = 0; i < N_OPTS; i++)
        if (!strcmp(opts[i].name, name)) return (opts[i].flags & OPT_OPTIM) != 0;
    return 0;
}

static int is_switch(const char *name) {
    for (int i = 0; i < N_OPTS; i++)
        if (!strcmp(opts[i].name, name)) return opts[i].type == T_BOOL;
    return 0;
}

/* 1 if the method reads flag `name`: --lr every one, --wd every optimizer of the table, the
 * others as the optimizer's row lists them. */
static int reads(const OptimDef *def, const char *name) {
    if (!strcmp(name, "lr")) return 1;
    if (!def) return 0;
    if (!strcmp(name, "wd")) return 1;
    char word[40];
    snprintf(word, sizeof word, "--%s", name);
    size_t len = strlen(word);
    for (const char *p = def->flags; (p = strstr(p, word)); p += len)
        if (p[len] == ' ' || p[len] == 0) return 1;
    return 0;
}

static void split_list(MethodFlag *f, const char *text) {
    char *copy = xstrdup(text), *save = NULL;
    f->n = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (f->n == MAX_METHODS) fatal(EXIT_USAGE, "--%s: more than %d values", f->name, MAX_METHODS);
        f->values[f->n++] = xstrdup(tok);
    }
    free(copy);
    if (f->n == 0) fatal(EXIT_USAGE, "--%s: needs a value", f->name);
}

/* Takes the method flags out of argv (into flags) and leaves the rest in rest (rest[0] is
 * the command's name, as config_parse_args expects). */
static int take_method_flags(int argc, char **argv, MethodFlag *flags, int *n_flags, char **rest) {
    int n_rest = 0;
    rest[n_rest++] = argv[0];
    *n_flags = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char name[32] = "";
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        if (!strncmp(a, "--", 2)) snprintf(name, sizeof name, "%.*s", (int)(eq ? eq - a - 2 : (long)strlen(a + 2)), a + 2);
        if (!name[0] || !is_method_flag(name)) { rest[n_rest++] = argv[i]; continue; }
        const char *value = eq ? eq + 1 : NULL;
        if (!value && is_switch(name)) {   /* --nesterov, or --nesterov on,off */
            value = "on";
            if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) value = argv[++i];
        } else if (!value) {
            if (i + 1 >= argc) fatal(EXIT_USAGE, "--%s: needs a value", name);
            value = argv[++i];
        }
        for (int k = 0; k < *n_flags; k++)
            if (!strcmp(flags[k].name, name)) fatal(EXIT_USAGE, "--%s: given twice", name);
        if (*n_flags == MAX_FLAGS) fatal(EXIT_USAGE, "%s: too many optimizer flags", a);
        MethodFlag *f = &flags[(*n_flags)++];
        snprintf(f->name, sizeof f->name, "%s", name);
        split_list(f, value);
    }
    rest[n_rest] = NULL;
    return n_rest;
}

static void free_flags(MethodFlag *flags, int n) {
    for (int i = 0; i < n; i++)
        for (int k = 0; k < flags[i].n; k++) free(flags[i].values[k]);
}

/* The method `name` (a row of the optimizer table, or newton) with the flags' values for
 * method number idx of n. */
static void build_method(const Config *base, const char *name, int idx, int n, const MethodFlag *flags,
                         int n_flags, TrajMethod *m) {
    memset(m, 0, sizeof *m);
    int newton = !strcmp(name, "newton");
    m->def = newton ? NULL : optim_find(name);
    if (!newton && !m->def)
        fatal(EXIT_USAGE, "--opt: unknown optimizer '%s' (choose from %s|newton)", name, optim_names());
    if (!strcmp(name, "sophia"))
        fatal(EXIT_USAGE, "--opt sophia: its curvature estimate draws labels from a model's softmax; "
              "a 2-D function has none");
    Config c = *base;
    char err[ERR_LEN];
    if (config_set_default(&c, "opt", newton ? "sgd" : name, err) != 0) fatal(EXIT_USAGE, "--opt: %s", err);
    if (newton && config_set_default(&c, "lr", "1", err) != 0) fatal(EXIT_FAIL, "internal: %s", err);
    for (int k = 0; k < n_flags; k++) {
        const MethodFlag *f = &flags[k];
        if (!strcmp(f->name, "opt")) continue;
        if (f->n != 1 && f->n != n)
            fatal(EXIT_USAGE, "--%s: %d values for %d optimizers (give one, or one per optimizer)", f->name, f->n, n);
        const char *v = f->values[f->n == 1 ? 0 : idx];
        if (!reads(m->def, f->name)) {
            if (f->n > 1 && strcmp(v, "-") != 0)
                fatal(EXIT_USAGE, "--%s: %s does not read it (write - in its place)", f->name, name);
            continue;
        }
        if (!strcmp(v, "-")) continue;
        /* a value from the list counts as given on the command line */
        if (config_set_default(&c, f->name, v, err) != 0) fatal(EXIT_USAGE, "--%s: %s", f->name, err);
    }
    config_finalize(&c);
    m->h = resolve_optim_hyper(&c);
    m->sched = resolve_schedule(&c);
    m->clip = c.clip;
    m->clip_value = c.clip_value;
    if (!strcmp(name, "lbfgs") && (c.clip > 0 || c.clip_value > 0))
        fatal(EXIT_USAGE, "--%s: not with --opt lbfgs: its curvature pairs and line search need the "
              "function's own gradient", c.clip > 0 ? "clip" : "clip-value");
    snprintf(m->label, sizeof m->label, "%s lr %g", name, c.lr);
    if (m->def && m->def->step == optim_find("sgd")->step && c.momentum > 0 && strcmp(name, "sgd"))
        snprintf(m->label + strlen(m->label), sizeof m->label - strlen(m->label), " mu %g", c.momentum);
}

/* Every single-valued method flag must be read by some method. */
static void check_flags_used(const MethodFlag *flags, int n_flags, const TrajMethod *m, int n) {
    for (int k = 0; k < n_flags; k++) {
        if (!strcmp(flags[k].name, "opt")) continue;
        int used = 0;
        for (int i = 0; i < n; i++) used |= reads(m[i].def, flags[k].name);
        if (!used) fatal(EXIT_USAGE, "--%s: not read by any of the optimizers given", flags[k].name);
    }
}

static void parse_start(const Config *c, const TestFn *fn, double start[2]) {
    start[0] = fn->start[0];
    start[1] = fn->start[1];
    if (!c->start[0]) return;
    char *end;
    start[0] = strtod(c->start, &end);
    if (end == c->start || *end != ',') fatal(EXIT_USAGE, "--start: expected x,y, got '%s'", c->start);
    const char *second = end + 1;
    start[1] = strtod(second, &end);
    if (end == second || *end || !isfinite(start[0]) || !isfinite(start[1]))
        fatal(EXIT_USAGE, "--start: expected x,y (two finite numbers), got '%s'", c->start);
}

/* out: base with its extension replaced by ext ("x.svg" -> "x.csv") */
static void sibling(const char *base, const char *ext, char *out, size_t len) {
    const char *dot = strrchr(base, '.'), *slash = strrchr(base, '/');
    int stem = dot && (!slash || dot > slash) ? (int)(dot - base) : (int)strlen(base);
    snprintf(out, len, "%.*s%s", stem, base, ext);
}

static void write_csv(const char *path, const TrajMethod *m, const TrajPath *p, int n) {
    FILE *f = fopen(path, "w");
    if (!f) fatal(EXIT_FAIL, "%s: cannot write", path);
    fprintf(f, "optimizer,step,x,y,f\n");
    for (int i = 0; i < n; i++)
        for (long t = 0; t < p[i].n; t++)
            fprintf(f, "%s,%ld,%.9g,%.9g,%.9g\n", m[i].label, t, p[i].x[t], p[i].y[t], p[i].f[t]);
    if (fclose(f) != 0) fatal(EXIT_FAIL, "%s: cannot write", path);
}

/* The picture: contour lines of fn over its domain, the paths (thinned to DRAWN_POINTS),
 * the start and the minima. */
static void write_svg(const char *path, const TestFn *fn, double k, const double start[2], long steps,
                      const TrajMethod *m, const TrajPath *p, int n) {
    int g = CONTOUR_GRID;
    double *z = xmalloc(sizeof(double) * (size_t)g * g);
    const double *d = fn->domain;
    for (int j = 0; j < g; j++)
        for (int i = 0; i < g; i++)
            z[j * g + i] = fn->f(d[0] + i * (d[1] - d[0]) / (g - 1), d[2] + j * (d[3] - d[2]) / (g - 1), k);
    char title[256];
    if (!strcmp(fn->name, "quadratic"))
        snprintf(title, sizeof title, "quadratic (x^2 + %g y^2) / 2: %ld steps from (%g, %g)", k, steps, start[0], start[1]);
    else
        snprintf(title, sizeof title, "%s: %ld steps from (%g, %g)", fn->name, steps, start[0], start[1]);
    Contour c;
    contour_init(&c, title, "x", "y", "f(x, y)");
    contour_grid(&c, z, g, g, d[0], d[1], d[2], d[3]);
    c.log_z = fn->log_levels;
    c.n_levels = 16;
    double *thin = xmalloc(sizeof(double) * 2 * (DRAWN_POINTS + 2) * (size_t)n);
    for (int i = 0; i < n; i++) {
        double *tx = thin + (size_t)i * 2 * (DRAWN_POINTS + 2), *ty = tx + DRAWN_POINTS + 2;
        long stride = (p[i].n + DRAWN_POINTS - 1) / DRAWN_POINTS, m_pts = 0;
        if (stride < 1) stride = 1;
        for (long t = 0; t < p[i].n; t += stride) { tx[m_pts] = p[i].x[t]; ty[m_pts++] = p[i].y[t]; }
        if ((p[i].n - 1) % stride) { tx[m_pts] = p[i].x[p[i].n - 1]; ty[m_pts++] = p[i].y[p[i].n - 1]; }
        contour_add_path(&c, m[i].label, tx, ty, m_pts, 0);
    }
    contour_add_mark(&c, start[0], start[1], "start", MARK_DOT);
    for (int i = 0; i < fn->n_minima; i++)
        contour_add_mark(&c, fn->minima[i][0], fn->minima[i][1], fn->n_minima > 1 ? "minima" : "minimum", MARK_STAR);
    if (!strcmp(fn->name, "saddle")) contour_add_mark(&c, 0, 0, "saddle point", MARK_CROSS);
    char err[ERR_LEN];
    if (contour_write_svg(&c, path, err) != 0) fatal(EXIT_FAIL, "%s", err);
    free(z);
    free(thin);
}

static void print_table(const TestFn *fn, double k, const double start[2], long steps, double within,
                        const Config *base, const TrajMethod *m, const TrajPath *p, int n) {
    int quad = !strcmp(fn->name, "quadratic");
    /* the rate of a linear iteration is only its rate under a constant lr without clipping */
    int theory = quad && !strcmp(base->schedule, "constant") && base->warmup == 0 && base->clip == 0 &&
                 base->clip_value == 0;
    double d0 = traj_distance(fn, start[0], start[1]);
    if (quad)
        printf("quadratic (x^2 + %g y^2) / 2 from (%g, %g): %ld steps; target: within %g of the minimum\n",
               k, start[0], start[1], steps, within);
    else
        printf("%s %s from (%g, %g): %ld steps; target: within %g of a minimum\n", fn->name, fn->formula,
               start[0], start[1], steps, within);
    printf("%-30s %9s %13s %13s %13s %11s", "optimizer", "reached", "final x", "final y", "final f", "distance");
    if (theory) printf(" %9s %9s", "rate", "theory");
    printf("\n");
    for (int i = 0; i < n; i++) {
        const TrajPath *q = &p[i];
        long last = q->n - 1;
        char reached[32];
        if (q->reached >= 0) snprintf(reached, sizeof reached, "%ld", q->reached);
        else snprintf(reached, sizeof reached, "-");
        printf("%-30s %9s %13.6g %13.6g %13.6g %11.3g", m[i].label, reached, q->x[last], q->y[last],
               q->f[last], traj_distance(fn, q->x[last], q->y[last]));
        if (theory) {
            double rate = traj_quadratic_rate(&m[i], k);
            long predicted = isnan(rate) ? -1 : traj_steps_for_rate(rate, d0, within);
            if (isnan(rate)) printf(" %9s %9s", "-", "-");
            else if (predicted < 0) printf(" %9.6f %9s", rate, "never");
            else printf(" %9.6f %9ld", rate, predicted);
        }
        if (q->stop) printf("  (%s at step %ld)", q->stop, last);
        printf("\n");
    }
    if (theory) {
        double s = sqrt(k);
        printf("(reached: steps until within %g of the minimum. rate: the linear iteration's spectral radius, "
               "theory: steps d0 rate^t needs from d0 = %.3g.\n best constant lr for this quadratic: "
               "gradient descent lr 2/(1+K) = %.6g (rate (K-1)/(K+1) = %.6f); heavy ball lr 4/(1+sqrt K)^2 = %.6g "
               "with momentum ((sqrt K-1)/(sqrt K+1))^2 = %.6g (rate %.6f))\n",
               within, d0, 2 / (1 + k), (k - 1) / (k + 1), 4 / ((1 + s) * (1 + s)), ((s - 1) / (s + 1)) * ((s - 1) / (s + 1)),
               (s - 1) / (s + 1));
    }
}

int cmd_trajectories(int argc, char **argv) {
    MethodFlag flags[MAX_FLAGS];
    int n_flags;
    char **rest = xmalloc(sizeof(char *) * (size_t)(argc + 1));
    int n_rest = take_method_flags(argc, argv, flags, &n_flags, rest);
    Config base;
    config_defaults(&base);
    config_parse_args(&base, n_rest, rest, 1, NULL, NULL);
    free(rest);
    /* the optimizer flags were taken out above; the schedule's and clipping's apply to all */
    config_check_reads(&base, "train trajectories", "--fn --start --condition --within --steps --out @schedule", NULL);
    char err[ERR_LEN];
    if (config_given(&base, "condition") && config_given(&base, "fn") && strcmp(base.fn, "quadratic"))
        fatal(EXIT_USAGE, "--condition: shapes the quadratic only (--fn %s was given)", base.fn);
    if (config_given(&base, "condition")) snprintf(base.fn, sizeof base.fn, "quadratic");
    if (!config_given(&base, "steps")) base.steps = DEFAULT_STEPS;
    if (base.steps > 10000000) fatal(EXIT_USAGE, "--steps: at most 10000000 for trajectories");
    if (config_set_default(&base, "schedule", "constant", err) != 0) fatal(EXIT_FAIL, "internal: %s", err);
    const TestFn *fn = traj_find(base.fn);
    double k = base.condition, start[2];
    parse_start(&base, fn, start);

    MethodFlag *opt_flag = NULL;
    for (int i = 0; i < n_flags; i++) if (!strcmp(flags[i].name, "opt")) opt_flag = &flags[i];
    MethodFlag defaults = {"opt", {0}, 0};
    if (!opt_flag) { split_list(&defaults, DEFAULT_OPTS); opt_flag = &defaults; }
    int n = opt_flag->n;
    TrajMethod methods[MAX_METHODS];
    TrajPath paths[MAX_METHODS];
    for (int i = 0; i < n; i++)
        build_method(&base, opt_flag->values[i], i, n, flags, n_flags, &methods[i]);
    check_flags_used(flags, n_flags, methods, n);
    for (int i = 0; i < n; i++) traj_run(fn, k, &methods[i], start, base.steps, base.within, &paths[i]);

    char svg[PATH_LEN + 8], csv[PATH_LEN + 8];
    snprintf(svg, sizeof svg, "%s", base.out[0] ? base.out : "trajectories.svg");
    sibling(svg, ".csv", csv, sizeof csv);
    if (!strcmp(svg, csv)) fatal(EXIT_USAGE, "--out: %s would be both the picture and the CSV", svg);
    print_table(fn, k, start, base.steps, base.within, &base, methods, paths, n);
    write_csv(csv, methods, paths, n);
    write_svg(svg, fn, k, start, base.steps, methods, paths, n);
    printf("wrote %s and %s\n", svg, csv);
    for (int i = 0; i < n; i++) traj_path_free(&paths[i]);
    free_flags(flags, n_flags);
    free_flags(&defaults, defaults.n);
    return 0;
}
