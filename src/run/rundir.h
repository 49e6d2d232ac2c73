/* rundir.h: a run's directory, runs/NAME/, and the names of the files in it (the one place
 * they are spelled):
 *   config.json    every resolved option
 *   log.csv        one row per logged step (runlog.h)
 *   summary.json   the final figures (runlog.h)
 *   last.safetensors, best.safetensors, step-NNNNNNNN.safetensors (--keep)
 *   loss.svg, acc.svg (runplot.h) */
#ifndef RUN_RUNDIR_H
#define RUN_RUNDIR_H

#include "run/config.h"

#include <stddef.h>

#define RUN_CONFIG "config.json"
#define RUN_LOG "log.csv"
#define RUN_SUMMARY "summary.json"
#define RUN_LAST "last.safetensors"
#define RUN_BEST "best.safetensors"
#define RUN_STEP_FORMAT "step-%08ld.safetensors"
#define RUN_DIR_LEN (PATH_LEN + 300)

/* Unless --run gave one, names the run "<YYYYmmdd-HHMMSS>-<kind>" (local time). */
void rundir_default_name(Config *c, const char *kind);
/* Fails (with advice) when runs_dir/run exists (and is not empty) and --force was not given,
 * or another process is writing into it: checked before any work so that a name clash costs
 * nothing. */
int rundir_check_new(const Config *c, char *err);
/* A new run directory, built out of sight: creates runs_dir/.run.tmp.<pid> into dir
 * (RUN_DIR_LEN bytes), locked by this process for its life (runlock.h), and writes
 * config.json into it; with --force the existing runs_dir/run is locked and emptied first.
 * The caller adds what the run needs to resume (the log's header, the initial checkpoint)
 * and then publishes it. Killed before that, it leaves nothing under the run's name; the
 * next run of that name removes the leftover. */
int rundir_stage(char *dir, const Config *c, char *err);
/* Renames the staged dir to runs_dir/run, atomically, and puts that name into dir; fails
 * when another process created runs_dir/run meanwhile. */
int rundir_publish(char *dir, const Config *c, char *err);
/* rundir_stage, then rundir_publish (a directory that needs nothing else first). */
int rundir_create(char *dir, const Config *c, char *err);
int rundir_write_config(const char *dir, const Config *c, char *err);
/* dir/file */
void rundir_path(const char *dir, const char *file, char *out, size_t len);
/* A write killed before its rename leaves "<file>.tmp.<pid>": garbage, removed. */
void rundir_remove_temporaries(const char *dir);
/* --keep N: removes all but the N newest step-NNNNNNNN.safetensors. */
void rundir_keep_newest(const char *dir, long keep);

#endif
