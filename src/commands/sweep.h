/* sweep.h: `train sweep [flags]`: a grid of runs from one command line. Any flag value may be
 * a comma list of alternatives (--milestones, whose value is itself a comma list, separates
 * its alternatives with ';' or '/'). The runs are the cartesian product of the lists, the
 * first flag varying slowest, or with --pair the lists zipped (each list then has the same
 * length, or one value that every run shares). Each run is `train` with one value per flag,
 * in <runs-dir>/<sweep name>/<run name>; --jobs N runs up to N of them at once, the cores
 * shared out between them, with results bit-identical to running them one after another
 * (train's results do not depend on --threads). The sweep ends with the comparison table
 * (compare.h) and compare.svg in the sweep's directory. */
#ifndef SWEEP_H
#define SWEEP_H

#include "run/config.h"

#define SWEEP_MAX_RUNS 1000

typedef struct {
    char *name;    /* "<flag>-<value>" of every varying flag joined by '_' ("run" if none) */
    int argc;
    char **argv;   /* the run's flags, in command-line order: "--flag=value", or "--flag" for a
                      switch given without a value; --run and --runs-dir are not among them */
} SweepRun;

typedef struct {
    SweepRun *runs;
    int n;
    char name[256];           /* --run: the sweep's name ("" when not given) */
    char runs_dir[PATH_LEN];  /* --runs-dir, default "runs" */
    int pair, quiet, force;
    int jobs;                 /* --jobs: runs at once (0: not given, as many as the cores) */
} Sweep;

/* Expands the sweep's flags argv[0..argc) (no program or subcommand name) into runs. Nothing
 * is run or checked beyond the list syntax: the flags themselves are validated by the runs'
 * own parser. Returns 0, or -1 with err = "<flag>: <why>" (a usage error). */
int sweep_expand(int argc, char **argv, Sweep *s, char *err);
void sweep_free(Sweep *s);

int cmd_sweep(int argc, char **argv);

#endif
