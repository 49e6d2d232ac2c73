/* resume.c: reading a run back, see resume.h. */
#include "run/resume.h"
#include "run/dist.h"
#include "run/recover.h"
#include "run/resolve.h"
#include "run/runlock.h"
#include "util/util.h"

#include <string.h>

void resume_open(Resume *r, Config *c, int argc, char **argv) {
    char err[ERR_LEN];
    memset(r, 0, sizeof *r);
    rundir_path(c->resume, RUN_LAST, r->path, sizeof r->path);
    if (!is_dir(c->resume)) {
        int e = path_lookup_error(c->resume);   /* a symlink loop is not a missing directory */
        fatal(EXIT_USAGE, "--resume: %s: %s", c->resume, e ? strerror(e) : "no such run directory");
    }
    /* rank 0 alone holds the lock and repairs the directory; every rank reads the checkpoint */
    if (dist_is_root() && runlock_hold(c->resume, err) != 0) fatal(EXIT_FAIL, "%s", err);
    if (st_read(r->path, &r->file, err) != 0) fatal(EXIT_FAIL, "%s", err);
    r->open = 1;
    Config stored, now;
    config_defaults(&stored);
    if (ckpt_config(&r->file, &stored, err) != 0) fatal(EXIT_FAIL, "%s: %s", r->path, err);
    config_finalize(&stored);
    recover_check_config(c->resume, &stored);
    now = stored;   /* keeps the stored options marked as set: defaults must not replace them */
    config_parse_args(&now, argc, argv, 1, NULL, NULL);
    if (resolve_model(&now, err) != 0) fatal(EXIT_USAGE, "--model: %s", err);
    config_finalize(&now);
    StrBuf diff;
    sb_init(&diff);
    if (config_diff_kept(&stored, &now, &diff) > 0)
        fatal(EXIT_USAGE, "--resume: these options differ from the run's:\n%s"
              "(only length, cadence, lr and output options may change on resume)", diff.s);
    sb_free(&diff);
    const char *slash = strrchr(c->resume, '/');
    snprintf(now.run, sizeof now.run, "%.255s", slash && slash[1] ? slash + 1 : c->resume);
    *c = now;
}

void resume_apply(Resume *r, Trainer *t) {
    char err[ERR_LEN];
    TrainState *st = &t->st;
    if (ckpt_load_state(&r->file, st, &t->opt, r->path, err) != 0) fatal(EXIT_FAIL, "%s", err);
    averaging_load(t, &r->file, r->path, 0);
    /* the fields that depend on this run's data and batches */
    int replace = !strcmp(t->c.sample, "replace");
    long group = trainer_group_size(&t->c, t->train.n);
    if (st->sampler_pos > (replace ? t->steps_per_epoch : t->train.n))
        fatal(EXIT_FAIL, "%s: sampler position %ld is past the %ld %s of an epoch", r->path,
              st->sampler_pos, replace ? t->steps_per_epoch : (long)t->train.n, replace ? "batches" : "training examples");
    if (st->samples > st->step * group)
        fatal(EXIT_FAIL, "%s: %ld samples in %ld steps of at most %ld examples: corrupt training state",
              r->path, st->samples, st->step, group);
    trainer_restore_rng(t);
    int ended = st->step >= t->total_steps || !strcmp(st->stopped, "early-stop") || !strcmp(st->stopped, "overfit");
    /* ended comes from the checkpoint, the same on every rank; rank 0 reads the summary */
    if (ended && !dist_root_int(dist_is_root() && recover_summary_final(t->c.resume, st->step))) {
        /* the run ended but its summary was not written: only the final evaluation is redone */
        if (!st->stopped[0]) snprintf(st->stopped, sizeof st->stopped, "completed");
        t->total_steps = st->step;
    } else if (st->step >= t->total_steps) {
        fatal(EXIT_USAGE, "--resume: the run has done %ld of %ld steps already (give more --steps "
              "or --epochs)", st->step, t->total_steps);
    }
    if (dist_is_root() && recover_log(t->c.resume, st, err) != 0) fatal(EXIT_FAIL, "%s", err);
}

void resume_close(Resume *r) {
    if (r->open) st_free(&r->file);
    r->open = 0;
}
