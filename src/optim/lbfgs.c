/* lbfgs.c: L-BFGS, as torch.optim.LBFGS (its defaults: lr 1, max_iter 20, max_eval
 * max_iter * 5 / 4, tolerance_grad 1e-7, tolerance_change 1e-9, history_size 100, no line
 * search unless strong_wolfe, with torch's _strong_wolfe and _cubic_interpolate).
 *
 * One optimizer step is up to max_iter iterations on the step's fixed batch, each of which
 * may evaluate the loss and gradient again through the closure (closure.h):
 *   the step's first evaluation is the trainer's; stop at once if max |g| <= tolerance_grad
 *   iteration (n_iter counts all iterations ever, across steps):
 *     first ever:  d = -g, empty history, H_diag = 1
 *     later:       y = g - g_prev, s = t d (the last step taken); if y.s > 1e-10 the pair
 *                  joins the history (the oldest leaves when it holds history_size), with
 *                  rho = 1 / y.s, and H_diag = y.s / y.y; d = -H g by the two-loop recursion:
 *                  q = -g; newest to oldest a_i = rho_i s_i.q, q -= a_i y_i;  d = H_diag q;
 *                  oldest to newest b_i = rho_i y_i.d, d += (a_i - b_i) s_i
 *     t = lr, or min(1, 1 / |g|_1) lr on the very first iteration
 *     stop if g.d > -tolerance_change
 *     strong_wolfe: t, loss and g from the line search, p += t d; else p += t d and, unless
 *       this is the last iteration, one new evaluation
 *     stop after max_iter iterations, max_eval evaluations in the step, max |g| <=
 *       tolerance_grad, max |t d| <= tolerance_change, or |loss - prev_loss| <
 *       tolerance_change
 * State, attached to the first tensor as PyTorch attaches it: d, prev_flat_grad, old_dirs
 * and old_stps ([history_size, n]: a ring, oldest at hist_first) and ro; scalars func_evals,
 * n_iter, t, H_diag, prev_loss, hist_count, hist_first. Dot products and the scalars are
 * double, vectors float. */
#include "optim/closure.h"
#include "util/util.h"

#include <math.h>
#include <string.h>

enum { FUNC_EVALS, N_ITER, STEP_T, H_DIAG, PREV_LOSS, HIST_COUNT, HIST_FIRST };
enum { D, PREV_GRAD, OLD_DIRS, OLD_STPS, RO };

static void set_state(OptState *s, const char *name, int ndim, long d0, long d1) {
    snprintf(s->name, sizeof s->name, "%s", name);
    s->ndim = ndim;
    s->shape[0] = (int)d0;
    s->shape[1] = (int)d1;
    s->size = ndim == 2 ? d0 * d1 : d0;
}

static int lbfgs_flat_state(const OptimHyper *h, long n, OptState *out) {
    set_state(&out[D], "d", 1, n, 0);
    set_state(&out[PREV_GRAD], "prev_flat_grad", 1, n, 0);
    set_state(&out[OLD_DIRS], "old_dirs", 2, h->history_size, n);
    set_state(&out[OLD_STPS], "old_stps", 2, h->history_size, n);
    set_state(&out[RO], "ro", 1, h->history_size, 0);
    return 5;
}

/* al (history_size), y and s of the newest pair (2 n), and for the line search the starting
 * point, its gradient, the previous trial's gradient and the bracket's two (5 n) */
static long lbfgs_scratch(const OptimHyper *h, long n) {
    return h->history_size + 2 * n + (h->strong_wolfe ? 5 * n : 0);
}

/* Python's max(a, b) and min(a, b): the first argument unless the second is strictly beyond */
static double py_max(double a, double b) { return b > a ? b : a; }
static double py_min(double a, double b) { return b < a ? b : a; }

/* torch.optim.lbfgs._cubic_interpolate: the minimiser of the cubic through (x1, f1) and
 * (x2, f2) with slopes g1 and g2, clamped to the bounds (by default [min x, max x]); the
 * middle of the bounds when the cubic has no minimum. */
static double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                                const double *bounds) {
    double lo = bounds ? bounds[0] : x1 <= x2 ? x1 : x2, hi = bounds ? bounds[1] : x1 <= x2 ? x2 : x1;
    double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
    double d2_square = d1 * d1 - g1 * g2;
    if (!(d2_square >= 0)) return (lo + hi) / 2.0;
    double d2 = sqrt(d2_square);
    double min_pos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                              : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return py_min(py_max(min_pos, lo), hi);
}

/* The loss and gradient (into the closure's grads) at x0 + t d; x holds x0 before and after. */
static double evaluate_at(Optim *o, float *x, const float *x0, double t, const float *d) {
    flat_axpy(x, (float)t, d, o->n_params);
    double f = o->closure->loss_grad(o->closure->ctx);
    memcpy(x, x0, sizeof(float) * (size_t)o->n_params);
    return f;
}

/* A trial point of the line search: step length, loss, directional derivative, gradient. */
typedef struct { double t, f, gtd; float *g; } Trial;

static void copy_vec(float *to, const float *from, long n) { memcpy(to, from, sizeof(float) * (size_t)n); }

/* torch.optim.lbfgs._strong_wolfe (c1 1e-4, c2 0.9, max_ls 25) from x (the parameters) along
 * d, starting at step *t with loss *f, gradient in the closure's grads and g.d = gtd. Leaves x
 * unchanged, and *t, *f and the closure's grads at the point it settles on; returns the
 * number of evaluations. */
static long strong_wolfe(Optim *o, const OptimHyper *h, float *x, double *t_io, const float *d,
                         double *f_io, double gtd) {
    const double c1 = 1e-4, c2 = 0.9;
    const int max_ls = 25;
    long n = o->n_params;
    float *g = o->closure->grads, *x0 = o->scratch + h->history_size + 2 * n;
    float *g0 = x0 + n, *g_prev_buf = g0 + n;
    Trial b[2] = {{0, 0, 0, g_prev_buf + n}, {0, 0, 0, g_prev_buf + 2 * n}};
    double f = *f_io, t = *t_io, d_norm = flat_abs_max(d, n);
    copy_vec(x0, x, n);
    copy_vec(g0, g, n);
    double f_new = evaluate_at(o, x, x0, t, d), gtd_new = flat_dot(g, d, n);
    long evals = 1;
    Trial prev = {0, f, gtd, g0};
    int done = 0, ls_iter = 0, low = 0, high = 1;
    /* bracket an interval holding a point that satisfies the strong Wolfe conditions */
    while (ls_iter < max_ls) {
        int bracket = f_new > f + c1 * t * gtd || (ls_iter > 1 && f_new >= prev.f);
        if (!bracket && fabs(gtd_new) <= -c2 * gtd) {
            b[0].t = t; b[0].f = f_new; copy_vec(b[0].g, g, n);
            done = 1;
            break;
        }
        if (bracket || gtd_new >= 0) {
            b[0].t = prev.t; b[0].f = prev.f; b[0].gtd = prev.gtd; copy_vec(b[0].g, prev.g, n);
            b[1].t = t; b[1].f = f_new; b[1].gtd = gtd_new; copy_vec(b[1].g, g, n);
            break;
        }
        double bounds[2] = {t + 0.01 * (t - prev.t), t * 10};
        double next = cubic_interpolate(prev.t, prev.f, prev.gtd, t, f_new, gtd_new, bounds);
        prev.t = t; prev.f = f_new; prev.gtd = gtd_new; prev.g = g_prev_buf;
        copy_vec(g_prev_buf, g, n);
        t = next;
        f_new = evaluate_at(o, x, x0, t, d);
        gtd_new = flat_dot(g, d, n);
        evals++;
        ls_iter++;
    }
    if (ls_iter == max_ls) {
        b[0].t = 0; b[0].f = f; copy_vec(b[0].g, g0, n);
        b[1].t = t; b[1].f = f_new; copy_vec(b[1].g, g, n);
    }
    /* zoom: shrink the bracket until a point satisfies them */
    int insufficient = 0;
    if (!done && !(b[0].f <= b[1].f)) { low = 1; high = 0; }
    while (!done && ls_iter < max_ls) {
        if (fabs(b[1].t - b[0].t) * d_norm < h->tolerance_change) break;
        t = cubic_interpolate(b[0].t, b[0].f, b[0].gtd, b[1].t, b[1].f, b[1].gtd, NULL);
        double hi = py_max(b[0].t, b[1].t), lo = py_min(b[0].t, b[1].t), eps = 0.1 * (hi - lo);
        /* too close to an end: after one such try, or outside, move 0.1 of the width in */
        if (py_min(hi - t, t - lo) < eps) {
            if (insufficient || t >= hi || t <= lo) {
                t = fabs(t - hi) < fabs(t - lo) ? hi - eps : lo + eps;
                insufficient = 0;
            } else {
                insufficient = 1;
            }
        } else {
            insufficient = 0;
        }
        f_new = evaluate_at(o, x, x0, t, d);
        gtd_new = flat_dot(g, d, n);
        evals++;
        ls_iter++;
        if (f_new > f + c1 * t * gtd || f_new >= b[low].f) {
            b[high].t = t; b[high].f = f_new; b[high].gtd = gtd_new; copy_vec(b[high].g, g, n);
            low = b[0].f <= b[1].f ? 0 : 1;
            high = 1 - low;
        } else {
            if (fabs(gtd_new) <= -c2 * gtd) {
                done = 1;
            } else if (gtd_new * (b[high].t - b[low].t) >= 0) {   /* the old high becomes the low */
                float *keep = b[high].g;
                b[high] = b[low];
                b[low].g = keep;
            }
            b[low].t = t; b[low].f = f_new; b[low].gtd = gtd_new; copy_vec(b[low].g, g, n);
        }
    }
    *t_io = b[low].t;
    *f_io = b[low].f;
    copy_vec(g, b[low].g, n);
    return evals;
}

/* max |t d_i|, as torch's d.mul(t).abs().max() */
static double scaled_abs_max(const float *d, double t, long n) {
    float tf = (float)t, m = 0.0f;
    for (long i = 0; i < n; i++) {
        float v = fabsf(d[i] * tf);
        if (v > m || v != v) m = v;
    }
    return m;
}

/* y = g - g_prev and s = t d enter the history when y.s > 1e-10 (the oldest pair leaves a
 * full one); H_diag = y.s / y.y */
static void update_history(Optim *o, const OptimHyper *h, const float *g) {
    long n = o->n_params, H = h->history_size;
    double *sc = o->scalars;
    float *y = o->scratch + H, *s = y + n, *d = optim_flat_state(o, D);
    const float *prev_g = optim_flat_state(o, PREV_GRAD);
    float t = (float)sc[STEP_T];
    for (long i = 0; i < n; i++) {
        y[i] = g[i] - prev_g[i];
        s[i] = d[i] * t;
    }
    double ys = flat_dot(y, s, n);
    if (!(ys > 1e-10)) return;
    long count = (long)sc[HIST_COUNT], first = (long)sc[HIST_FIRST], slot;
    if (count == H) {
        slot = first;
        sc[HIST_FIRST] = (double)((first + 1) % H);
    } else {
        slot = (first + count) % H;
        sc[HIST_COUNT] = (double)(count + 1);
    }
    copy_vec(optim_flat_state(o, OLD_DIRS) + slot * n, y, n);
    copy_vec(optim_flat_state(o, OLD_STPS) + slot * n, s, n);
    optim_flat_state(o, RO)[slot] = (float)(1.0 / ys);
    sc[H_DIAG] = ys / flat_dot(y, y, n);
}

/* d = -H g by the two-loop recursion over the history, oldest pair at hist_first */
static void two_loop_direction(Optim *o, const OptimHyper *h, const float *g) {
    long n = o->n_params, H = h->history_size;
    long count = (long)o->scalars[HIST_COUNT], first = (long)o->scalars[HIST_FIRST];
    float *d = optim_flat_state(o, D), *al = o->scratch, *ro = optim_flat_state(o, RO);
    const float *dirs = optim_flat_state(o, OLD_DIRS), *stps = optim_flat_state(o, OLD_STPS);
    for (long i = 0; i < n; i++) d[i] = -g[i];
    for (long k = count - 1; k >= 0; k--) {
        long slot = (first + k) % H;
        al[k] = (float)(flat_dot(stps + slot * n, d, n) * ro[slot]);
        flat_axpy(d, -al[k], dirs + slot * n, n);
    }
    float h_diag = (float)o->scalars[H_DIAG];
    for (long i = 0; i < n; i++) d[i] *= h_diag;
    for (long k = 0; k < count; k++) {
        long slot = (first + k) % H;
        double be = flat_dot(dirs + slot * n, d, n) * ro[slot];
        flat_axpy(d, (float)(al[k] - be), stps + slot * n, n);
    }
}

static void lbfgs_step(Optim *o, const OptimHyper *h, float *x, long step, float lr) {
    (void)step;
    long n = o->n_params;
    double *sc = o->scalars;
    float *g = o->closure->grads, *d = optim_flat_state(o, D), *prev_g = optim_flat_state(o, PREV_GRAD);
    double loss = o->closure->loss;
    long evals = 1;
    sc[FUNC_EVALS] += 1;
    if (flat_abs_max(g, n) <= h->tolerance_grad) return;
    for (long n_iter = 1; n_iter <= h->max_iter; n_iter++) {
        sc[N_ITER] += 1;
        if (sc[N_ITER] == 1) {
            for (long i = 0; i < n; i++) d[i] = -g[i];
            sc[HIST_COUNT] = sc[HIST_FIRST] = 0;
            sc[H_DIAG] = 1;
        } else {
            update_history(o, h, g);
            two_loop_direction(o, h, g);
        }
        copy_vec(prev_g, g, n);
        sc[PREV_LOSS] = loss;
        double t = sc[N_ITER] == 1 ? py_min(1.0, 1.0 / flat_abs_sum(g, n)) * lr : lr;
        sc[STEP_T] = t;
        double gtd = flat_dot(g, d, n);
        if (gtd > -h->tolerance_change) break;
        long ls_evals = 0;
        if (h->strong_wolfe) {
            ls_evals = strong_wolfe(o, h, x, &t, d, &loss, gtd);
            sc[STEP_T] = t;
            flat_axpy(x, (float)t, d, n);
        } else {
            flat_axpy(x, (float)t, d, n);
            if (n_iter != h->max_iter) {   /* the last iteration's point is the next step's start */
                loss = o->closure->loss_grad(o->closure->ctx);
                ls_evals = 1;
            }
        }
        int optimal = ls_evals && flat_abs_max(g, n) <= h->tolerance_grad;
        evals += ls_evals;
        sc[FUNC_EVALS] += (double)ls_evals;
        if (n_iter == h->max_iter || evals >= h->max_eval || optimal) break;
        if (scaled_abs_max(d, t, n) <= h->tolerance_change) break;   /* lack of progress */
        if (fabs(loss - sc[PREV_LOSS]) < h->tolerance_change) break;
    }
}

/* A stored history position indexes the history tensors: it must lie inside them. */
static int lbfgs_check_scalars(const Optim *o, char *err) {
    const double *sc = o->scalars;
    double H = (double)o->h.history_size;
    int whole = sc[HIST_COUNT] == floor(sc[HIST_COUNT]) && sc[HIST_FIRST] == floor(sc[HIST_FIRST]);
    if (!whole || sc[HIST_COUNT] < 0 || sc[HIST_COUNT] > H || sc[HIST_FIRST] < 0 || sc[HIST_FIRST] >= H)
        return errf(err, "optimizer scalars hist_count %.17g, hist_first %.17g do not fit a history of %g",
                    sc[HIST_COUNT], sc[HIST_FIRST], H);
    return 0;
}

const OptimClosureRule lbfgs_rule = {
    "func_evals n_iter t H_diag prev_loss hist_count hist_first", 0, lbfgs_flat_state,
    lbfgs_scratch, lbfgs_step, NULL, NULL, lbfgs_check_scalars,
};
