/* resume.c: reading a run back, see resume.h. */
#include "run/resume.h"
#include "run/resolve.h"
#include "util/util.h"

#include <string.h>

void resume_open(Resume *r, Config *c, int argc, char **argv) {
    char err[ERR_LEN];
    memset(r, 0, sizeof *r);
    rundir_path(c->resume, RUN_LAST, r->path, sizeof r->path);
    if (!is_dir(c->resume)) fatal(EXIT_USAGE, "--resume: %s: no such run directory", c->resume);
    if (st_read(r->path, &r->file, err) != 0) fatal(EXIT_FAIL, "%s", err);
    r->open = 1;
    Config stored, now;
    config_defaults(&stored);
    if (ckpt_config(&r->file, &stored, err) != 0) fatal(EXIT_FAIL, "%s: %s", r->path, err);
    config_finalize(&stored);
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
    if (ckpt_load_state(&r->file, &t->st, &t->opt, r->path, err) != 0) fatal(EXIT_FAIL, "%s", err);
    averaging_load(t, &r->file, r->path, 0);
    if (t->st.sampler_pos > t->train.n)
        fatal(EXIT_FAIL, "%s: sampler position %ld is past the %d training examples", r->path,
              t->st.sampler_pos, t->train.n);
    trainer_restore_rng(t);
    if (t->st.step >= t->total_steps)
        fatal(EXIT_USAGE, "--resume: the run has done %ld of %ld steps already (give more --steps "
              "or --epochs)", t->st.step, t->total_steps);
}

void resume_close(Resume *r) {
    if (r->open) st_free(&r->file);
    r->open = 0;
}
