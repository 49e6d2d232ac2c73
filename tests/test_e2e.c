/* End to end: the built ./train on MNIST (make test fetches it first). Checks the invariants
 * users rely on: accumulation == big batch, resume == uninterrupted, thread-count
 * invariance, --init and eval, the run directory's files, and that training works:
 * 256 examples are fitted to 100%, one epoch reaches >= 95% test accuracy. */
#include "test.h"

#define RUNS "tests/tmp/e2e"
#include "e2e.h"

#include <string.h>

/* Batch 32 x accum 4 takes the same steps as batch 128: same groups, same mean gradient. */
static void test_accumulation_equals_big_batch(void) {
    const char *common = "--subset 1000 --val 0 --steps 12 --lr 3e-3 --warmup 3 --seed 5";
    char flags[512];
    snprintf(flags, sizeof flags, "%s --batch 128", common);
    CHECK(train("big", flags) == 0);
    snprintf(flags, sizeof flags, "%s --batch 32 --accum 4", common);
    CHECK(train("accum", flags) == 0);
    double d = max_weight_diff(ckpt("big", "last.safetensors"), ckpt("accum", "last.safetensors"));
    CHECK(d < 1e-5);
    /* --batch full is one group of the whole training set: the same as a batch of its size */
    CHECK(train("full", "--subset 500 --val 0 --steps 3 --batch full --lr 3e-3") == 0);
    CHECK(train("b500", "--subset 500 --val 0 --steps 3 --batch 500 --lr 3e-3") == 0);
    CHECK(max_weight_diff(ckpt("full", "last.safetensors"), ckpt("b500", "last.safetensors")) == 0);
    CHECK(summary_value("full", "steps") == 3 && summary_value("full", "epochs") == 3);
    /* and a different grouping really is different */
    snprintf(flags, sizeof flags, "%s --batch 32", common);
    CHECK(train("small", flags) == 0);
    CHECK(max_weight_diff(ckpt("big", "last.safetensors"), ckpt("small", "last.safetensors")) > 1e-3);
}

/* 40 steps in one go == 20 steps, then --resume to 40: identical bits. Dropout, warmup,
 * shuffling mid-epoch and Adam's moments all have to be restored for this to hold. */
static void test_resume_is_exact(void) {
    const char *common = "--subset 700 --val 100 --batch 32 --dropout 0.2 --warmup 5 "
                         "--schedule constant --eval-every 10 --log-every 5";
    char flags[512];
    snprintf(flags, sizeof flags, "%s --steps 40", common);
    CHECK(train("whole", flags) == 0);
    snprintf(flags, sizeof flags, "%s --steps 20", common);
    CHECK(train("halves", flags) == 0);
    CHECK(sh(TRAIN " --quiet --resume " RUNS "/halves --steps 40 > /dev/null") == 0);
    CHECK(max_weight_diff(ckpt("whole", "last.safetensors"), ckpt("halves", "last.safetensors")) == 0);
    CHECK(max_weight_diff(ckpt("whole", "best.safetensors"), ckpt("halves", "best.safetensors")) == 0);
    /* the resumed log has each step once: rows 5, 10 (eval), 15, ..., 40 */
    CHECK(sh("test \"$(cut -d, -f1 " RUNS "/halves/log.csv | tr '\\n' ' ')\" = "
             "\"step 5 10 15 20 25 30 35 40 \"") == 0);
    CHECK(sh("cmp -s " RUNS "/whole/log.csv " RUNS "/halves/log.csv || "
             "test \"$(cut -d, -f1-8 " RUNS "/whole/log.csv)\" = \"$(cut -d, -f1-8 " RUNS "/halves/log.csv)\"") == 0);
    /* resuming with a changed model is refused and names the difference */
    CHECK(sh(TRAIN " --quiet --resume " RUNS "/halves --steps 60 --model 784-64-10 2> " RUNS "/refuse.err; "
             "test $? = 2 && grep -q -- '--model: run has 784-256-256-10, flags say 784-64-10' " RUNS "/refuse.err") == 0);
}

static void test_threads_do_not_change_bits(void) {
    const char *common = "--subset 512 --val 0 --steps 20 --batch 64 --dropout 0.1";
    char flags[512];
    snprintf(flags, sizeof flags, "%s --threads 1", common);
    CHECK(train("t1", flags) == 0);
    snprintf(flags, sizeof flags, "%s --threads 2", common);
    CHECK(train("t2", flags) == 0);
    CHECK(max_weight_diff(ckpt("t1", "last.safetensors"), ckpt("t2", "last.safetensors")) == 0);
}

/* Biases skip weight decay unless --wd-bias: after one SGD step with a large decay, the biases
 * of a decayed run equal those of an undecayed one, bit for bit (their gradient is taken at the
 * same initial weights), and --wd-bias changes them. (After a second step they would differ:
 * the decayed weights change the biases' gradient.) */
static void test_weight_decay_skips_biases(void) {
    const char *common = "--subset 256 --val 0 --steps 1 --batch 64 --opt sgd --lr 0.1 --model 784-10";
    char flags[512];
    snprintf(flags, sizeof flags, "%s --wd 0", common);
    CHECK(train("wd0", flags) == 0);
    snprintf(flags, sizeof flags, "%s --wd 0.5", common);
    CHECK(train("wd", flags) == 0);
    snprintf(flags, sizeof flags, "%s --wd 0.5 --wd-bias", common);
    CHECK(train("wdb", flags) == 0);
    StFile a, b, c;
    char err[ERR_LEN];
    CHECK(st_read(ckpt("wd0", "last.safetensors"), &a, err) == 0);
    CHECK(st_read(ckpt("wd", "last.safetensors"), &b, err) == 0);
    CHECK(st_read(ckpt("wdb", "last.safetensors"), &c, err) == 0);
    CHECK(memcmp(st_find(&a, "0.bias")->data, st_find(&b, "0.bias")->data, 10 * sizeof(float)) == 0);
    CHECK(memcmp(st_find(&a, "0.weight")->data, st_find(&b, "0.weight")->data, 7840 * sizeof(float)) != 0);
    CHECK(memcmp(st_find(&b, "0.weight")->data, st_find(&c, "0.weight")->data, 7840 * sizeof(float)) == 0);
    CHECK(memcmp(st_find(&b, "0.bias")->data, st_find(&c, "0.bias")->data, 10 * sizeof(float)) != 0);
    st_free(&a); st_free(&b); st_free(&c);
}

/* Fitting 256 examples: 100% training accuracy. Then --init from it starts where it ended,
 * and `train eval` reports the test accuracy that the summary holds. */
static void test_overfit_init_and_eval(void) {
    CHECK(train("fit", "--subset 256 --val 0 --steps 150 --batch 32 --lr 3e-3") == 0);
    CHECK_NEAR(summary_value("fit", "train_acc"), 1.0, 0);
    CHECK(train("again", "--subset 256 --val 0 --steps 1 --batch 32 --lr 1e-9 --init " RUNS "/fit/last.safetensors") == 0);
    CHECK_NEAR(summary_value("again", "train_acc"), 1.0, 0);
    CHECK(sh(TRAIN " eval --ckpt " RUNS "/fit/last.safetensors > " RUNS "/eval.out") == 0);
    char err[ERR_LEN];
    char *out = read_file(RUNS "/eval.out", NULL, err);
    double acc = NAN;
    const char *p = out ? strstr(out, "test_acc ") : NULL;
    if (p) acc = atof(p + 9);
    CHECK_NEAR(acc, summary_value("fit", "test_acc"), 1e-4);
    free(out);
}

/* One epoch of the default recipe: >= 95% test accuracy; the run directory holds the
 * contract's files and keys. */
static void test_one_epoch_mnist(void) {
    CHECK(train("epoch", "--epochs 1") == 0);
    double acc = summary_value("epoch", "test_acc");
    fprintf(stderr, "  one epoch: test accuracy %.4f\n", acc);
    CHECK(acc >= 0.95);
    const char *keys[] = {"steps", "epochs", "train_loss", "train_acc", "val_loss", "val_acc",
                          "test_loss", "test_acc", "samples_per_s", "train_seconds",
                          "wall_seconds", "params", "seed"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) CHECK(!isnan(summary_value("epoch", keys[i])));
    CHECK(summary_value("epoch", "steps") == 860);   /* ceil(55000 / 64) */
    CHECK(summary_value("epoch", "params") == 784 * 256 + 256 + 256 * 256 + 256 + 2570);
    CHECK(sh("head -n 1 " RUNS "/epoch/log.csv | grep -q '^step,epoch,lr,loss,acc,grad_norm,val_loss,val_acc,'") == 0);
    CHECK(sh("test -f " RUNS "/epoch/config.json && test -f " RUNS "/epoch/best.safetensors") == 0);
    CHECK(sh("grep -q '\"opt\": \"adamw\"' " RUNS "/epoch/config.json") == 0);
}

/* Every optimizer name trains: 120 steps of a small model on 1000 images take the training
 * accuracy from chance (10%) to above 70%, with each optimizer's own defaults (the SGD family
 * with lr 0.05, as its PyTorch default of 1e-3 needs far more steps). */
static void test_every_optimizer_trains(void) {
    const char *names[] = {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw",
                           "amsgrad", "nadam", "radam", "adamax", "lion"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char flags[512], run[64];
        int sgd_family = i < 3;
        snprintf(flags, sizeof flags, "--subset 1000 --val 0 --steps 120 --batch 50 --model 784-64-10 "
                 "--opt %s %s --schedule constant", names[i], sgd_family ? "--lr 0.05" : "");
        snprintf(run, sizeof run, "opt-%s", names[i]);
        CHECK(train(run, flags) == 0);
        double acc = summary_value(run, "train_acc");
        if (!(acc > 0.7)) fprintf(stderr, "  %s: train accuracy %.3f\n", names[i], acc);
        CHECK(acc > 0.7);
    }
}

/* lr-find on a small model: the sweep runs, stops when the loss blows up, and suggests a rate
 * inside the swept range; its CSV has one row per step with increasing lr. */
static void test_lr_find(void) {
    CHECK(sh(TRAIN " lr-find --quiet --runs-dir " RUNS " --force --run lrf --subset 2000 --val 0 "
             "--model 784-64-10 --batch 64 --num-it 80 > " RUNS "/lrf.out") == 0);
    char err[ERR_LEN];
    char *out = read_file(RUNS "/lrf.out", NULL, err);
    const char *p = out ? strstr(out, "suggested lr (valley)") : NULL;
    double suggestion = p ? atof(p + strlen("suggested lr (valley)")) : NAN;
    CHECK(suggestion >= 1e-7 && suggestion <= 10);
    CHECK(suggestion > 1e-5 && suggestion < 1);   /* the useful range for Adam on MNIST */
    CHECK(sh("test $(wc -l < " RUNS "/lrf/lr_find.csv) -ge 30") == 0);
    CHECK(sh("grep -q '<path class=\"series\"' " RUNS "/lrf/lr_find.svg") == 0);
    CHECK(sh("awk -F, 'NR > 2 && $2 <= prev { exit 1 } { prev = $2 }' " RUNS "/lrf/lr_find.csv") == 0);
    free(out);
}

/* `train schedule` prints the same rates the run logs: the log's lr column at steps 10, 20, ...
 * is the schedule's lr of the step before (row k describes completed step k, which used lr(k-1)). */
static void test_schedule_command_matches_run(void) {
    const char *flags = "--subset 640 --val 0 --steps 60 --batch 64 --schedule onecycle --opt sgd --lr 0.1";
    CHECK(train("sched", flags) == 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, TRAIN " schedule --quiet --out " RUNS "/sched.svg %s > " RUNS "/sched.csv", flags);
    CHECK(sh("%s", cmd) == 0);
    CHECK(sh("test \"$(awk -F, 'NR > 1 && ($1 + 1) %% 10 == 0 { printf \"%%.6g \", $2 }' " RUNS "/sched.csv)\" = "
             "\"$(awk -F, 'NR > 1 { printf \"%%.6g \", $3 }' " RUNS "/sched/log.csv)\"") == 0);
    CHECK(sh("head -n 1 " RUNS "/sched.csv | grep -q '^step,lr,momentum$'") == 0);
    /* the cycled momentum reaches the optimizer: without it the weights differ */
    char flat[512];
    snprintf(flat, sizeof flat, "%s --cycle-momentum off", flags);
    CHECK(train("sched-flat", flat) == 0);
    CHECK(max_weight_diff(ckpt("sched", "last.safetensors"), ckpt("sched-flat", "last.safetensors")) > 1e-4);
}

int main(void) {
    if (sh("mkdir -p " RUNS) != 0) return 1;
    RUN(test_accumulation_equals_big_batch);
    RUN(test_resume_is_exact);
    RUN(test_threads_do_not_change_bits);
    RUN(test_weight_decay_skips_biases);
    RUN(test_overfit_init_and_eval);
    RUN(test_every_optimizer_trains);
    RUN(test_lr_find);
    RUN(test_schedule_command_matches_run);
    RUN(test_one_epoch_mnist);
    return test_summary();
}
