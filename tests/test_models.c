/* Models end to end, through the built ./train on MNIST: LayerNorm and BatchNorm networks train,
 * resume bit for bit (running statistics and num_batches_tracked included) and evaluate with
 * their running statistics; list-form model files; checkpoints of the previous format resume
 * into the same bits as an uninterrupted run. */
#include "test.h"

#define RUNS "tests/tmp/models"
#include "e2e.h"

#include <string.h>

/* 40 steps in one go == 20 steps then --resume to 40, with BatchNorm under accumulation (two
 * micro-batches per step, each normalised on its own) and dropout. */
static void test_batchnorm_resume_is_exact(void) {
    const char *common = "--norm batch --subset 700 --val 100 --batch 32 --accum 2 --dropout 0.1 "
                         "--model 784-64-32-10 --schedule constant --eval-every 10";
    char flags[512];
    snprintf(flags, sizeof flags, "%s --steps 40", common);
    CHECK(train("bn-whole", flags) == 0);
    snprintf(flags, sizeof flags, "%s --steps 20", common);
    CHECK(train("bn-half", flags) == 0);
    CHECK(sh(TRAIN " --quiet --resume " RUNS "/bn-half --steps 40 > /dev/null") == 0);
    CHECK(max_weight_diff(ckpt("bn-whole", "last.safetensors"), ckpt("bn-half", "last.safetensors")) == 0);
    CHECK(max_weight_diff(ckpt("bn-whole", "best.safetensors"), ckpt("bn-half", "best.safetensors")) == 0);
    /* the running statistics moved and were counted: 40 steps x 2 micro-batches */
    StFile f;
    char err[ERR_LEN];
    CHECK(st_read(ckpt("bn-half", "last.safetensors"), &f, err) == 0);
    const StTensor *count = st_find(&f, "1.num_batches_tracked"), *var = st_find(&f, "1.running_var");
    CHECK(count && count->dtype == ST_I64 && count->ndim == 0 && count->i64[0] == 80);
    CHECK(var && var->data[0] != 1.0f && var->data[5] > 0);
    CHECK(st_find(&f, "optimizer.1.weight.exp_avg") != NULL);
    st_free(&f);
    /* best.safetensors is a model file: no optimizer state */
    CHECK(st_read(ckpt("bn-half", "best.safetensors"), &f, err) == 0);
    CHECK(st_find(&f, "optimizer.0.weight.exp_avg") == NULL && st_find(&f, "5.running_mean") != NULL);
    st_free(&f);
}

/* The norms' loops are split over rows or features, each summed in order: the same bits for
 * any thread count (batch 600 > the threading threshold of the norms' loops). */
static void test_norms_thread_invariant(void) {
    const char *common = "--model 'linear 128, layernorm, gelu, linear 64, batchnorm, relu, linear 10' "
                         "--subset 1200 --val 0 --batch 600 --steps 6";
    char flags[512];
    snprintf(flags, sizeof flags, "%s --threads 1", common);
    CHECK(train("norm-t1", flags) == 0);
    snprintf(flags, sizeof flags, "%s --threads 2", common);
    CHECK(train("norm-t2", flags) == 0);
    CHECK(max_weight_diff(ckpt("norm-t1", "last.safetensors"), ckpt("norm-t2", "last.safetensors")) == 0);
}

/* Both norms train; train eval of the checkpoint (evaluation mode: running statistics)
 * reports the summary's test accuracy. */
static void test_norms_train_and_eval(void) {
    static const char *norms[] = {"layer", "batch"};
    for (int i = 0; i < 2; i++) {
        char name[32], flags[256];
        snprintf(name, sizeof name, "norm-%s", norms[i]);
        snprintf(flags, sizeof flags, "--norm %s --subset 4000 --val 500 --steps 300 --model 784-64-10", norms[i]);
        CHECK(train(name, flags) == 0);
        double acc = summary_value(name, "test_acc");
        CHECK(acc > 0.85);
        char cmd[256];
        snprintf(cmd, sizeof cmd, TRAIN " eval --ckpt " RUNS "/%s/last.safetensors > " RUNS "/%s.eval", name, name);
        CHECK(sh("%s", cmd) == 0);
        char path[128], err[ERR_LEN];
        snprintf(path, sizeof path, RUNS "/%s.eval", name);
        char *out = read_file(path, NULL, err);
        double eval_acc = -1;
        const char *line = out ? strstr(out, "test_acc ") : NULL;
        if (line) sscanf(line, "test_acc %lf", &eval_acc);
        CHECK_NEAR(eval_acc, acc, 1e-4);
        free(out);
    }
}

/* A model file in the list form: its layers as written, nn.Sequential names and all; the input
 * width taken from the data and recorded in the stored model. */
static void test_list_model_file(void) {
    FILE *f = fopen(RUNS "/ln.model", "w");
    if (!f) { CHECK(0); return; }
    fputs("# a LayerNorm MLP\nlinear 48\nlayernorm\ngelu\ndropout 0.1\nlinear 10\nlabel-smoothing 0.05\n", f);
    fclose(f);
    CHECK(train("listed", "--model " RUNS "/ln.model --subset 1000 --val 100 --steps 30") == 0);
    StFile st;
    char err[ERR_LEN];
    CHECK(st_read(ckpt("listed", "last.safetensors"), &st, err) == 0);
    const StTensor *gain = st_find(&st, "1.weight"), *out = st_find(&st, "4.weight");
    CHECK(gain && gain->ndim == 1 && gain->shape[0] == 48);
    CHECK(out && out->shape[0] == 10 && out->shape[1] == 48);
    st_free(&st);
    CHECK(sh("grep -q '\"model\": \"input 784, linear 48, layernorm, gelu, dropout 0.1, linear 10\"' "
             RUNS "/listed/config.json") == 0);
    CHECK(sh("grep -q '\"label_smoothing\": 0.05' " RUNS "/listed/config.json") == 0);
    /* and resumes from the stored model, without the file */
    CHECK(sh("rm " RUNS "/ln.model && " TRAIN " --quiet --resume " RUNS "/listed --steps 40 > /dev/null") == 0);
    /* a list given inline */
    CHECK(train("inline", "--model 'linear 32, batchnorm, tanh, linear 10' --subset 500 --val 0 --steps 10") == 0);
}

/* A run whose checkpoint has the previous format (the optimizer state as base64 metadata,
 * written by the previous release: tests/fixtures/format1-adamw, 10 steps of
 * --model 784-2-10 --subset 256 --val 0 --batch 32 --schedule constant --dropout 0.1) resumes
 * to exactly the weights and optimizer state of an uninterrupted 20-step run. */
static void test_resume_previous_format(void) {
    CHECK(sh("rm -rf " RUNS "/format1 && cp -r tests/fixtures/format1-adamw " RUNS "/format1") == 0);
    CHECK(sh(TRAIN " --quiet --resume " RUNS "/format1 --steps 20 > /dev/null") == 0);
    CHECK(train("format2", "--model 784-2-10 --subset 256 --val 0 --batch 32 --schedule constant "
                           "--dropout 0.1 --steps 20") == 0);
    CHECK(max_weight_diff(ckpt("format1", "last.safetensors"), ckpt("format2", "last.safetensors")) == 0);
}

int main(void) {
    sh("mkdir -p " RUNS);
    RUN(test_batchnorm_resume_is_exact);
    RUN(test_norms_thread_invariant);
    RUN(test_norms_train_and_eval);
    RUN(test_list_model_file);
    RUN(test_resume_previous_format);
    return test_summary();
}
