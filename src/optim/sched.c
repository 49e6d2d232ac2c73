/* sched.c: the schedule table and the warmup that composes with every schedule.
 * Each decay gets s (steps since warmup ended) and S (steps the decay spans). */
#include "optim/sched.h"

#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* cos annealing from a (pct = 0) to b (pct = 1), as OneCycleLR's _annealing_cos */
static double anneal_cos(double a, double b, double pct) {
    return b + (a - b) / 2.0 * (cos(M_PI * pct) + 1.0);
}

/* constant: lr */
static double sched_constant(const Schedule *c, long s, long S) {
    (void)s; (void)S;
    return c->lr;
}

/* step (StepLR): lr * gamma^floor(s / step_size) */
static double sched_step(const Schedule *c, long s, long S) {
    (void)S;
    return c->lr * pow(c->gamma, (double)(s / c->step_size));
}

/* multistep (MultiStepLR): lr * gamma^(number of milestones <= s) */
static double sched_multistep(const Schedule *c, long s, long S) {
    (void)S;
    int passed = 0;
    for (int i = 0; i < c->n_milestones; i++) passed += c->milestones[i] <= s;
    return c->lr * pow(c->gamma, passed);
}

/* exp (ExponentialLR): lr * gamma^s */
static double sched_exp(const Schedule *c, long s, long S) {
    (void)S;
    return c->lr * pow(c->gamma, (double)s);
}

/* poly (PolynomialLR, with a floor): min_lr + (lr - min_lr) (1 - s/S)^power */
static double sched_poly(const Schedule *c, long s, long S) {
    if (S <= 0 || s >= S) return c->min_lr;
    return c->min_lr + (c->lr - c->min_lr) * pow(1.0 - (double)s / S, c->power);
}

/* linear (LinearLR from factor 1 to min_lr/lr over S steps): lr + (min_lr - lr) s/S */
static double sched_linear(const Schedule *c, long s, long S) {
    if (S <= 0 || s >= S) return c->min_lr;
    return c->lr + (c->min_lr - c->lr) * (double)s / S;
}

/* cosine (CosineAnnealingLR, T_max = S): min_lr + (lr - min_lr) (1 + cos(pi s/S)) / 2 */
static double sched_cosine(const Schedule *c, long s, long S) {
    if (S <= 0) return c->lr;
    return anneal_cos(c->lr, c->min_lr, (double)s / S);
}

/* restarts (CosineAnnealingWarmRestarts, SGDR): cycles of T_0 = --cycle steps, each
 * --cycle-mult times longer than the last; within a cycle of length T_i at position s_i:
 * min_lr + (lr - min_lr) (1 + cos(pi s_i / T_i)) / 2. */
static double sched_restarts(const Schedule *c, long s, long S) {
    (void)S;
    long len = c->cycle, pos = s;
    if (c->cycle_mult == 1) pos = s % len;
    else
        while (pos >= len) { pos -= len; len *= c->cycle_mult; }
    return anneal_cos(c->lr, c->min_lr, (double)pos / len);
}

/* cyclic (CyclicLR, step_size_up = step_size_down = --cycle): a triangle between min_lr and
 * lr, period 2 cycle: x = 1 + s/(2 cycle) - k (k = cycle number, from 1), height
 * (lr - min_lr) * (x <= 1/2 ? 2x : 2 - 2x), times 1 (triangular), 1/2^(k-1) (triangular2)
 * or gamma^s (exp_range). */
static double sched_cyclic(const Schedule *c, long s, long S) {
    (void)S;
    double total = 2.0 * (double)c->cycle;
    double k = floor(1.0 + s / total), x = 1.0 + s / total - k;
    double factor = x <= 0.5 ? x / 0.5 : (x - 1.0) / (0.5 - 1.0);
    double scale = 1.0;
    if (c->cyclic_mode == CYCLIC_TRIANGULAR2) scale = 1.0 / pow(2.0, k - 1.0);
    else if (c->cyclic_mode == CYCLIC_EXP_RANGE) scale = pow(c->gamma, (double)s);
    return c->min_lr + (c->lr - c->min_lr) * factor * scale;
}

/* onecycle (OneCycleLR, cos annealing): from lr/div_factor up to lr over the first
 * pct_start of S steps, then down to lr/(div_factor final_div_factor); --three-phase: up,
 * back down to lr/div_factor, then the final annealing. Phase ends as PyTorch sets them:
 * pct S - 1, (2 pct S - 2), S - 1. Momentum goes the opposite way between
 * --max-momentum and --base-momentum. which = 0: lr, 1: momentum. */
static double onecycle(const Schedule *c, long s, long S, int which) {
    double initial = c->lr / c->div_factor, final = initial / c->final_div_factor;
    double hi = c->max_momentum, lo = c->base_momentum;
    double ends[3], from[3][2], to[3][2];
    int n;
    if (c->three_phase) {
        n = 3;
        ends[0] = c->pct_start * S - 1; ends[1] = 2 * c->pct_start * S - 2; ends[2] = S - 1;
        from[0][0] = initial; to[0][0] = c->lr;  from[0][1] = hi; to[0][1] = lo;
        from[1][0] = c->lr; to[1][0] = initial;  from[1][1] = lo; to[1][1] = hi;
        from[2][0] = initial; to[2][0] = final;  from[2][1] = hi; to[2][1] = hi;
    } else {
        n = 2;
        ends[0] = c->pct_start * S - 1; ends[1] = S - 1;
        from[0][0] = initial; to[0][0] = c->lr;  from[0][1] = hi; to[0][1] = lo;
        from[1][0] = c->lr; to[1][0] = final;    from[1][1] = lo; to[1][1] = hi;
    }
    double start = 0;
    for (int i = 0; i < n; i++) {
        if ((double)s <= ends[i] || i == n - 1) {
            double pct = ends[i] > start ? ((double)s - start) / (ends[i] - start) : 1.0;
            return anneal_cos(from[i][which], to[i][which], pct);
        }
        start = ends[i];
    }
    return NAN;   /* unreachable: the last phase always answers */
}

static double sched_onecycle(const Schedule *c, long s, long S) {
    return onecycle(c, s, S, 0);
}

const SchedDef sched_table[] = {
    {"constant", sched_constant, "", "lr", 0},
    {"step", sched_step, "--step-size --gamma", "lr gamma^floor(s / step_size)", 0},
    {"multistep", sched_multistep, "--milestones --gamma", "lr gamma^(milestones <= s)", 0},
    {"exp", sched_exp, "--gamma", "lr gamma^s", 0},
    {"poly", sched_poly, "--power --min-lr", "min_lr + (lr - min_lr) (1 - s/S)^power", 0},
    {"linear", sched_linear, "--min-lr", "lr + (min_lr - lr) s/S", 0},
    {"cosine", sched_cosine, "--min-lr", "min_lr + (lr - min_lr) (1 + cos(pi s/S)) / 2", 0},
    {"restarts", sched_restarts, "--cycle --cycle-mult --min-lr",
     "cosine from lr to min_lr within cycles of --cycle steps, each --cycle-mult times longer", 0},
    {"cyclic", sched_cyclic, "--cycle --cyclic-mode --min-lr --gamma",
     "triangle between min_lr and lr, --cycle steps up and down (triangular|triangular2|exp_range)", 0},
    {"onecycle", sched_onecycle, "--pct-start --div-factor --final-div-factor --three-phase "
     "--cycle-momentum --base-momentum --max-momentum",
     "cos from lr/div_factor up to lr (pct_start of S), then down to lr/(div_factor final_div_factor)", 1},
};
const int sched_count = sizeof sched_table / sizeof sched_table[0];

const SchedDef *sched_find(const char *name) {
    return find_by_name(sched_table, sched_count, sizeof(SchedDef), name);
}

const char *sched_names(void) {
    static char names[256];
    if (!names[0]) join_names(sched_table, sched_count, sizeof(SchedDef), names, sizeof names);
    return names;
}

double sched_lr(const Schedule *c, long step, long total_steps) {
    if (step < c->warmup) return c->lr * (double)(step + 1) / (double)c->warmup;
    return c->def->decay(c, step - c->warmup, total_steps - c->warmup);
}

double sched_momentum(const Schedule *c, long step, long total_steps) {
    if (!c->def->cycles_momentum || !c->cycle_momentum) return NAN;
    if (step < c->warmup) return c->max_momentum;
    return onecycle(c, step - c->warmup, total_steps - c->warmup, 1);
}

int sched_parse_milestones(const char *text, long *out, int max, char *err) {
    int n = 0;
    const char *p = text;
    if (!*p) return errf(err, "expected steps like 3000,6000");
    for (;;) {
        char *end;
        if (*p < '0' || *p > '9') return errf(err, "'%s': expected steps like 3000,6000", text);
        long v = strtol(p, &end, 10);
        if (v <= 0) return errf(err, "'%s': milestones must be positive", text);
        if (n > 0 && v <= out[n - 1]) return errf(err, "'%s': milestones must increase", text);
        if (n == max) return errf(err, "'%s': more than %d milestones", text, max);
        out[n++] = v;
        if (*end == 0) return n;
        if (*end != ',') return errf(err, "'%s': unexpected '%c'", text, *end);
        p = end + 1;
    }
}
