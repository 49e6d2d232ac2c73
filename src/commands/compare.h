/* compare.h: `train compare RUN_DIR... [--out FILE] [--csv]`: one table row per finished run
 * (its options from config.json, its figures from summary.json) and one SVG overlaying the
 * runs' curves from log.csv. `train sweep` reuses it on the runs it made. */
#ifndef COMPARE_H
#define COMPARE_H

#include <stdio.h>

typedef struct {
    char name[256];                 /* the directory's basename: the run's name */
    char opt[32], schedule[32], batch[32];
    double lr;
    long steps, best_step;
    double train_loss, train_acc, val_acc, test_loss, test_acc, wall_seconds; /* NaN: absent */
    /* log.csv: every row (step, loss, acc), and the rows with an evaluation (val_*) */
    double *step, *loss, *acc;
    int n;
    double *val_step, *val_loss, *val_acc_curve;
    int n_val;
} RunInfo;

/* Loads a run directory. Returns 0; 1 when it has no summary.json (an unfinished run; err
 * says so); -1 with err = "<path>: <why>" for anything missing or malformed. */
int compare_load(const char *dir, RunInfo *r, char *err);
void compare_free(RunInfo *r);

/* The table (aligned text with a legend line, or CSV with a header row). */
void compare_print(FILE *out, const RunInfo *runs, int n, int csv);
/* The curves: training loss, validation loss, training (batch) accuracy and validation
 * accuracy against step, one series per run, in a 2 x 2 grid. Returns 0 or -1 with err. */
int compare_write_svg(const RunInfo *runs, int n, const char *path, char *err);

/* Loads dirs (reporting and skipping unusable ones), prints the table to stdout and writes
 * the SVG to svg_path. Returns the exit code: 0, or 1 when no run was usable or the SVG could
 * not be written. */
int compare_dirs(char *const *dirs, int n, const char *svg_path, int csv, int quiet);

int cmd_compare(int argc, char **argv);

#endif
