/* train.c: `train [flags]`: the options, a new run directory or the run to resume, the
 * shared start-up, the loop and the end of the run (run/loop.h). */
#include "commands/train.h"
#include "run/loop.h"
#include "run/resolve.h"
#include "run/resume.h"
#include "run/rundir.h"
#include "util/util.h"

#include <stdlib.h>

/* The run, reachable from here so that a fatal() exit in the middle (whose caller frames the
 * compiler may consider dead) is not reported as a leak by LeakSanitizer. */
static Run *current_run;

int cmd_train(int argc, char **argv) {
    double wall_start = now_seconds();
    Run *run = current_run = xcalloc(1, sizeof *run);
    Config c;
    char err[ERR_LEN];
    resolve_options(&c, argc, argv);
    config_check_reads(&c, "train", TRAIN_READS, NULL);
    Resume resume = {0};
    if (c.resume[0]) {
        resume_open(&resume, &c, argc, argv);
    } else {
        rundir_default_name(&c, c.overfit ? "overfit" : c.opt);
        if (rundir_check_new(&c, err) != 0) fatal(EXIT_USAGE, "%s", err);
    }
    trainer_setup(&run->t, &c, SETUP_TRAIN, resume.open ? &resume.file : NULL, resume.path);
    if (resume.open) resume_apply(&resume, &run->t);
    resume_close(&resume);
    run_loop(run);
    int rc = run_finish(run, wall_start);
    trainer_free(&run->t);
    free(run);
    current_run = NULL;
    return rc;
}
