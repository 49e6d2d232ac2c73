/* train.c: a training run. Per optimizer step: lr = schedule(step), the step itself
 * (trainer.c), then a log row / evaluation / checkpoint as their cadences say. Around the
 * loop: the run directory, resume and --init, and the final evaluation and summary. */
#include "run/train.h"
#include "instruments/diagnose.h"
#include "run/eval.h"
#include "kernels/kernels.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "run/runlog.h"
#include "run/runplot.h"
#include "optim/sched.h"
#include "run/trainer.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    Trainer t;
    RunLog log;
    const char *stopped;      /* "completed", "early-stop", "overfit", "interrupted" */
    long kept_step;           /* the step whose weights the final evaluation used */
    float *prev_params;       /* parameters before the step (--log-layers, --overfit) */
    LayerStats layers[GRAPH_MAX_NODES];
    int n_layers;
    double first_loss;        /* the loss of step 1, at the initial weights */
} Run;

static void save_checkpoint(Run *run, const char *file) {
    Trainer *t = &run->t;
    runlog_flush(&run->log);
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
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    const char *keys[] = {"train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc",
                          "best_val_loss", "samples_per_s", "train_seconds", "wall_seconds",
                          "load_seconds", "peak_rss_mb"};
    double vals[] = {tr.loss, tr.acc, va.n ? va.loss : NAN, va.n ? va.acc : NAN, te.loss, te.acc,
                     t->st.best_val_loss, sps, t->st.train_seconds, wall_seconds, t->load_seconds,
                     usage.ru_maxrss / 1024.0};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        sb_printf(&b, ",\n  \"%s\": ", keys[i]);
        sb_json_number(&b, vals[i]);
    }
    sb_printf(&b, ",\n  \"best_step\": %ld,\n  \"kept_step\": %ld,\n  \"stopped\": \"%s\",\n"
              "  \"skipped_steps\": %ld,\n  \"params\": %ld,\n  \"seed\": %ld\n}\n",
              t->st.best_step, run->kept_step, run->stopped, t->st.skipped, t->g.n_params, t->c.seed);
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

/* ---- signals: the first SIGINT/SIGTERM asks the loop to stop after the current step (and
 * save); a second SIGINT exits at once, with last.safetensors as of its last save. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) {
    if (stop_signal && sig == SIGINT) _exit(128 + SIGINT);
    stop_signal = sig;
}

static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* ---- --keep N: periodic copies step-NNNNNNNN.safetensors, the N newest kept. Names sort
 * by step, so the oldest are the first in name order. */
static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void rotate_checkpoints(Run *run) {
    char name[64];
    snprintf(name, sizeof name, "step-%08ld.safetensors", run->t.st.step);
    save_checkpoint(run, name);
    DIR *d = opendir(run->log.dir);
    if (!d) return;
    char **names = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "step-", 5) || len < 12 || strcmp(e->d_name + len - 12, ".safetensors")) continue;
        names = xrealloc(names, sizeof(char *) * (size_t)(n + 1));
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    if (n > 1) qsort(names, (size_t)n, sizeof *names, by_name);
    for (int i = 0; i < n; i++) {
        if (i < n - run->t.c.keep) {
            char path[sizeof run->log.dir + 300];
            snprintf(path, sizeof path, "%s/%s", run->log.dir, names[i]);
            if (unlink(path) != 0) warn("%s: cannot remove: %s", path, strerror(errno));
        }
        free(names[i]);
    }
    free(names);
}

/* ---- --log-layers: four columns per Linear layer, named by its nn.Sequential index. */
static void layer_columns(const Graph *g, StrBuf *b) {
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == OP_LINEAR) {
            int m = g->nodes[i].module;
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

/* ---- --overfit N: the verdict, with the checks a practitioner runs when it fails. */
static int overfit_verdict(Run *run, int success, double final_loss) {
    Trainer *t = &run->t;
    int n = t->train.n;
    if (success) {
        printf("overfit %d samples in %ld steps (loss %.4g)\n", n, t->st.step, final_loss);
        return 0;
    }
    printf("could not overfit: loss plateaued at %.4g after %ld steps (%d samples)\n", final_loss,
           t->st.step, n);
    int classes = graph_output_dim(&t->g);
    double expect = log((double)classes);
    printf("  initial loss %.4g; expected about ln(%d) = %.4g for a fresh softmax classifier%s\n",
           run->first_loss, classes, expect,
           t->loss_kind == LOSS_CE && fabs(run->first_loss - expect) > 0.5 * expect
               ? ": far off, check the initialisation and the inputs' scale" : "");
    for (int i = 0; i < run->n_layers; i++) {
        const LayerStats *s = &run->layers[i];
        printf("  layer %d: gradient norm %.3g, weight norm %.3g, update/weight %.3g", s->module,
               s->grad_norm, s->weight_norm, s->update_ratio);
        if (!isnan(s->dead_frac)) printf(", dead ReLUs %.0f%%", 100 * s->dead_frac);
        printf("\n");
    }
    if (final_loss > 0.9 * run->first_loss)
        printf("  the loss barely moved: the lr (%g) is probably too low; try 10x --lr\n", t->c.lr);
    else if (final_loss > run->first_loss)
        printf("  the loss rose: the lr (%g) is probably too high; try --lr / 10 or --clip\n", t->c.lr);
    else
        printf("  the loss fell, then stalled: try more --steps, a higher --lr or a wider --model\n");
    for (int i = 0; i < run->n_layers; i++)
        if (run->layers[i].dead_frac > 0.5)
            printf("  over half the ReLUs after layer %d are dead: lower the lr or try --act gelu\n",
                   run->layers[i].module);
    return EXIT_FAIL;
}

/* Evaluation on the examples being memorised: 100% accuracy and loss below 1e-3. */
#define OVERFIT_LOSS 1e-3

static int overfit_reached(Trainer *t, const StepResult *r, double *loss) {
    if (r->acc < 1.0 || r->loss >= OVERFIT_LOSS) return 0;   /* cheap test first */
    EvalResult e = evaluate(&t->g, &t->train, t->loss_kind, t->scratch_idx, t->labels);
    *loss = e.loss;
    return e.acc == 1.0 && e.loss < OVERFIT_LOSS;
}

/* The first step's loss is the loss at the initial weights: for a fresh softmax classifier it
 * should be near ln(classes); far from it points at the init, the inputs or the labels.
 * Weights from --init may fairly start lower (they were trained), not far higher. */
static void check_initial_loss(Run *run, double loss) {
    Trainer *t = &run->t;
    run->first_loss = loss;
    if (t->loss_kind != LOSS_CE || t->st.step != 1) return;
    int classes = graph_output_dim(&t->g);
    double expect = log((double)classes);
    if (loss > 1.5 * expect || (loss < 0.5 * expect && !t->c.init[0]))
        warn("warning: initial loss %.4g is far from ln(%d) = %.4g: check the initialisation, the "
             "inputs' scale and the labels", loss, classes, expect);
}

static void restore_best(Run *run) {
    char path[sizeof run->log.dir + 32], err[ERR_LEN];
    runlog_path(&run->log, "best.safetensors", path, sizeof path);
    StFile f;
    if (st_read(path, &f, err) != 0 || ckpt_weights(&f, &run->t.g, path, err) != 0)
        fatal(EXIT_FAIL, "%s", err);
    st_free(&f);
    run->kept_step = run->t.st.best_step;
}

static void run_title(const Config *c, char *buf, size_t len) {
    snprintf(buf, len, "%.60s: %.40s %s, %s lr %g wd %g, batch %ld, %s", c->run, c->model, c->act,
             c->opt, c->lr, c->wd, c->batch, c->schedule);
}

/* The run, reachable from here so that a fatal() exit in the middle (whose caller frames the
 * compiler may consider dead) is not reported as a leak by LeakSanitizer. */
static Run *current_run;

int cmd_train(int argc, char **argv) {
    double wall_start = now_seconds();
    Run *run = current_run = xcalloc(1, sizeof *run);
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
        runlog_default_name(&c, c.overfit ? "overfit" : c.opt);
        if (runlog_check_new(&c, err) != 0) fatal(EXIT_USAGE, "%s", err);
    }
    kernels_set_threads((int)c.threads);
    kernels_set_denormals(!strcmp(c.denormals, "flush"));
    trainer_setup(t, &c);
    resume_or_init(t, resume_file);
    if (t->st.step >= t->total_steps && resume_file)
        fatal(EXIT_USAGE, "--resume: the run has done %ld of %ld steps already (give more --steps "
              "or --epochs)", t->st.step, t->total_steps);
    StrBuf extra;
    sb_init(&extra);
    if (t->c.log_layers) layer_columns(&t->g, &extra);
    if (runlog_open(&run->log, &t->c, resume_file ? t->st.step : -1, extra.s, err) != 0) fatal(EXIT_FAIL, "%s", err);
    sb_free(&extra);
    if (resume_file) { st_free(resume_file); resume_file = NULL; }
    if (t->c.log_layers || t->c.overfit) run->prev_params = xalloc_floats((size_t)t->g.n_params);
    double *extra_values = xmalloc(sizeof(double) * 4 * GRAPH_MAX_NODES);
    install_signals();

    progress_message(&run->log, "train: %s, %ld params, %d train / %d val examples, %ld steps "
                     "(%ld per epoch)%s", t->c.model, t->g.n_params, t->train.n, t->val.n,
                     t->total_steps, t->steps_per_epoch, t->st.step ? ", resumed" : "");
    run->stopped = "completed";
    run->first_loss = NAN;
    double overfit_loss = NAN;
    int overfit_done = 0;
    EvalResult va = {NAN, NAN, 0};
    while (t->st.step < t->total_steps) {
        double lr = sched_lr(&t->c, t->st.step, t->total_steps);
        double momentum = sched_momentum(&t->c, t->st.step, t->total_steps);
        if (run->prev_params) memcpy(run->prev_params, t->g.params, sizeof(float) * (size_t)t->g.n_params);
        double t0 = now_seconds();
        StepResult r = trainer_step(t, lr, momentum);
        t->st.train_seconds += now_seconds() - t0;
        if (!isfinite(r.loss) || !isfinite(r.grad_norm)) {
            if (!t->c.skip_nonfinite)
                fatal(EXIT_FAIL, "non-finite %s at step %ld (lr %.3g): the lr may be too high; try a "
                      "lower --lr, --warmup or --clip (or --skip-nonfinite). %s/last.safetensors "
                      "holds the last good state", isfinite(r.loss) ? "gradient norm" : "loss",
                      t->st.step + 1, lr, run->log.dir);
            trainer_skip_step(t, r.n);
        }
        long step = t->st.step;
        if (step == 1) check_initial_loss(run, r.loss);
        if (run->prev_params)
            run->n_layers = diagnose_layers(&t->g, run->prev_params, r.last_rows, run->layers);
        double epoch = (double)t->st.samples / t->train.n;
        double sps = t->st.train_seconds > 0 ? t->st.samples / t->st.train_seconds : 0;
        int evaluated = eval_due(t) && t->val.n > 0;
        va.loss = va.acc = NAN;
        if (evaluated) {
            va = evaluate(&t->g, &t->val, t->loss_kind, t->scratch_idx, t->labels);
            if (va.loss < t->st.best_val_loss - t->c.min_delta) {
                t->st.best_val_loss = va.loss;
                t->st.best_step = step;
                t->st.bad_evals = 0;
                save_checkpoint(run, "best.safetensors");
            } else {
                t->st.bad_evals++;
            }
            progress_message(&run->log, "step %ld: val loss %.4f, val acc %.2f%%", step, va.loss, 100 * va.acc);
        }
        if (t->c.overfit) overfit_done = overfit_reached(t, &r, &overfit_loss);
        int early = evaluated && t->c.early_stop > 0 && t->st.bad_evals >= t->c.early_stop;
        int last = step == t->total_steps || early || overfit_done;
        /* an interrupted run logs no extra row: resumed, its log must equal an uninterrupted one */
        if (evaluated || step % t->c.log_every == 0 || last) {
            LogRow row = {step, epoch, r.lr, r.loss, r.acc, r.grad_norm, va.loss, va.acc, sps, t->st.skipped};
            runlog_row(&run->log, &row, extra_values, t->c.log_layers ? layer_values(run, extra_values) : 0);
        }
        if ((t->c.ckpt_every > 0 && step % t->c.ckpt_every == 0) || last || stop_signal) {
            save_checkpoint(run, "last.safetensors");
            if (t->c.keep > 0 && !last && !stop_signal) rotate_checkpoints(run);
        }
        progress_update(&run->log, step, t->total_steps, epoch, r.lr, r.loss, sps);
        if (early) {
            run->stopped = "early-stop";
            progress_message(&run->log, "early stop at step %ld: %ld evaluations without improvement "
                             "(best val loss %.4f at step %ld)", step, t->st.bad_evals,
                             t->st.best_val_loss, t->st.best_step);
            break;
        }
        if (overfit_done) { run->stopped = "overfit"; break; }
        if (stop_signal) { run->stopped = "interrupted"; break; }
    }
    run->kept_step = t->st.step;
    if (t->val.n == 0) {   /* nothing to choose by: the final weights are the best we have */
        t->st.best_step = t->st.step;
        save_checkpoint(run, "best.safetensors");
    } else if (!strcmp(run->stopped, "early-stop")) {
        restore_best(run);
    }
    EvalResult tr = evaluate(&t->g, &t->train, t->loss_kind, t->scratch_idx, t->labels);
    va = t->val.n ? evaluate(&t->g, &t->val, t->loss_kind, t->scratch_idx, t->labels) : va;
    EvalResult te = evaluate(&t->g, &t->test, t->loss_kind, t->scratch_idx, t->labels);
    runlog_close(&run->log);
    write_summary(run, tr, va, te, now_seconds() - wall_start);
    char title[256];
    run_title(&t->c, title, sizeof title);
    if (runplot_write(run->log.dir, title, !strcmp(t->c.plot_scale, "log"), err) != 0) warn("%s", err);
    print_summary(run, tr, va, te);
    int rc = 0;
    if (t->c.overfit) rc = overfit_verdict(run, overfit_done, overfit_done ? overfit_loss : tr.loss);
    if (stop_signal) {
        fprintf(stderr, "train: interrupted at step %ld: state saved; continue with: ./train --resume %s\n",
                t->st.step, run->log.dir);
        rc = 128 + stop_signal;
    }
    free(extra_values);
    free(run->prev_params);
    trainer_free(t);
    free(run);
    current_run = NULL;
    return rc;
}
