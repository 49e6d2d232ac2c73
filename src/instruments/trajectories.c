/* trajectories.c: the 2-D test functions and the optimizer runs on them, see trajectories.h. */
#include "instruments/trajectories.h"
#include "optim/clip.h"
#include "optim/closure.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Rosenbrock: f = (1 - x)^2 + 100 (y - x^2)^2
 * f_x = -2 (1 - x) - 400 x (y - x^2), f_y = 200 (y - x^2)
 * f_xx = 2 - 400 y + 1200 x^2, f_xy = -400 x, f_yy = 200 */
static double rosenbrock(double x, double y, double k) {
    (void)k;
    return (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x);
}
static void rosenbrock_grad(double x, double y, double k, double g[2]) {
    (void)k;
    g[0] = -2 * (1 - x) - 400 * x * (y - x * x);
    g[1] = 200 * (y - x * x);
}
static void rosenbrock_hess(double x, double y, double k, double h[3]) {
    (void)k;
    h[0] = 2 - 400 * y + 1200 * x * x;
    h[1] = -400 * x;
    h[2] = 200;
}

/* ---- Beale: f = sum_i a_i^2 with a_1 = 1.5 - x + x y, a_2 = 2.25 - x + x y^2,
 * a_3 = 2.625 - x + x y^3; a_i = c_i - x + x y^i, so
 * da_i/dx = y^i - 1, da_i/dy = i x y^(i-1), d2a_i/dx2 = 0, d2a_i/dxdy = i y^(i-1),
 * d2a_i/dy2 = i (i-1) x y^(i-2), and f_uv = 2 sum_i (da_i/du da_i/dv + a_i d2a_i/dudv). */
static const double beale_c[3] = {1.5, 2.25, 2.625};
static void beale_terms(double x, double y, double a[3], double ax[3], double ay[3], double axy[3],
                        double ayy[3]) {
    for (int i = 1; i <= 3; i++) {
        double yi = pow(y, i), yi1 = pow(y, i - 1), yi2 = i >= 2 ? pow(y, i - 2) : 0;
        a[i - 1] = beale_c[i - 1] - x + x * yi;
        ax[i - 1] = yi - 1;
        ay[i - 1] = i * x * yi1;
        axy[i - 1] = i * yi1;
        ayy[i - 1] = i * (i - 1) * x * yi2;
    }
}
static double beale(double x, double y, double k) {
    (void)k;
    double a[3], ax[3], ay[3], axy[3], ayy[3];
    beale_terms(x, y, a, ax, ay, axy, ayy);
    return a[0] * a[0] + a[1] * a[1] + a[2] * a[2];
}
static void beale_grad(double x, double y, double k, double g[2]) {
    (void)k;
    double a[3], ax[3], ay[3], axy[3], ayy[3];
    beale_terms(x, y, a, ax, ay, axy, ayy);
    g[0] = g[1] = 0;
    for (int i = 0; i < 3; i++) {
        g[0] += 2 * a[i] * ax[i];
        g[1] += 2 * a[i] * ay[i];
    }
}
static void beale_hess(double x, double y, double k, double h[3]) {
    (void)k;
    double a[3], ax[3], ay[3], axy[3], ayy[3];
    beale_terms(x, y, a, ax, ay, axy, ayy);
    h[0] = h[1] = h[2] = 0;
    for (int i = 0; i < 3; i++) {
        h[0] += 2 * ax[i] * ax[i];
        h[1] += 2 * (ax[i] * ay[i] + a[i] * axy[i]);
        h[2] += 2 * (ay[i] * ay[i] + a[i] * ayy[i]);
    }
}

/* ---- Himmelblau: f = u^2 + v^2 with u = x^2 + y - 11, v = x + y^2 - 7
 * f_x = 4 x u + 2 v, f_y = 2 u + 4 y v
 * f_xx = 4 u + 8 x^2 + 2, f_xy = 4 (x + y), f_yy = 2 + 4 v + 8 y^2 */
static double himmelblau(double x, double y, double k) {
    (void)k;
    double u = x * x + y - 11, v = x + y * y - 7;
    return u * u + v * v;
}
static void himmelblau_grad(double x, double y, double k, double g[2]) {
    (void)k;
    double u = x * x + y - 11, v = x + y * y - 7;
    g[0] = 4 * x * u + 2 * v;
    g[1] = 2 * u + 4 * y * v;
}
static void himmelblau_hess(double x, double y, double k, double h[3]) {
    (void)k;
    double u = x * x + y - 11, v = x + y * y - 7;
    h[0] = 4 * u + 8 * x * x + 2;
    h[1] = 4 * (x + y);
    h[2] = 2 + 4 * v + 8 * y * y;
}

/* ---- Booth: f = (x + 2y - 7)^2 + (2x + y - 5)^2
 * f_x = 10 x + 8 y - 34, f_y = 8 x + 10 y - 38; H = [[10, 8], [8, 10]] (eigenvalues 18, 2) */
static double booth(double x, double y, double k) {
    (void)k;
    return (x + 2 * y - 7) * (x + 2 * y - 7) + (2 * x + y - 5) * (2 * x + y - 5);
}
static void booth_grad(double x, double y, double k, double g[2]) {
    (void)k;
    g[0] = 10 * x + 8 * y - 34;
    g[1] = 8 * x + 10 * y - 38;
}
static void booth_hess(double x, double y, double k, double h[3]) {
    (void)x; (void)y; (void)k;
    h[0] = 10;
    h[1] = 8;
    h[2] = 10;
}

/* ---- the quadratic (x^2 + K y^2) / 2: gradient (x, K y), Hessian diag(1, K) */
static double quadratic(double x, double y, double k) {
    return 0.5 * (x * x + k * y * y);
}
static void quadratic_grad(double x, double y, double k, double g[2]) {
    g[0] = x;
    g[1] = k * y;
}
static void quadratic_hess(double x, double y, double k, double h[3]) {
    (void)x; (void)y;
    h[0] = 1;
    h[1] = 0;
    h[2] = k;
}

/* ---- saddle: f = x^2 + y^4/4 - y^2/2; f_x = 2x, f_y = y^3 - y;
 * f_xx = 2, f_xy = 0, f_yy = 3 y^2 - 1 (negative near y = 0: the saddle at the origin) */
static double saddle(double x, double y, double k) {
    (void)k;
    return x * x + 0.25 * y * y * y * y - 0.5 * y * y;
}
static void saddle_grad(double x, double y, double k, double g[2]) {
    (void)k;
    g[0] = 2 * x;
    g[1] = y * y * y - y;
}
static void saddle_hess(double x, double y, double k, double h[3]) {
    (void)x; (void)k;
    h[0] = 2;
    h[1] = 0;
    h[2] = 3 * y * y - 1;
}

/* ---- Rastrigin: f = 20 + sum over u in {x, y} of u^2 - 10 cos(2 pi u);
 * f_u = 2 u + 20 pi sin(2 pi u), f_uu = 2 + 40 pi^2 cos(2 pi u), f_xy = 0 */
static double rastrigin(double x, double y, double k) {
    (void)k;
    return 20 + x * x + y * y - 10 * cos(2 * M_PI * x) - 10 * cos(2 * M_PI * y);
}
static void rastrigin_grad(double x, double y, double k, double g[2]) {
    (void)k;
    g[0] = 2 * x + 20 * M_PI * sin(2 * M_PI * x);
    g[1] = 2 * y + 20 * M_PI * sin(2 * M_PI * y);
}
static void rastrigin_hess(double x, double y, double k, double h[3]) {
    (void)k;
    h[0] = 2 + 40 * M_PI * M_PI * cos(2 * M_PI * x);
    h[1] = 0;
    h[2] = 2 + 40 * M_PI * M_PI * cos(2 * M_PI * y);
}

const TestFn traj_functions[] = {
    {"rosenbrock", "(1 - x)^2 + 100 (y - x^2)^2", rosenbrock, rosenbrock_grad, rosenbrock_hess,
     {-2, 2, -1, 3}, {-1.5, 1.5}, 1, {{1, 1}}, 1},
    {"beale", "(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2", beale, beale_grad,
     beale_hess, {-4.5, 4.5, -4.5, 4.5}, {1, 1.5}, 1, {{3, 0.5}}, 1},
    {"himmelblau", "(x^2 + y - 11)^2 + (x + y^2 - 7)^2", himmelblau, himmelblau_grad, himmelblau_hess,
     {-5, 5, -5, 5}, {-0.5, -0.5}, 4,
     {{3, 2}, {-2.805118086952745, 3.131312518250573}, {-3.779310253377747, -3.283185991286170},
      {3.584428340330492, -1.848126526964404}}, 1},
    {"booth", "(x + 2y - 7)^2 + (2x + y - 5)^2", booth, booth_grad, booth_hess,
     {-10, 10, -10, 10}, {-8, -8}, 1, {{1, 3}}, 1},
    {"quadratic", "(x^2 + K y^2) / 2", quadratic, quadratic_grad, quadratic_hess,
     {-1.5, 1.5, -1.5, 1.5}, {1, 1}, 1, {{0, 0}}, 1},
    {"saddle", "x^2 + y^4/4 - y^2/2", saddle, saddle_grad, saddle_hess,
     {-2, 2, -1.6, 1.6}, {-1.5, 0.001}, 2, {{0, 1}, {0, -1}}, 0},
    {"rastrigin", "20 + x^2 + y^2 - 10 cos(2 pi x) - 10 cos(2 pi y)", rastrigin, rastrigin_grad,
     rastrigin_hess, {-5.12, 5.12, -5.12, 5.12}, {-3.5, 3.3}, 1, {{0, 0}}, 0},
};
const int traj_function_count = sizeof traj_functions / sizeof traj_functions[0];

const TestFn *traj_find(const char *name) {
    return find_by_name(traj_functions, traj_function_count, sizeof(TestFn), name);
}

const char *traj_names(void) {
    static char names[256];
    if (!names[0]) join_names(traj_functions, traj_function_count, sizeof(TestFn), names, sizeof names);
    return names;
}

double traj_distance(const TestFn *fn, double x, double y) {
    double best = INFINITY;
    for (int i = 0; i < fn->n_minima; i++) {
        double d = hypot(x - fn->minima[i][0], y - fn->minima[i][1]);
        if (d < best) best = d;
    }
    return best;
}

#define DIVERGED 1e12

/* Newton's step -lr H^-1 g for the 2x2 Hessian [[a, b], [b, c]]; 0 when H is singular. */
static int newton_step(const double h[3], const double g[2], double lr, double step[2]) {
    double det = h[0] * h[2] - h[1] * h[1];
    if (!isfinite(det) || fabs(det) < 1e-300) return 0;
    step[0] = -lr * (h[2] * g[0] - h[1] * g[1]) / det;
    step[1] = -lr * (h[0] * g[1] - h[1] * g[0]) / det;
    return 1;
}

/* L-BFGS's closure on a test function: its value and gradient at the current point. */
typedef struct { const TestFn *fn; double k; float *p, *g; } TrajPoint;

static double traj_loss_grad(void *ctx) {
    TrajPoint *c = ctx;
    double gd[2];
    c->fn->grad(c->p[0], c->p[1], c->k, gd);
    c->g[0] = (float)gd[0];
    c->g[1] = (float)gd[1];
    return c->fn->f(c->p[0], c->p[1], c->k);
}

void traj_run(const TestFn *fn, double k, const TrajMethod *m, const double start[2], long steps,
              double within, TrajPath *out) {
    memset(out, 0, sizeof *out);
    out->x = xmalloc(sizeof(double) * (size_t)(steps + 1));
    out->y = xmalloc(sizeof(double) * (size_t)(steps + 1));
    out->f = xmalloc(sizeof(double) * (size_t)(steps + 1));
    out->reached = -1;
    /* the parameters are one float tensor of two elements, as a network's would be */
    float p[2] = {(float)start[0], (float)start[1]}, g[2];
    Optim opt;
    TrajPoint point = {fn, k, p, g};
    OptimClosure closure = {traj_loss_grad, NULL, &point, g, 0};
    if (m->def) {
        OptTensor t = {"xy", 1, {2, 0}, ROLE_WEIGHT, 0, 2};
        optim_init(&opt, m->def, &m->h, &t, 1, 2);
        opt.closure = &closure;   /* L-BFGS re-evaluates the function inside its step */
    }
    for (long t = 0;; t++) {
        out->x[t] = p[0];
        out->y[t] = p[1];
        out->f[t] = fn->f(p[0], p[1], k);
        out->n = t + 1;
        if (out->reached < 0 && traj_distance(fn, p[0], p[1]) <= within) out->reached = t;
        if (t == steps) break;
        double gd[2], lr = sched_lr(&m->sched, t, steps);
        fn->grad(p[0], p[1], k, gd);
        if (!isfinite(gd[0]) || !isfinite(gd[1])) { out->stop = "non-finite gradient"; break; }
        if (!m->def) {
            double h[3], step[2];
            fn->hess(p[0], p[1], k, h);
            if (!newton_step(h, gd, lr, step)) { out->stop = "singular Hessian"; break; }
            p[0] = (float)(p[0] + step[0]);
            p[1] = (float)(p[1] + step[1]);
        } else {
            /* the trainer's step: clip the value, then the norm, then the rule */
            g[0] = (float)gd[0];
            g[1] = (float)gd[1];
            double norm = grad_global_norm(g, 2);
            if (m->clip_value > 0) {
                clip_grad_value(g, 2, m->clip_value);
                norm = grad_global_norm(g, 2);
            }
            if (m->clip > 0) clip_grad_norm(g, 2, norm, m->clip);
            closure.loss = out->f[t];
            optim_step(&opt, p, g, t + 1, (float)lr, sched_momentum(&m->sched, t, steps));
        }
        if (!isfinite(p[0]) || !isfinite(p[1]) || fabs(p[0]) > DIVERGED || fabs(p[1]) > DIVERGED) {
            out->stop = "diverged";
            break;
        }
    }
    if (m->def) optim_free(&opt);
}

void traj_path_free(TrajPath *p) {
    free(p->x);
    free(p->y);
    free(p->f);
    memset(p, 0, sizeof *p);
}

/* Spectral radius of the 2x2 matrix [[a, b], [c, d]]: from its trace and determinant. */
static double radius2(double a, double b, double c, double d) {
    double tr = a + d, det = a * d - b * c, disc = tr * tr / 4 - det;
    if (disc >= 0) return fmax(fabs(tr / 2 + sqrt(disc)), fabs(tr / 2 - sqrt(disc)));
    return sqrt(det);   /* a complex pair: both of modulus sqrt(det) */
}

/* SGD with momentum mu and dampening d on one eigen-direction of curvature lam, as the
 * linear map of (x_t, b_{t-1}) to (x_{t+1}, b_t), with b_t = mu b_{t-1} + (1 - d) lam x_t:
 *   heavy ball  x_{t+1} = x_t - lr b_t
 *   Nesterov    x_{t+1} = x_t - lr (lam x_t + mu b_t)
 * Without momentum x_{t+1} = (1 - lr lam) x_t. */
static double sgd_radius(const OptimHyper *h, double lr, double lam) {
    double mu = h->momentum, a = (1 - h->dampening) * lam;
    if (mu == 0) return fabs(1 - lr * lam);
    if (h->nesterov) return radius2(1 - lr * lam - lr * mu * a, -lr * mu * mu, a, mu);
    return radius2(1 - lr * a, -lr * mu, a, mu);
}

double traj_quadratic_rate(const TrajMethod *m, double k) {
    double lr = sched_lr(&m->sched, 0, 1);
    if (!m->def) return fabs(1 - lr);   /* Newton: the exact step scaled by lr */
    if (m->def->step == NULL || m->def->step != optim_find("sgd")->step) return NAN;
    double wd = m->h.wd;
    return fmax(sgd_radius(&m->h, lr, 1 + wd), sgd_radius(&m->h, lr, k + wd));
}

long traj_steps_for_rate(double rate, double d0, double within) {
    if (d0 <= within) return 0;
    if (!(rate < 1)) return -1;
    if (rate <= 0) return 1;
    return (long)ceil(log(within / d0) / log(rate));
}
