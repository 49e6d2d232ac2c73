/* loop.c: the training loop and the end of a run, see loop.h. */
#include "run/loop.h"
#include "run/dist.h"
#include "run/instruments_hook.h"
#include "run/recover.h"
#include "run/rundir.h"
#include "run/runplot.h"
#include "util/util.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The model, config and state; with_optimizer for files a run can resume from. */
static void save_checkpoint(Run *run, const char *file, int with_optimizer) {
    if (!dist_is_root()) return;   /* rank 0 writes the run directory */
    Trainer *t = &run->t;
    runlog_flush(&run->log);
    char path[RUN_DIR_LEN + 64], err[ERR_LEN];
    rundir_path(run->log.dir, file, path, sizeof path);
    trainer_capture_rng(t);
    t->st.log_bytes = run->log.bytes;
    averaging_checkpoint(t, 1);
    if (ckpt_save(path, &t->net, &t->c, &t->st, with_optimizer ? &t->opt : NULL, err) != 0)
        fatal(EXIT_FAIL, "%s", err);
    averaging_checkpoint(t, 0);
    if (!strcmp(file, RUN_LAST)) run->saved_step = t->st.step;
}

static int eval_due(const Trainer *t) {
    long step = t->st.step, every = t->c.eval_every;
    if (every == EVAL_EVERY_EPOCH) every = t->steps_per_epoch;
    return step == t->total_steps || (every > 0 && step % every == 0);
}

/* ---- signals: the first SIGINT/SIGTERM asks the loop to stop after the current step (and
 * save); a second SIGINT exits at once, with last.safetensors as of its last save. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) {
    if (stop_signal && sig == SIGINT) _exit(128 + SIGINT);
    stop_signal = sig;
}

static void install_signals(void) {
    catch_stop_signals(on_signal);
    dist_watch_signal(&stop_signal);
}

/* ---- --keep N: periodic copies step-NNNNNNNN.safetensors, the N newest kept. */
static void keep_checkpoint(Run *run) {
    if (!dist_is_root()) return;
    char name[64];
    snprintf(name, sizeof name, RUN_STEP_FORMAT, run->t.st.step);
    save_checkpoint(run, name, 1);
    rundir_keep_newest(run->log.dir, run->t.c.keep);
}

/* ---- --log-layers: four columns per Linear layer, named by its nn.Sequential index. */
static void layer_columns(const Net *n, StrBuf *b) {
    int modules[NET_MAX_NODES], count = diagnose_linear_modules(n, modules);
    for (int i = 0; i < count; i++) {
        int m = modules[i];
        sb_printf(b, ",%d.grad_norm,%d.weight_norm,%d.update_ratio,%d.dead_relu", m, m, m, m);
    }
}

static int layer_values(const Run *run, double *out) {
    for (int i = 0; i < run->n_layers; i++) {
        out[4 * i] = run->layers[i].grad_norm;
        out[4 * i + 1] = run->layers[i].weight_norm;
        out[4 * i + 2] = run->layers[i].update_ratio;
        out[4 * i + 3] = run->layers[i].dead_frac;
    }
    return 4 * run->n_layers;
}

static void restore_best(Run *run) {
    char path[RUN_DIR_LEN + 32], err[ERR_LEN];
    rundir_path(run->log.dir, RUN_BEST, path, sizeof path);
    StFile f;
    if (dist_is_root()) {   /* then sent to the other ranks, which may not see the file yet */
        if (st_read(path, &f, err) != 0 || ckpt_load_model(&f, &run->t.net, path, err) != 0)
            fatal(EXIT_FAIL, "%s", err);
        averaging_load(&run->t, &f, path, 1);
        st_free(&f);
    }
    dist_bcast_model(&run->t.net);
    dist_bcast_averaging(&run->t.avg, run->t.net.n_params);
    averaging_finish(&run->t);
    run->kept_step = run->t.st.best_step;
}

/* Evaluates on the validation set; a new best is saved as best.safetensors. */
static EvalResult validate(Run *run) {
    Trainer *t = &run->t;
    averaging_use(t, 1);
    EvalResult va = evaluate(&t->net, &t->val, t->scratch_idx, t->labels);
    averaging_use(t, 0);
    if (va.loss < t->st.best_val_loss - t->c.min_delta) {
        t->st.best_val_loss = va.loss;
        t->st.best_step = t->st.step;
        t->st.bad_evals = 0;
        save_checkpoint(run, RUN_BEST, 0);
    } else {
        t->st.bad_evals++;
    }
    progress_message(&run->log, "step %ld: val loss %.4f, val acc %.2f%%", t->st.step, va.loss, 100 * va.acc);
    return va;
}

void run_loop(Run *run) {
    Trainer *t = &run->t;
    char err[ERR_LEN];
    /* from before the run directory appears: a signal once it can be seen (the test's cue,
     * the initial checkpoint) stops the run at its first step, saved, not half set up */
    install_signals();
    StrBuf extra;
    sb_init(&extra);
    if (t->c.log_layers) layer_columns(&t->net, &extra);
    instruments_open(run, &extra);
    if (runlog_open(&run->log, &t->c, run->t.c.resume[0] ? t->st.step : -1, extra.s, err) != 0)
        fatal(EXIT_FAIL, "%s", err);
    run->saved_step = t->st.step;   /* a resumed run: the checkpoint it starts from */
    if (!t->c.resume[0]) {   /* the initial state: the run directory can be resumed from the start */
        save_checkpoint(run, RUN_LAST, 1);
        if (dist_is_root() && rundir_publish(run->log.dir, &t->c, err) != 0) fatal(EXIT_FAIL, "%s", err);
    }
    sb_free(&extra);
    if (t->c.log_layers || t->c.overfit) run->prev_params = xalloc_floats((size_t)t->net.n_params);
    double *extra_values = run->row_values = xmalloc(sizeof(double) * 4 * NET_MAX_NODES);

    progress_message(&run->log, "train: %s, %ld params, %d train / %d val examples, %ld steps "
                     "(%ld per epoch)%s", t->c.model, t->net.n_params, t->train.n, t->val.n,
                     t->total_steps, t->steps_per_epoch, t->st.step ? ", resumed" : "");
    run->stopped = "completed";
    run->first_loss = NAN;
    run->overfit_loss = NAN;
    if (t->st.step >= t->total_steps && t->st.stopped[0]) recover_end(run);   /* only the end is redone */
    while (t->st.step < t->total_steps) {
        double lr = sched_lr(&t->sched, t->st.step, t->total_steps);
        double momentum = sched_momentum(&t->sched, t->st.step, t->total_steps);
        if (run->prev_params) memcpy(run->prev_params, t->net.params, sizeof(float) * (size_t)t->net.n_params);
        double t0 = now_seconds();
        StepResult r = trainer_step(t, lr, momentum);
        t->st.train_seconds += now_seconds() - t0;
        if (!isfinite(r.loss) || !isfinite(r.grad_norm)) {
            if (!t->c.skip_nonfinite)
                fatal(EXIT_FAIL, "non-finite %s at step %ld (lr %.3g): the lr may be too high; try a "
                      "lower --lr, --warmup or --clip (or --skip-nonfinite). %s/" RUN_LAST
                      " holds the state of step %ld", isfinite(r.loss) ? "gradient norm" : "loss",
                      t->st.step + 1, lr, run->log.dir, run->saved_step);
            trainer_skip_step(t, r.n);
        }
        long step = t->st.step;
        if (step == t->total_steps) averaging_finish(t);
        if (step == 1) overfit_check_initial_loss(run, r.loss);
        if (run->prev_params)
            run->n_layers = diagnose_layers(&t->net, run->prev_params, r.last_rows, run->layers);
        int measured = instruments_step(run, &r);
        double epoch = (double)t->st.samples / t->train.n;
        double sps = t->st.train_seconds > 0 ? t->st.samples / t->st.train_seconds : 0;
        int evaluated = eval_due(t) && t->val.n > 0;
        EvalResult va = {NAN, NAN, 0};
        if (evaluated) va = validate(run);
        if (t->c.overfit) run->overfit_done = overfit_reached(run, &r);
        int early = evaluated && t->c.early_stop > 0 && t->st.bad_evals >= t->c.early_stop;
        int last = step == t->total_steps || early || run->overfit_done;
        /* an interrupted run logs no extra row: resumed, its log must equal an uninterrupted one */
        if (evaluated || measured || step % t->c.log_every == 0 || last) {
            LogRow row = {step, epoch, r.lr, r.loss, r.acc, r.grad_norm, va.loss, va.acc, sps, t->st.skipped};
            runlog_row(&run->log, &row, extra_values, instruments_values(run, extra_values, t->c.log_layers ? layer_values(run, extra_values) : 0));
        }
        snprintf(t->st.stopped, sizeof t->st.stopped, "%s",
                 !last ? "" : early ? "early-stop" : run->overfit_done ? "overfit" : "completed");
        if ((t->c.ckpt_every > 0 && step % t->c.ckpt_every == 0) || last || dist_stop(stop_signal)) {
            dist_check_weights(&t->net, step);
            save_checkpoint(run, RUN_LAST, 1);
            if (t->c.keep > 0 && !last && !dist_stop(stop_signal)) keep_checkpoint(run);
        }
        progress_update(&run->log, step, t->total_steps, epoch, r.lr, r.loss, sps);
        if (early) {
            run->stopped = "early-stop";
            progress_message(&run->log, "early stop at step %ld: %ld evaluations without improvement "
                             "(best val loss %.4f at step %ld)", step, t->st.bad_evals,
                             t->st.best_val_loss, t->st.best_step);
            break;
        }
        if (run->overfit_done) { run->stopped = "overfit"; break; }
        if (dist_stop(stop_signal) && !last) { run->stopped = "interrupted"; break; }   /* at the last step: done */
    }
    run->signal = !strcmp(run->stopped, "interrupted") ? dist_stop(stop_signal) : 0;
    free(extra_values);
    run->row_values = NULL;
}

static void run_title(const Config *c, char *buf, size_t len) {
    snprintf(buf, len, "%.60s: %.40s %s, %s lr %g wd %g, batch %ld, %s", c->run, c->model, c->act,
             c->opt, c->lr, c->wd, c->batch, c->schedule);
}

static void print_report(const Run *run, EvalResult tr, EvalResult va, EvalResult te) {
    const Trainer *t = &run->t;
    double sps = t->st.train_seconds > 0 ? t->st.samples / t->st.train_seconds : 0;
    printf("\nrun %s: %ld steps, %.2f epochs, %.1f s training, %.0f samples/s\n", run->log.dir,
           t->st.step, (double)t->st.samples / t->train.n, t->st.train_seconds, sps);
    printf("  %-6s %10s %9s %8s\n", "split", "loss", "accuracy", "examples");
    printf("  %-6s %10.4f %8.2f%% %8ld\n", "train", tr.loss, 100 * tr.acc, tr.n);
    if (va.n) printf("  %-6s %10.4f %8.2f%% %8ld\n", "val", va.loss, 100 * va.acc, va.n);
    printf("  %-6s %10.4f %8.2f%% %8ld\n", "test", te.loss, 100 * te.acc, te.n);
}

int run_finish(Run *run, double wall_start) {
    Trainer *t = &run->t;
    char err[ERR_LEN];
    run->kept_step = t->st.step;
    if (t->val.n == 0) {   /* nothing to choose by: the final weights are the best we have */
        t->st.best_step = t->st.step;
        save_checkpoint(run, RUN_BEST, 0);
    } else if (!strcmp(run->stopped, "early-stop")) {
        restore_best(run);
    }
    EvalResult none = {NAN, NAN, 0};
    averaging_use(t, 1);
    EvalResult tr = evaluate(&t->net, &t->train, t->scratch_idx, t->labels);
    EvalResult va = t->val.n ? evaluate(&t->net, &t->val, t->scratch_idx, t->labels) : none;
    EvalResult te = evaluate(&t->net, &t->test, t->scratch_idx, t->labels);
    averaging_use(t, 0);
    runlog_close(&run->log);
    Summary s = {
        .run = t->c.run, .steps = t->st.step, .epochs = (double)t->st.samples / t->train.n,
        .train_loss = tr.loss, .train_acc = tr.acc, .val_loss = va.n ? va.loss : NAN,
        .val_acc = va.n ? va.acc : NAN, .test_loss = te.loss, .test_acc = te.acc,
        .best_val_loss = t->st.best_val_loss,
        .samples_per_s = t->st.train_seconds > 0 ? t->st.samples / t->st.train_seconds : 0,
        .train_seconds = t->st.train_seconds, .wall_seconds = now_seconds() - wall_start,
        .load_seconds = t->load_seconds, .best_step = t->st.best_step, .kept_step = run->kept_step,
        .stopped = run->stopped, .skipped_steps = t->st.skipped, .params = t->net.n_params,
        .seed = t->c.seed,
    };
    averaging_summary(t, &s);
    char title[256];
    run_title(&t->c, title, sizeof title);
    int plotted = !dist_is_root() || runplot_write(run->log.dir, title, !strcmp(t->c.plot_scale, "log"), err) == 0;
    if (!plotted) warn("%s", err);
    instruments_finish(run);
    print_report(run, tr, va, te);
    averaging_print(&s);
    runlog_summary(&run->log, &s);   /* last: a final summary.json means the run's files are all there */
    int rc = plotted ? 0 : EXIT_FAIL;
    if (t->c.overfit && overfit_verdict(run, run->overfit_done ? run->overfit_loss : tr.loss) != 0)
        rc = EXIT_FAIL;
    if (run->signal) {
        if (dist_is_root()) fprintf(stderr, "train: interrupted at step %ld: state saved; continue with: ./train --resume %s\n",
                t->st.step, run->log.dir);
        rc = 128 + run->signal;
    }
    free(run->prev_params);
    run->prev_params = NULL;
    return rc;
}
