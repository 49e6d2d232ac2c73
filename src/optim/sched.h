/* sched.h: learning-rate schedules as pure functions of the optimizer step, so resuming a
 * run restores nothing but the step number.
 *
 * t counts optimizer steps from 0 (the rate of step t is used for the (t+1)-th update);
 * T is the run's total number of steps; W = --warmup.
 *   warmup (t < W):  lr(t) = lr * (t + 1) / W, whatever the schedule
 *   after warmup:    lr(t) = decay(s, S) with s = t - W steps into the decay, of S = T - W
 * Every decay is PyTorch's scheduler of the same idea, evaluated at its step count s (what
 * PyTorch calls last_epoch after s calls of scheduler.step()). The formulas are in sched.c
 * and the README. */
#ifndef OPTIM_SCHED_H
#define OPTIM_SCHED_H

#define SCHED_MAX_MILESTONES 64

enum { CYCLIC_TRIANGULAR, CYCLIC_TRIANGULAR2, CYCLIC_EXP_RANGE };

struct SchedDef;

/* A schedule with its parameters, resolved once from the options. */
typedef struct {
    const struct SchedDef *def;
    double lr, min_lr, gamma, power;
    long warmup, step_size, cycle, cycle_mult;
    long milestones[SCHED_MAX_MILESTONES];
    int n_milestones;
    int cyclic_mode;       /* CYCLIC_* */
    double pct_start, div_factor, final_div_factor, base_momentum, max_momentum;
    int three_phase, cycle_momentum;
} Schedule;

typedef struct SchedDef {
    const char *name;
    double (*decay)(const Schedule *c, long s, long S);
    const char *flags;     /* the flags it reads besides --lr and --warmup */
    const char *formula;
    int cycles_momentum;   /* cycles momentum / beta1 against lr (with --cycle-momentum) */
} SchedDef;

extern const SchedDef sched_table[];
extern const int sched_count;
const SchedDef *sched_find(const char *name);
const char *sched_names(void);

double sched_lr(const Schedule *c, long step, long total_steps);
/* The momentum (or Adam's beta1) for step t when the schedule cycles it (onecycle with
 * --cycle-momentum), else NAN. */
double sched_momentum(const Schedule *c, long step, long total_steps);

/* Parses --milestones "a,b,c" (strictly increasing positive step counts). Returns the count
 * (at most max), or -1 with err. */
int sched_parse_milestones(const char *text, long *out, int max, char *err);

#endif
