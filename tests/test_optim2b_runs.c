/* End to end with the built ./train: L-BFGS, schedule-free AdamW and SGD, Sophia-G and the
 * weight averages (--ema, --swa-start) train the small MLP, resume bit for bit, average what
 * they should, recompute BatchNorm statistics as update_bn does, and refuse flags that make no
 * sense. */
#include "test.h"

#define RUNS "tests/tmp/optim2b"
#include "e2e.h"
#include "data/dataset.h"

#include <string.h>

#define SMALL "--model 784-64-10 --subset 4096 --val 0 --steps 300 --eval-every 0 --ckpt-every 0 --threads 1"

/* 784-64-10 on 4096 images, 300 steps (batch 64, or 1024 for L-BFGS with one iteration a
 * step): the training loss each reaches, measured (in brackets) with a margin. One thread:
 * a busy machine slows two-thread runs of a model this small far more than one. */
static void test_each_trains(void) {
    static const struct { const char *name, *flags; double below; } runs[] = {
        {"lbfgs", "--opt lbfgs --batch 1024 --max-iter 1 --history-size 10", 0.05},      /* [0.0002] */
        {"sf-adamw", "--opt sf-adamw", 0.3},                                              /* [0.21] */
        {"sf-sgd", "--opt sf-sgd", 0.2},                                                  /* [0.11] */
        {"sophia", "--opt sophia --lr 1e-3", 0.3},                                        /* [0.18] */
        {"ema", "--opt adamw --ema 0.99", 0.5},                                           /* [0.42] */
        {"swa", "--opt momentum --lr 0.05 --swa-start 150 --swa-every 10", 0.3},          /* [0.21] */
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        char flags[512];
        snprintf(flags, sizeof flags, SMALL " %s", runs[i].flags);
        CHECK(train(runs[i].name, flags) == 0);
        double loss = summary_value(runs[i].name, "train_loss");
        fprintf(stderr, "  %-9s train loss %.4f (below %.2f), test acc %.4f\n", runs[i].name, loss,
                runs[i].below, summary_value(runs[i].name, "test_acc"));
        CHECK(loss < runs[i].below);
    }
    /* the averaged runs report the trained weights beside the averaged ones */
    CHECK(!isnan(summary_value("sf-adamw", "test_acc_raw")) && !isnan(summary_value("ema", "train_loss_raw")));
    CHECK(summary_value("ema", "test_acc") != summary_value("ema", "test_acc_raw"));
    CHECK(isnan(summary_value("sophia", "test_acc_raw")));
}

/* The checkpoints of two runs agree in every tensor and in the optimizer's scalars and stream. */
static int same_state(const char *a, const char *b) {
    StFile x, y;
    char err[ERR_LEN];
    if (max_weight_diff(a, b) != 0) return 0;
    if (st_read(a, &x, err) != 0 || st_read(b, &y, err) != 0) return 0;
    int same = 1;
    static const char *keys[] = {"optimizer_scalars", "optimizer_rng", "step", "sampler", "dropout_rng"};
    for (int i = 0; i < 5; i++) {
        const char *u = st_meta_get(&x, keys[i]), *v = st_meta_get(&y, keys[i]);
        if ((u == NULL) != (v == NULL) || (u && strcmp(u, v))) {
            fprintf(stderr, "  %s differs: %s | %s\n", keys[i], u ? u : "-", v ? v : "-");
            same = 0;
        }
    }
    st_free(&x);
    st_free(&y);
    return same;
}

/* 16 steps in one go (all threads) == 8 steps, then --resume to 16 (one thread): the same bits,
 * with L-BFGS's history and step length, Sophia's Hessian EMA and label stream, schedule-free's
 * z and weight sum, and the averages (SWA with BatchNorm, whose statistics the end
 * recomputes). */
static void test_resume_is_exact(void) {
    static const struct { const char *name, *flags; } runs[] = {
        {"lbfgs", "--opt lbfgs --batch 128 --lr 0.2 --max-iter 3 --history-size 4"},
        {"lbfgs-wolfe", "--opt lbfgs --batch 128 --line-search strong_wolfe --max-iter 4"},
        {"sf-adamw", "--opt sf-adamw --batch 50 --warmup 4 --wd 0.01"},
        {"sf-sgd", "--opt sf-sgd --batch 50 --lr 0.1 --weight-step-power 1"},
        {"sophia", "--opt sophia --batch 50 --lr 1e-3 --hess-every 3 --dropout 0.2"},
        {"ema", "--opt adamw --batch 50 --ema 0.9"},
        {"swa-bn", "--opt momentum --batch 50 --lr 0.05 --swa-start 5 --swa-every 2 --norm batch"},
    };
    const char *common = "--model 784-32-10 --subset 600 --val 100 --eval-every 4 --schedule constant";
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        char flags[512], whole[64], halves[64];
        snprintf(whole, sizeof whole, "%s-whole", runs[i].name);
        snprintf(halves, sizeof halves, "%s-halves", runs[i].name);
        snprintf(flags, sizeof flags, "%s %s", common, runs[i].flags);
        CHECK(train_whole_and_halves(runs[i].name, flags, 16, "--threads 1") == 0);
        int same = same_state(ckpt(whole, "last.safetensors"), ckpt(halves, "last.safetensors")) &&
                   same_state(ckpt(whole, "best.safetensors"), ckpt(halves, "best.safetensors"));
        if (!same) fprintf(stderr, "  %s: resumed run differs\n", runs[i].name);
        CHECK(same);
    }
}

/* A tensor of a checkpoint, as doubles (n of them). */
static double *tensor(const char *path, const char *name, long *n) {
    StFile f;
    char err[ERR_LEN];
    if (st_read(path, &f, err) != 0) { fprintf(stderr, "  %s\n", err); return NULL; }
    const StTensor *t = st_find(&f, name);
    double *out = NULL;
    if (t) {
        *n = 1;
        for (int d = 0; d < t->ndim; d++) *n *= t->shape[d];
        out = malloc(sizeof(double) * (size_t)(*n ? *n : 1));
        for (long i = 0; i < *n; i++) out[i] = t->dtype == ST_I64 ? (double)t->i64[i] : t->data[i];
    }
    st_free(&f);
    return out;
}

/* --ema 0.5 after steps 1..4: e1 = w1, e_k = e_{k-1} + 0.5 (w_k - e_{k-1}) = (e_{k-1} + w_k) / 2,
 * from the trained weights each step's checkpoint holds as raw.<name> (--keep keeps all but
 * the last); --swa-start 2 --swa-every 2 after 7 steps: the mean of the weights after steps 2,
 * 4 and 6. Before the average starts the model tensors are the trained ones. */
static void test_averages_by_hand(void) {
    const char *common = "--model 784-16-10 --subset 512 --val 0 --batch 64 --schedule constant "
                         "--ckpt-every 1 --keep 10 --opt adamw --lr 1e-2";
    char flags[512], file[64];
    snprintf(flags, sizeof flags, "%s --steps 5 --ema 0.5", common);
    CHECK(train("ema-hand", flags) == 0);
    snprintf(flags, sizeof flags, "%s --steps 7 --swa-start 2 --swa-every 2", common);
    CHECK(train("swa-hand", flags) == 0);
    static const char *names[] = {"0.weight", "0.bias", "2.weight", "2.bias"};
    for (int k = 0; k < 4; k++) {
        long n = 0, m = 0;
        char raw[32];
        snprintf(raw, sizeof raw, "raw.%s", names[k]);
        double *ema = NULL, *swa = calloc(16 * 784, sizeof(double));
        for (int step = 1; step <= 6; step++) {
            snprintf(file, sizeof file, "step-%08d.safetensors", step);
            double *w = tensor(ckpt("swa-hand", file), raw, &n);
            if (!w) { CHECK(0); break; }
            if (step % 2 == 0) for (long i = 0; i < n; i++) swa[i] += w[i] / 3;
            if (step == 1) {   /* before the start: the model tensors are the trained weights */
                double *model = tensor(ckpt("swa-hand", file), names[k], &m);
                CHECK(model && m == n && !memcmp(model, w, sizeof(double) * (size_t)n));
                free(model);
            }
            free(w);
            if (step > 4) continue;
            w = tensor(ckpt("ema-hand", file), raw, &n);
            if (!ema) ema = w;
            else { for (long i = 0; i < n; i++) ema[i] = (ema[i] + w[i]) / 2; free(w); }
        }
        double *got = tensor(ckpt("ema-hand", "step-00000004.safetensors"), names[k], &m), worst = 0;
        for (long i = 0; got && ema && i < n; i++) worst = fmax(worst, fabs(got[i] - ema[i]));
        CHECK(got && ema && m == n && worst < 1e-6);
        free(got);
        got = tensor(ckpt("swa-hand", "last.safetensors"), names[k], &m);
        worst = 0;
        for (long i = 0; got && i < n; i++) worst = fmax(worst, fabs(got[i] - swa[i]));
        CHECK(got && m == n && worst < 1e-6);
        free(got);
        free(ema);
        free(swa);
    }
    long n;
    double *count = tensor(ckpt("swa-hand", "last.safetensors"), "n_averaged", &n);
    CHECK(count && n == 1 && count[0] == 3);
    free(count);
    count = tensor(ckpt("swa-hand", "step-00000001.safetensors"), "n_averaged", &n);
    CHECK(count && count[0] == 0);
    free(count);
}

/* update_bn: after the run, the averaged model's BatchNorm statistics are the average over the
 * training set's batches, in order (500 images in 5 batches of 100), of each batch's mean and
 * unbiased variance of the averaged first layer's output h = x W^T + b, and
 * num_batches_tracked counts the 5 batches; the trained model keeps its own (raw.1.*). */
static void test_update_bn(void) {
    CHECK(train("bn-swa", "--model 784-8-10 --norm batch --subset 500 --val 0 --batch 100 --steps 12 "
                "--opt momentum --lr 0.05 --swa-start 4 --swa-every 4") == 0);
    const char *path = ckpt("bn-swa", "last.safetensors");
    long n;
    double *w = tensor(path, "0.weight", &n), *b = tensor(path, "0.bias", &n);
    double *rm = tensor(path, "1.running_mean", &n), *rv = tensor(path, "1.running_var", &n);
    double *count = tensor(path, "1.num_batches_tracked", &n), *raw = tensor(path, "raw.1.running_mean", &n);
    Dataset ds;
    char err[ERR_LEN];
    CHECK(w && b && rm && rv && count && raw && dataset_open("mnist", 1, &ds, err) == 0);
    if (!(w && b && rm && rv && count && raw)) return;
    float *x = malloc(sizeof(float) * 100 * 784);
    int idx[100], labels[100];
    double mean[8] = {0}, var[8] = {0}, worst_mean = 0, worst_var = 0, raw_gap = 0;
    for (int batch = 0; batch < 5; batch++) {
        for (int i = 0; i < 100; i++) idx[i] = 100 * batch + i;
        dataset_gather(&ds, idx, 100, x, labels);
        for (int j = 0; j < 8; j++) {
            double h[100], s = 0, ss = 0;
            for (int i = 0; i < 100; i++) {
                h[i] = b[j];
                for (int k = 0; k < 784; k++) h[i] += w[j * 784 + k] * x[i * 784 + k];
                s += h[i];
            }
            for (int i = 0; i < 100; i++) ss += (h[i] - s / 100) * (h[i] - s / 100);
            mean[j] += s / 100 / 5;
            var[j] += ss / 99 / 5;
        }
    }
    for (int j = 0; j < 8; j++) {
        worst_mean = fmax(worst_mean, fabs(rm[j] - mean[j]) / (1 + fabs(mean[j])));
        worst_var = fmax(worst_var, fabs(rv[j] - var[j]) / (1 + var[j]));
        raw_gap = fmax(raw_gap, fabs(raw[j] - rm[j]));
    }
    fprintf(stderr, "  update_bn: running mean within %.2g, variance within %.2g of the recomputed statistics\n",
            worst_mean, worst_var);
    CHECK(worst_mean < 1e-5 && worst_var < 1e-5 && count[0] == 5 && raw_gap > 1e-3);
    free(x); free(w); free(b); free(rm); free(rv); free(count); free(raw);
    dataset_free(&ds);
}

/* The averaged weights are what evaluation, checkpoints and `train eval` see: eval of
 * best.safetensors after an early stop reports the summary's test figures. */
static void test_eval_sees_the_average(void) {
    CHECK(train("ema-eval", "--model 784-32-10 --subset 2048 --val 512 --batch 64 --steps 200 --eval-every 20 "
                "--early-stop 2 --opt adamw --lr 3e-3 --ema 0.95") == 0);
    CHECK(sh(TRAIN " eval --ckpt " RUNS "/ema-eval/best.safetensors > " RUNS "/ema-eval.eval") == 0);
    char err[ERR_LEN];
    char *text = read_file(RUNS "/ema-eval.eval", NULL, err);
    double acc = -1;
    if (text && strstr(text, "test_acc ")) acc = atof(strstr(text, "test_acc ") + 9);
    CHECK_NEAR(acc, summary_value("ema-eval", "test_acc"), 1e-4);
    free(text);
}

/* Flags that make no sense are refused with exit code 2 before any work. */
static void test_refusals(void) {
    static const struct { const char *flags, *message; } bad[] = {
        {"--swa-every 5", "--swa-every: only with --swa-start"},
        {"--ema 0.99 --swa-start 10", "--ema: not with --swa-start"},
        {"--opt sf-adamw --ema 0.99", "--ema: not with --opt sf-adamw"},
        {"--opt lbfgs --clip 1", "--clip: not with --opt lbfgs"},
        {"--opt lbfgs --skip-nonfinite", "--skip-nonfinite: not with --opt lbfgs"},
        {"--opt lbfgs --wd 0.1", "--wd: --opt lbfgs has no weight decay"},
        {"--opt sophia --loss mse", "--loss: --opt sophia draws labels"},
        {"--opt sf-sgd --momentum 0", "--momentum: sf-sgd needs 0 < momentum < 1"},
        {"--opt adamw --rho 0.1", "--rho: not used by --opt adamw"},
        {"--opt sgd --max-iter 5", "--max-iter: not used by --opt sgd"},
        {"--opt sophia --weight-step-power 1", "--weight-step-power: not used by --opt sophia"},
        {"--overfit 64 --ema 0.9", "--ema: not with --overfit"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, TRAIN " --quiet --runs-dir " RUNS " --run refused %s 2> " RUNS
                 "/refused.err; test $? = 2 && grep -q -- '%s' " RUNS "/refused.err", bad[i].flags, bad[i].message);
        int rc = sh_status(cmd);
        if (rc != 0) fprintf(stderr, "  not refused as expected: %s\n", bad[i].flags);
        CHECK(rc == 0);
    }
    CHECK(sh_status("test -e " RUNS "/refused") != 0);
}

int main(void) {
    if (sh("mkdir -p " RUNS) != 0) return 1;
    RUN(test_refusals);
    RUN(test_averages_by_hand);
    RUN(test_update_bn);
    RUN(test_eval_sees_the_average);
    RUN(test_resume_is_exact);
    RUN(test_each_trains);
    return test_summary();
}
