/* runlog.h: what a run writes into its directory as it goes (rundir.h names the files):
 *   log.csv        step,epoch,lr,loss,acc,grad_norm,val_loss,val_acc,samples_per_s,seconds,
 *                  skipped[, per-layer columns]: one row every --log-every steps and at every
 *                  evaluation; loss/acc/grad_norm are that step's (training mode); val cells
 *                  are empty when not evaluated
 *   summary.json   final figures (see runlog_summary)
 * and the progress display on stderr. */
#ifndef RUN_RUNLOG_H
#define RUN_RUNLOG_H

#include "run/config.h"

#include <stdio.h>

typedef struct {
    char dir[PATH_LEN + 300];    /* the run directory */
    int fd;                      /* log.csv, appended to; -1 when not open */
    StrBuf pending;              /* rows not yet written */
    long bytes;                  /* the length of log.csv once they are */
    int quiet, tty;
    double start, last_line;
    long last_line_step;
    long base_step;          /* steps done before this process (resume), for the ETA; -1 unset */
} RunLog;

/* One row of log.csv. */
typedef struct {
    long step;
    double epoch, lr, loss, acc, grad_norm, val_loss, val_acc, samples_per_s;
    long skipped;
} LogRow;

/* Sets up the progress display only (no log file): for commands that keep no log.csv. */
void runlog_init(RunLog *r, const Config *c);
/* Stages a new run directory (rundir_stage: refusing to touch an existing one unless force,
 * config.json written) and starts the log with its header (the standard columns, then
 * extra_columns: "" or ",a,b"); the caller publishes the directory. With resume_step >= 0 it
 * reopens the resumed run's log instead (already cut at the checkpoint by recover_log),
 * checks its header and rewrites config.json. */
int runlog_open(RunLog *r, const Config *c, long resume_step, const char *extra_columns,
                char *err);
/* Appends a row; extra[0..n_extra) fill the extra columns (NAN: empty cell). */
void runlog_row(RunLog *r, const LogRow *row, const double *extra, int n_extra);
/* Puts every row so far on disk (written and fsynced; r->bytes is then the log's length):
 * done before each checkpoint, which records that length, so that the rows a resumed run
 * keeps (those up to the checkpoint's step) are all there after a crash. A failed write or
 * sync ends the process (exit 1, "train: <path>: write failed: <errno text>"). */
void runlog_flush(RunLog *r);
/* Flushes and closes the log (a failure ends the process as above). */
void runlog_close(RunLog *r);

/* summary.json: the run's final figures (README: Files) */
typedef struct {
    const char *run;
    long steps;
    double epochs;
    double train_loss, train_acc, val_loss, val_acc, test_loss, test_acc, best_val_loss;
    double samples_per_s, train_seconds, wall_seconds, load_seconds;
    long best_step, kept_step;
    const char *stopped;        /* "completed", "early-stop", "overfit", "interrupted" */
    long skipped_steps, params, seed;
    int has_raw;                /* with weight averaging: the trained weights' figures */
    double train_loss_raw, train_acc_raw, val_loss_raw, val_acc_raw, test_loss_raw, test_acc_raw;
} Summary;
void runlog_summary(const RunLog *r, const Summary *s);

/* The live progress line: a bar on a TTY, a plain line every 5% (or 30 s) otherwise. */
void progress_update(RunLog *r, long step, long total, double epoch, double lr, double loss,
                     double samples_per_s);
void progress_message(RunLog *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
