/* train.c: a training run. Per optimizer step: lr = schedule(step), the step itself
 * (trainer.c), then a log row / evaluation / checkpoint as their cadences say. Around the
 * loop: the run directory, resume and --init, and the final evaluation and summary. */
#include "train.h"
#include "eval.h"
#include "kernels.h"
#include "model.h"
#include "runlog.h"
#include "sched.h"
#include "trainer.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    Trainer t;
    RunLog log;
} Run;

static void save_checkpoint(Run *run, const char *file) {
    Trainer *t = &run->t;
    char path[sizeof run->log.dir + 64], err[ERR_LEN];
    runlog_path(&run->log, file, path, sizeof path);
    trainer_capture_rng(t);
    if (ckpt_save(path, &t->g, &t->c, &t->st, t->opt_state, t->n_opt_state, err) != 0)
        fatal(EXIT_FAIL, "%s", err);
}

static int eval_due(const Trainer *t) {
    long step = t->st.step, every = t->c.eval_every;
    if (every == EVAL_EVERY_EPOCH) every = t->steps_per_epoch;
    return step == t->total_steps || (every > 0 && step % every == 0);
}

static void resume_or_init(Trainer *t, StFile *resume_file) {
    char err[ERR_LEN];
    Config *c = &t->c;
    if (resume_file) {
        char path[PATH_LEN + 32];
        snprintf(path, sizeof path, "%s/last.safetensors", c->resume);
        if (ckpt_weights(resume_file, &t->g, path, err) != 0 ||
            ckpt_state(resume_file, &t->st, t->opt_state, t->n_opt_state, path, err) != 0)
            fatal(EXIT_FAIL, "%s", err);
        if (t->st.sampler_pos > t->train.n)
            fatal(EXIT_FAIL, "%s: sampler position %ld is past the %d training examples", path,
                  t->st.sampler_pos, t->train.n);
        trainer_restore_rng(t);
    } else if (c->init[0]) {
        StFile f;
        if (st_read(c->init, &f, err) != 0) fatal(EXIT_FAIL, "%s", err);
        if (ckpt_weights(&f, &t->g, c->init, err) != 0) fatal(EXIT_FAIL, "%s", err);
        st_free(&f);
    }
}

static void write_summary(Run *run, EvalResult tr, EvalResult va, EvalResult te,
                          double wall_seconds) {
    Trainer *t = &run->t;
    char path[sizeof run->log.dir + 32];
    runlog_path(&run->log, "summary.json", path, sizeof path);
    StrBuf b;
    sb_init(&b);
    double sps = t->st.train_seconds > 0 ? t->st.samples / t->st.train_seconds : 0;
    sb_printf(&b, "{\n  \"run\": ");
    sb_json_string(&b, t->c.run);
    sb_printf(&b, ",\n  \"steps\": %ld,\n  \"epochs\": ", t->st.step);
    sb_json_number(&b, (double)t->st.samples / t->train.n);
    const char *keys[] = {"train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc",
                          "best_val_loss", "samples_per_s", "train_seconds", "wall_seconds"};
    double vals[] = {tr.loss, tr.acc, va.n ? va.loss : NAN, va.n ? va.acc : NAN, te.loss, te.acc,
                     t->st.best_val_loss, sps, t->st.train_seconds, wall_seconds};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        sb_printf(&b, ",\n  \"%s\": ", keys[i]);
        sb_json_number(&b, vals[i]);
    }
    sb_printf(&b, ",\n  \"best_step\": %ld,\n  \"params\": %ld,\n  \"seed\": %ld\n}\n",
              t->st.best_step, t->g.n_params, t->c.seed);
    FILE *f = fopen(path, "w");
    if (!f || fputs(b.s, f) < 0 || fclose(f) != 0) fatal(EXIT_FAIL, "%s: cannot write", path);
    sb_free(&b);
}

static void print_summary(Run *run, EvalResult tr, EvalResult va, EvalResult te) {
    Trainer *t = &run->t;
    double sps = t->st.train_seconds > 0 ? t->st.samples / t->st.train_seconds : 0;
    printf("\nrun %s: %ld steps, %.2f epochs, %.1f s training, %.0f samples/s\n", run->log.dir,
           t->st.step, (double)t->st.samples / t->train.n, t->st.train_seconds, sps);
    printf("  %-6s %10s %9s %8s\n", "split", "loss", "accuracy", "examples");
    printf("  %-6s %10.4f %8.2f%% %8ld\n", "train", tr.loss, 100 * tr.acc, tr.n);
    if (va.n) printf("  %-6s %10.4f %8.2f%% %8ld\n", "val", va.loss, 100 * va.acc, va.n);
    printf("  %-6s %10.4f %8.2f%% %8ld\n", "test", te.loss, 100 * te.acc, te.n);
}

/* Resolves --resume: the stored options come first, flags given now are laid over them, and
 * options that define the run (OPT_KEEP) must not change. */
static StFile *load_resume(Config *c, int argc, char **argv) {
    static StFile f;
    char path[PATH_LEN + 32], err[ERR_LEN];
    snprintf(path, sizeof path, "%s/last.safetensors", c->resume);
    if (!is_dir(c->resume)) fatal(EXIT_USAGE, "--resume: %s: no such run directory", c->resume);
    if (st_read(path, &f, err) != 0) fatal(EXIT_FAIL, "%s", err);
    Config stored, now;
    config_defaults(&stored);
    if (ckpt_config(&f, &stored, err) != 0) fatal(EXIT_FAIL, "%s: %s", path, err);
    config_finalize(&stored);
    now = stored;   /* keeps the stored options marked as set: defaults must not replace them */
    config_parse_args(&now, argc, argv, 1, NULL, NULL);
    char err2[ERR_LEN];
    if (model_resolve(&now, err2) != 0) fatal(EXIT_USAGE, "--model: %s", err2);
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
    return &f;
}

int cmd_train(int argc, char **argv) {
    double wall_start = now_seconds();
    Run *run = xcalloc(1, sizeof *run);
    Trainer *t = &run->t;
    Config c;
    char err[ERR_LEN];
    config_defaults(&c);
    config_parse_args(&c, argc, argv, 1, NULL, NULL);
    if (model_resolve(&c, err) != 0) fatal(EXIT_USAGE, "--model: %s", err);
    config_finalize(&c);
    StFile *resume_file = NULL;
    if (c.resume[0]) {
        resume_file = load_resume(&c, argc, argv);
    } else {
        runlog_default_name(&c, c.opt);
        if (runlog_check_new(&c, err) != 0) fatal(EXIT_USAGE, "%s", err);
    }
    kernels_set_threads((int)c.threads);
    trainer_setup(t, &c);
    resume_or_init(t, resume_file);
    if (t->st.step >= t->total_steps && resume_file)
        fatal(EXIT_USAGE, "--resume: the run has done %ld of %ld steps already (give more --steps "
              "or --epochs)", t->st.step, t->total_steps);
    if (runlog_open(&run->log, &t->c, resume_file ? t->st.step : -1, err) != 0) fatal(EXIT_FAIL, "%s", err);
    if (resume_file) { st_free(resume_file); resume_file = NULL; }

    progress_message(&run->log, "train: %s, %ld params, %d train / %d val examples, %ld steps "
                     "(%ld per epoch)%s", t->c.model, t->g.n_params, t->train.n, t->val.n,
                     t->total_steps, t->steps_per_epoch, t->st.step ? ", resumed" : "");
    EvalResult va = {NAN, NAN, 0};
    while (t->st.step < t->total_steps) {
        double lr = sched_lr(&t->c, t->st.step, t->total_steps);
        double momentum = sched_momentum(&t->c, t->st.step, t->total_steps);
        double t0 = now_seconds();
        StepResult r = trainer_step(t, lr, momentum);
        t->st.train_seconds += now_seconds() - t0;
        if (!isfinite(r.loss) || !isfinite(r.grad_norm))
            fatal(EXIT_FAIL, "non-finite %s at step %ld (lr %.3g): the lr may be too high; try a "
                  "lower --lr, --warmup or --clip. %s/last.safetensors holds the last good state",
                  isfinite(r.loss) ? "gradient norm" : "loss", t->st.step + 1, lr, run->log.dir);
        long step = t->st.step;
        double epoch = (double)t->st.samples / t->train.n;
        double sps = t->st.train_seconds > 0 ? t->st.samples / t->st.train_seconds : 0;
        int evaluated = eval_due(t) && t->val.n > 0;
        va.loss = va.acc = NAN;
        if (evaluated) {
            va = evaluate(&t->g, &t->val, t->loss_kind, t->scratch_idx, t->labels);
            if (va.loss < t->st.best_val_loss) {
                t->st.best_val_loss = va.loss;
                t->st.best_step = step;
                save_checkpoint(run, "best.safetensors");
            }
            progress_message(&run->log, "step %ld: val loss %.4f, val acc %.2f%%", step, va.loss, 100 * va.acc);
        }
        if (evaluated || step % t->c.log_every == 0 || step == t->total_steps)
            runlog_row(&run->log, step, epoch, r.lr, r.loss, r.acc, r.grad_norm, va.loss, va.acc, sps);
        if ((t->c.ckpt_every > 0 && step % t->c.ckpt_every == 0) || step == t->total_steps)
            save_checkpoint(run, "last.safetensors");
        progress_update(&run->log, step, t->total_steps, epoch, r.lr, r.loss, sps);
    }
    if (t->val.n == 0) {   /* nothing to choose by: the final weights are the best we have */
        t->st.best_step = t->st.step;
        save_checkpoint(run, "best.safetensors");
    }
    EvalResult tr = evaluate(&t->g, &t->train, t->loss_kind, t->scratch_idx, t->labels);
    va = t->val.n ? evaluate(&t->g, &t->val, t->loss_kind, t->scratch_idx, t->labels) : va;
    EvalResult te = evaluate(&t->g, &t->test, t->loss_kind, t->scratch_idx, t->labels);
    runlog_close(&run->log);
    write_summary(run, tr, va, te, now_seconds() - wall_start);
    print_summary(run, tr, va, te);
    trainer_free(t);
    free(run);
    return 0;
}
