/* recover.h: what a resume finds in a run directory and puts right before training goes on.
 *   log.csv       cut at the checkpoint's row: ftruncate(2) to the length the checkpoint
 *                 recorded (one system call: a kill leaves the log whole or cut, never half
 *                 rewritten); for checkpoints that predate the record, the end of the last
 *                 complete row at or before the checkpoint's step
 *   config.json   compared with the checkpoint's options, which are the run's: a hand edit is
 *                 named in a warning (and config.json is then rewritten from the checkpoint)
 *   summary.json  whether it is the final summary of the checkpoint's state: a run that ended
 *                 but whose summary is missing, empty or stale gets its final evaluation again */
#ifndef RUN_RECOVER_H
#define RUN_RECOVER_H

#include "run/checkpoint.h"
#include "run/config.h"
#include "run/loop.h"

/* Cuts dir/log.csv as above. Returns 0, or -1 with err. */
int recover_log(const char *dir, const TrainState *st, char *err);
/* Warns when dir/config.json differs from the stored options (or cannot be read). */
void recover_check_config(const char *dir, const Config *stored);
/* 1 when dir/summary.json is a finished run's summary ("stopped" completed, early-stop or
 * overfit) of `step` steps. */
int recover_summary_final(const char *dir, long step);
/* A run whose final state was saved but whose summary was not: what the loop knew at its end
 * (why it stopped; --overfit's loss on its examples), so run_finish can redo the rest. */
void recover_end(Run *run);

#endif
