/* trajectories.h: optimizers on two-dimensional test functions, run by the same code that
 * trains networks: the update rules of the optimizer table over one two-element parameter
 * tensor (optim.h), the learning-rate schedules (sched.h) and gradient clipping (clip.h),
 * plus Newton's method with the exact 2x2 Hessian.
 *
 * The functions, with exact gradients and Hessians (the formulas are in trajectories.c):
 *   rosenbrock  (1 - x)^2 + 100 (y - x^2)^2                       minimum (1, 1)
 *   beale       (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2   (3, 0.5)
 *   himmelblau  (x^2 + y - 11)^2 + (x + y^2 - 7)^2                four minima, value 0
 *   booth       (x + 2y - 7)^2 + (2x + y - 5)^2                    (1, 3)
 *   quadratic   (x^2 + K y^2) / 2, condition number K (--condition) (0, 0)
 *   saddle      x^2 + y^4/4 - y^2/2: a saddle point at (0, 0) between minima (0, +-1)
 *   rastrigin   20 + x^2 + y^2 - 10 cos(2 pi x) - 10 cos(2 pi y)   (0, 0), many local minima */
#ifndef INSTRUMENTS_TRAJECTORIES_H
#define INSTRUMENTS_TRAJECTORIES_H

#include "optim/optim.h"
#include "optim/sched.h"

#define TRAJ_MAX_MINIMA 4

typedef struct {
    const char *name;
    const char *formula;
    double (*f)(double x, double y, double k);
    void (*grad)(double x, double y, double k, double g[2]);
    void (*hess)(double x, double y, double k, double h[3]);   /* h_xx, h_xy, h_yy */
    double domain[4];          /* x0, x1, y0, y1 of the picture */
    double start[2];           /* the default starting point */
    int n_minima;
    double minima[TRAJ_MAX_MINIMA][2];
    int log_levels;            /* contour levels spaced by ratio rather than difference */
} TestFn;

extern const TestFn traj_functions[];
extern const int traj_function_count;
const TestFn *traj_find(const char *name);
const char *traj_names(void);              /* "rosenbrock|beale|..." */
/* Euclidean distance from (x, y) to the nearest global minimum. */
double traj_distance(const TestFn *fn, double x, double y);

/* One method: a row of the optimizer table with its hyper-parameters, or Newton's method
 * (def NULL): p <- p - lr H^-1 g. */
typedef struct {
    char label[48];
    const OptimDef *def;
    OptimHyper h;
    Schedule sched;
    double clip, clip_value;   /* as --clip and --clip-value (0: off) */
} TrajMethod;

typedef struct {
    double *x, *y, *f;         /* the points visited, the start first */
    long n;                    /* points stored (steps done + 1) */
    long reached;              /* the first step count at which the distance to a minimum
                                  was within the target, or -1 */
    const char *stop;          /* why it stopped early: "diverged", "singular Hessian",
                                  "non-finite gradient"; NULL when all steps ran */
} TrajPath;

/* Runs `steps` updates from start on fn (k: the quadratic's condition number). */
void traj_run(const TestFn *fn, double k, const TrajMethod *m, const double start[2], long steps,
              double within, TrajPath *out);
void traj_path_free(TrajPath *p);

/* On the quadratic: the asymptotic contraction factor per step of the distance to the
 * minimum under method m (its first rate, no clipping, constant schedule): the spectral
 * radius of the method's linear iteration, the worst over the two eigenvalues 1 and K
 * (plus the weight decay). NAN for the adaptive rules, whose iteration is not linear. */
double traj_quadratic_rate(const TrajMethod *m, double k);
/* Steps for a contraction factor rate to take a distance d0 to within: the least t with
 * d0 rate^t <= within (0 if already within, -1 if rate >= 1). */
long traj_steps_for_rate(double rate, double d0, double within);

#endif
