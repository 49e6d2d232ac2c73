/* How runs end and what they leave: interruption by signals and exact resume after SIGTERM
 * or SIGKILL, --keep, --skip-nonfinite and the NaN guard, --early-stop restoring the best
 * weights, --overfit's verdict, the per-run plots, --log-layers and the initial-loss check. */
#include "test.h"

#define RUNS "tests/tmp/runs"
#include "e2e.h"

#include <string.h>
#include <unistd.h>

/* A run long enough to be interrupted (a few seconds), small enough to finish quickly. */
#define LONG_RUN "--subset 2000 --val 200 --model 784-64-10 --batch 32 --steps 4000 --eval-every 100 " \
                 "--ckpt-every 40 --log-every 20 --dropout 0.1 --schedule cosine --warmup 20"

/* SIGTERM: the step in progress finishes, last.safetensors and summary.json are written, the
 * exit code is 143 and the message says how to resume; resuming then ends with the same bits
 * as a run that was never interrupted. */
static void test_sigterm_saves_and_resumes_exactly(void) {
    CHECK(train("whole", LONG_RUN) == 0);
    CHECK(sh("rm -rf " RUNS "/term; (" TRAIN " --quiet --runs-dir " RUNS " --force --run term " LONG_RUN " > /dev/null 2> " RUNS "/term.err & "
             "pid=$!; while [ ! -s " RUNS "/term/last.safetensors ]; do sleep 0.05; done; kill -TERM $pid; "
             "wait $pid; echo $? > " RUNS "/term.rc)") == 0);
    CHECK(sh("test \"$(cat " RUNS "/term.rc)\" = 143") == 0);
    CHECK(sh("grep -q 'interrupted at step [0-9]*: state saved; continue with: ./train --resume " RUNS "/term' "
             RUNS "/term.err") == 0);
    char stopped[32] = "";
    double steps = summary_field("term", "steps", NULL, 0);
    summary_field("term", "stopped", stopped, sizeof stopped);
    CHECK_STR(stopped, "interrupted");
    CHECK(steps > 0 && steps < 4000);
    CHECK(sh(TRAIN " --quiet --resume " RUNS "/term > /dev/null") == 0);
    CHECK(max_weight_diff(ckpt("whole", "last.safetensors"), ckpt("term", "last.safetensors")) == 0);
    CHECK(max_weight_diff(ckpt("whole", "best.safetensors"), ckpt("term", "best.safetensors")) == 0);
    CHECK(sh("test \"$(cut -d, -f1-8 " RUNS "/whole/log.csv)\" = \"$(cut -d, -f1-8 " RUNS "/term/log.csv)\"") == 0);
}

/* Two SIGINTs in a row: the second does not wait for the step (or the save); either way the
 * process ends with 130, and a later --resume still works from the last saved checkpoint. */
static void test_double_sigint(void) {
    CHECK(sh("rm -rf " RUNS "/int2; (" TRAIN " --quiet --runs-dir " RUNS " --force --run int2 " LONG_RUN " > /dev/null 2>&1 & "
             "pid=$!; while [ ! -s " RUNS "/int2/last.safetensors ]; do sleep 0.05; done; kill -INT $pid; kill -INT $pid; "
             "wait $pid; echo $? > " RUNS "/int2.rc)") == 0);
    CHECK(sh("test \"$(cat " RUNS "/int2.rc)\" = 130") == 0);
    CHECK(sh(TRAIN " --quiet --resume " RUNS "/int2 > /dev/null") == 0);
    CHECK(max_weight_diff(ckpt("whole", "last.safetensors"), ckpt("int2", "last.safetensors")) == 0);
}

/* SIGKILL at an arbitrary moment: no handler runs. Resuming from the last periodic checkpoint
 * redoes the lost steps; the log has every step row exactly once and the weights match. */
static void test_sigkill_then_resume(void) {
    CHECK(sh("rm -rf " RUNS "/killed; (" TRAIN " --quiet --runs-dir " RUNS " --force --run killed " LONG_RUN " > /dev/null 2>&1 & "
             "pid=$!; while [ $( (wc -l < " RUNS "/killed/log.csv) 2>/dev/null || echo 0) -lt 12 ]; do sleep 0.02; done; "
             "kill -KILL $pid; wait $pid; true)") == 0);
    CHECK(sh(TRAIN " --quiet --resume " RUNS "/killed > /dev/null") == 0);
    CHECK(max_weight_diff(ckpt("whole", "last.safetensors"), ckpt("killed", "last.safetensors")) == 0);
    CHECK(sh("test \"$(cut -d, -f1 " RUNS "/killed/log.csv | sort | uniq -d)\" = ''") == 0);
    CHECK(sh("test \"$(cut -d, -f1-8 " RUNS "/whole/log.csv)\" = \"$(cut -d, -f1-8 " RUNS "/killed/log.csv)\"") == 0);
    /* a write cut by the kill may leave last.safetensors.tmp.<pid>; the resume removes it */
    CHECK(sh_status("ls " RUNS "/killed | grep -q tmp") == 1);
}

/* --keep 2 with a checkpoint every 40 steps of 200: step-00000120 and step-00000160 remain. */
static void test_keep_newest_checkpoints(void) {
    CHECK(train("keep", "--subset 500 --val 0 --model 784-32-10 --steps 200 --ckpt-every 40 --keep 2") == 0);
    CHECK(sh("test \"$(ls " RUNS "/keep | grep '^step-' | tr '\\n' ' ')\" = "
             "'step-00000120.safetensors step-00000160.safetensors '") == 0);
    CHECK(max_weight_diff(ckpt("keep", "step-00000160.safetensors"), ckpt("keep", "last.safetensors")) > 0);
}

/* An absurd learning rate drives the loss to infinity at step 2: the run stops with the step,
 * the lr and a hint, exit 1, and last.safetensors keeps step 1's finite weights. With
 * --skip-nonfinite the bad updates are skipped and counted instead. */
static void test_nonfinite_guard_and_skip(void) {
    const char *flags = "--subset 256 --val 0 --model 784-32-10 --opt sgd --lr 1e36 --schedule constant "
                        "--steps 6 --ckpt-every 1";
    char cmd[512];
    snprintf(cmd, sizeof cmd, TRAIN " --quiet --runs-dir " RUNS " --force --run nan %s 2> " RUNS "/nan.err", flags);
    CHECK(sh_status(cmd) == 1);
    CHECK(sh("grep -q '^train: non-finite loss at step 2 (lr 1e+36): the lr may be too high' " RUNS "/nan.err") == 0);
    CHECK(max_weight_diff(ckpt("nan", "last.safetensors"), ckpt("nan", "last.safetensors")) == 0);   /* finite */
    char skip[512];
    snprintf(skip, sizeof skip, "%s --skip-nonfinite", flags);
    CHECK(train("skip", skip) == 0);
    CHECK(summary_value("skip", "skipped_steps") == 5);
    CHECK(summary_value("skip", "steps") == 6);
    CHECK(sh("tail -n 1 " RUNS "/skip/log.csv | awk -F, '{ exit !($11 == 5) }'") == 0);
}

/* --early-stop 2: two evaluations without improvement end the run; the final evaluation uses
 * the best step's weights, which are exactly best.safetensors. */
static void test_early_stop_restores_best(void) {
    CHECK(train("early", "--subset 1000 --val 500 --model 784-64-10 --opt sgd --lr 0.3 --momentum 0.9 "
                         "--schedule constant --steps 3000 --eval-every 10 --early-stop 2") == 0);
    char stopped[32] = "";
    summary_field("early", "stopped", stopped, sizeof stopped);
    CHECK_STR(stopped, "early-stop");
    double best = summary_value("early", "best_step"), kept = summary_value("early", "kept_step");
    double steps = summary_value("early", "steps");
    CHECK(kept == best && steps == best + 20 && steps < 3000);
    CHECK_NEAR(summary_value("early", "val_loss"), summary_value("early", "best_val_loss"), 1e-12);
    CHECK(sh(TRAIN " eval --ckpt " RUNS "/early/best.safetensors > " RUNS "/early.eval") == 0);
    char err[ERR_LEN];
    char *out = read_file(RUNS "/early.eval", NULL, err);
    const char *p = out ? strstr(out, "test_acc ") : NULL;
    CHECK(p && fabs(atof(p + 9) - summary_value("early", "test_acc")) < 1e-4);
    free(out);
}

/* --overfit 32 memorises 32 images and says so (exit 0); with lr 1e-9 it cannot, and the
 * verdict names the likely cause (exit 1). */
static void test_overfit_verdicts(void) {
    CHECK(sh(TRAIN " --quiet --runs-dir " RUNS " --force --run fit32 --overfit 32 --model 784-64-10 > "
             RUNS "/fit32.out") == 0);
    CHECK(sh("grep -Eq '^overfit 32 samples in [0-9]+ steps \\(loss 0\\.000[0-9]+\\)$' " RUNS "/fit32.out") == 0);
    CHECK(summary_value("fit32", "train_acc") == 1.0);
    CHECK(sh_status(TRAIN " --quiet --runs-dir " RUNS " --force --run stuck --overfit 32 --model 784-64-10 "
                    "--lr 1e-9 --steps 200 > " RUNS "/stuck.out") == 1);
    CHECK(sh("grep -q '^could not overfit: loss plateaued at 2.[0-9]* after 200 steps (32 samples)' " RUNS "/stuck.out") == 0);
    CHECK(sh("grep -q 'initial loss 2.[0-9]*; expected about ln(10) = 2.303' " RUNS "/stuck.out") == 0);
    CHECK(sh("grep -q 'layer 0: gradient norm' " RUNS "/stuck.out") == 0);
    CHECK(sh("grep -q 'lr (1e-09) is probably too low' " RUNS "/stuck.out") == 0);
}

/* Every run draws loss.svg (train, smoothed, val, lr: four paths) and acc.svg (two paths). */
static void test_run_plots(void) {
    CHECK(train("plots", "--subset 600 --val 200 --model 784-32-10 --steps 60 --eval-every 20") == 0);
    CHECK(count_in(ckpt("plots", "loss.svg"), "<path class=\"series\"") == 4);
    CHECK(count_in(ckpt("plots", "acc.svg"), "<path class=\"series\"") == 2);
    CHECK(sh("head -c 100 " RUNS "/plots/loss.svg | grep -q '^<?xml'") == 0);
    CHECK(sh("tail -n 1 " RUNS "/plots/loss.svg | grep -q '^</svg>$'") == 0);
    /* every element opened is closed: <x ...>...</x> or <x .../> */
    CHECK(sh("test $(grep -o '<[a-z]' " RUNS "/plots/acc.svg | wc -l) -eq "
             "$(( $(grep -o '</[a-z]' " RUNS "/plots/acc.svg | wc -l) + $(grep -o '/>' " RUNS "/plots/acc.svg | wc -l) ))") == 0);
}

/* --log-layers: four columns per Linear layer; update ratios are positive, dead fractions in [0, 1]. */
static void test_log_layers(void) {
    CHECK(train("layers", "--subset 300 --val 0 --model 784-32-16-10 --steps 20 --log-layers") == 0);
    CHECK(sh("head -n 1 " RUNS "/layers/log.csv | grep -q ',skipped,0.grad_norm,0.weight_norm,0.update_ratio,"
             "0.dead_relu,2.grad_norm,2.weight_norm,2.update_ratio,2.dead_relu,4.grad_norm,4.weight_norm,"
             "4.update_ratio,4.dead_relu$'") == 0);
    CHECK(sh("tail -n 1 " RUNS "/layers/log.csv | awk -F, '{ exit !($12 > 0 && $14 > 0 && $14 < 1 && "
             "$15 >= 0 && $15 <= 1 && $23 == \"\") }'") == 0);
}

/* A first loss far from ln(10) is reported: start from weights blown up by one huge SGD step. */
static void test_initial_loss_warning(void) {
    CHECK(train("blown", "--subset 256 --val 0 --model 784-32-10 --opt sgd --lr 50 --steps 1") == 0);
    CHECK(sh(TRAIN " --runs-dir " RUNS " --force --run warned --subset 256 --val 0 --model 784-32-10 --steps 1 "
             "--init " RUNS "/blown/last.safetensors > /dev/null 2> " RUNS "/warned.err") == 0);
    CHECK(sh("grep -q '^train: warning: initial loss .* is far from ln(10) = 2.303' " RUNS "/warned.err") == 0);
    CHECK(train("fresh", "--subset 256 --val 0 --model 784-32-10 --steps 1") == 0);
    CHECK(sh_status("grep -q 'initial loss' " RUNS "/fresh.out") == 1);
}

int main(void) {
    if (sh("mkdir -p " RUNS) != 0) return 1;
    RUN(test_sigterm_saves_and_resumes_exactly);
    RUN(test_double_sigint);
    RUN(test_sigkill_then_resume);
    RUN(test_keep_newest_checkpoints);
    RUN(test_nonfinite_guard_and_skip);
    RUN(test_early_stop_restores_best);
    RUN(test_overfit_verdicts);
    RUN(test_run_plots);
    RUN(test_log_layers);
    RUN(test_initial_loss_warning);
    return test_summary();
}
