/* End to end, the built ./train with the optimizers adadelta, adafactor, lamb, lars,
 * lookahead, muon and shampoo: each trains the small MLP below a stated loss; a run stopped
 * half way and resumed ends with the same bits as one that was not (model and optimizer state,
 * Shampoo's statistics and roots, the slow weights of lookahead included); thread counts do
 * not change the bits; every new flag is refused by optimizers that do not read it, and
 * lookahead's inner optimizer brings its own flags and defaults. */
#include "test.h"

#define RUNS "tests/tmp/optim2_e2e"
#include "e2e.h"

#include <string.h>

/* 300 steps of 784-64-10 on 4,096 images (batch 64, cosine schedule), each optimizer at an lr
 * tuned for it: the final loss on those images (evaluation mode, summary.json) must be below
 * the bound, about twice what the run reached when the test was written (adamw at its default
 * lr 1e-3 reaches 0.36 here). Shampoo recomputes its roots every 10 steps, to keep the test
 * short. */
static void test_each_optimizer_trains(void) {
    static const struct { const char *name, *flags; double bound; } cases[] = {
        {"adadelta", "--opt adadelta", 0.35},                        /* 0.247 */
        {"adafactor", "--opt adafactor --lr 0.1", 0.2},              /* 0.099 */
        {"lamb", "--opt lamb --lr 3e-2", 0.1},                       /* 0.042 */
        {"lars", "--opt lars --lr 10", 0.3},                         /* 0.193 */
        {"lookahead", "--opt lookahead --lr 1e-2", 0.25},            /* 0.153 */
        {"muon", "--opt muon --lr 0.05", 0.05},                      /* 0.018 */
        {"shampoo", "--opt shampoo --precond-every 10", 0.12},       /* 0.062 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char flags[512];
        snprintf(flags, sizeof flags, "--model 784-64-10 --subset 4096 --val 0 --steps 300 %s", cases[i].flags);
        CHECK(train(cases[i].name, flags) == 0);
        double loss = summary_value(cases[i].name, "train_loss");
        fprintf(stderr, "  %-9s final train loss %.4f (bound %g)\n", cases[i].name, loss, cases[i].bound);
        CHECK(loss < cases[i].bound);
    }
}

/* A tensor named `name` is in the run's last checkpoint */
static int has_tensor(const char *run, const char *name) {
    StFile f;
    char err[ERR_LEN];
    if (st_read(ckpt(run, "last.safetensors"), &f, err) != 0) return 0;
    int found = st_find(&f, name) != NULL;
    st_free(&f);
    return found;
}

/* 12 steps at once == 6 steps, then --resume to 12: the same bits, optimizer state included.
 * Each case's state is named in the checkpoint (one tensor is checked). The resume point is
 * off every cadence: Shampoo's roots (every 4 steps) and lookahead's synchronisation (every
 * 5) fall on both sides of it. */
static void test_resume_is_exact(void) {
    static const struct { const char *run, *flags, *state; } cases[] = {
        {"adadelta", "--opt adadelta", "optimizer.0.weight.acc_delta"},
        {"adafactor", "--opt adafactor --wd 0.01", "optimizer.0.weight.col_var"},
        {"lamb", "--opt lamb", "optimizer.0.bias.exp_avg_sq"},
        {"lars", "--opt lars --nesterov", "optimizer.2.weight.momentum_buffer"},
        {"muon", "--opt muon --lr 0.02", "optimizer.0.weight.momentum_buffer"},
        {"shampoo", "--opt shampoo --block 64 --precond-every 4", "optimizer.0.weight.preconditioner_right"},
        {"la-adamw", "--opt lookahead", "optimizer.0.weight.lookahead_slow_buff"},
        {"la-shampoo", "--opt lookahead --inner shampoo --precond-every 4 --lookahead-alpha 0.8",
         "optimizer.0.weight.statistics_left"},
    };
    const char *common = "--model 784-32-10 --subset 700 --val 100 --batch 32 --schedule constant "
                         "--eval-every 5 --log-every 3";
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char flags[512], whole[64], halves[64];
        snprintf(whole, sizeof whole, "%s-whole", cases[i].run);
        snprintf(halves, sizeof halves, "%s-halves", cases[i].run);
        snprintf(flags, sizeof flags, "%s %s", common, cases[i].flags);
        CHECK(train_whole_and_halves(cases[i].run, flags, 12, "") == 0);
        double d = max_weight_diff(ckpt(whole, "last.safetensors"), ckpt(halves, "last.safetensors"));
        if (d != 0) fprintf(stderr, "  %s: resumed run differs by %g\n", cases[i].run, d);
        CHECK(d == 0);
        CHECK(has_tensor(whole, cases[i].state));
    }
}

/* Shampoo's eigen-solves run in parallel over blocks, Muon's iteration and lookahead's inner
 * element-wise rule over threads: one thread or two, the same bits. */
static void test_threads_do_not_change_bits(void) {
    static const char *cases[] = {
        "--opt shampoo --block 32 --model 784-64-10",
        "--opt muon --lr 0.02 --model 784-128-10",
        "--opt lookahead --inner adamw --model 784-128-10",   /* 100352 weights: sliced */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char flags[512], a[32], b[32];
        snprintf(a, sizeof a, "threads1-%zu", i);
        snprintf(b, sizeof b, "threads2-%zu", i);
        snprintf(flags, sizeof flags, "--subset 512 --val 0 --steps 8 %s --threads 1", cases[i]);
        CHECK(train(a, flags) == 0);
        snprintf(flags, sizeof flags, "--subset 512 --val 0 --steps 8 %s --threads 2", cases[i]);
        CHECK(train(b, flags) == 0);
        CHECK(max_weight_diff(ckpt(a, "last.safetensors"), ckpt(b, "last.safetensors")) == 0);
    }
}

/* exit code 2 and a stderr line matching pattern (grep -E) */
static int refused(const char *flags, const char *pattern) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, TRAIN " --quiet --runs-dir " RUNS " --run refused %s 2> " RUNS "/refused.err > /dev/null; "
             "test $? = 2 && grep -Eq -- '^train: %s' " RUNS "/refused.err", flags, pattern);
    int ok = sh_status(cmd) == 0;
    if (!ok) {
        fprintf(stderr, "  not refused as expected: train %s\n", flags);
        sh_status("cat " RUNS "/refused.err >&2");
    }
    return ok;
}

/* Every new flag is refused by an optimizer that does not read it; bad values are refused;
 * lookahead checks the inner optimizer's flags against the inner optimizer. */
static void test_flags(void) {
    static const char *unread[] = {"--rho 0.5", "--beta2-decay -0.5", "--eps2 1e-2", "--clip-threshold 2",
                                   "--trust-coeff 0.01", "--trust-clip", "--ns-steps 3", "--ns-eps 1e-6",
                                   "--muon-adjust match_rms_adamw", "--block 64", "--precond-every 2",
                                   "--matrix-eps 1e-10", "--inner sgd", "--lookahead-k 3",
                                   "--lookahead-alpha 0.7"};
    for (size_t i = 0; i < sizeof unread / sizeof *unread; i++) {
        char flags[128], name[64], pattern[160];
        snprintf(flags, sizeof flags, "--opt adamw %s", unread[i]);
        sscanf(unread[i], "%63s", name);
        snprintf(pattern, sizeof pattern, "%s: not used by --opt adamw", name);
        CHECK(refused(flags, pattern));
    }
    CHECK(refused("--opt lars --beta1 0.8", "--beta1: not used by --opt lars"));
    CHECK(refused("--opt muon --rho 0.5", "--rho: not used by --opt muon"));
    CHECK(refused("--opt shampoo --trust-clip", "--trust-clip: not used by --opt shampoo"));
    CHECK(refused("--opt lookahead --inner sgd --beta1 0.8",
                  "--beta1: not used by --opt lookahead --inner sgd \\(it reads --lr --inner --lookahead-k "
                  "--lookahead-alpha --momentum --dampening --nesterov --wd\\)"));
    CHECK(refused("--opt lookahead --inner shampoo --rho 0.5", "--rho: not used by --opt lookahead --inner shampoo"));
    CHECK(refused("--opt lookahead --inner lookahead", "--inner: lookahead cannot wrap itself"));
    CHECK(refused("--opt lookahead --inner nope", "--inner: unknown value .nope."));
    CHECK(refused("--opt lookahead --lookahead-alpha 0", "--lookahead-alpha: .*out of range"));
    CHECK(refused("--opt lookahead --lookahead-alpha 1.5", "--lookahead-alpha: .*out of range"));
    CHECK(refused("--opt lookahead --lookahead-k 0", "--lookahead-k: .*out of range"));
    CHECK(refused("--opt adafactor --beta2-decay 0.5", "--beta2-decay: .*out of range"));
    CHECK(refused("--opt adafactor --clip-threshold 0.5", "--clip-threshold: .*out of range"));
    CHECK(refused("--opt adadelta --rho 1.5", "--rho: .*out of range"));
    CHECK(refused("--opt lars --trust-coeff 0", "--trust-coeff: .*out of range"));
    CHECK(refused("--opt muon --ns-steps 0", "--ns-steps: .*out of range"));
    CHECK(refused("--opt muon --muon-adjust fast", "--muon-adjust: unknown value .fast."));
    CHECK(refused("--opt shampoo --block 0", "--block: .*out of range"));
    CHECK(refused("--opt shampoo --precond-every 0", "--precond-every: .*out of range"));
    CHECK(refused("--opt shampoo --nesterov --momentum 0", "--nesterov: needs --momentum > 0"));
    /* the inner optimizer's flags and defaults apply: momentum SGD inside lookahead */
    CHECK(train("la-momentum", "--opt lookahead --inner momentum --nesterov --lookahead-k 3 --subset 256 "
                               "--val 0 --steps 6 --model 784-16-10") == 0);
    CHECK(sh("grep -q '\"momentum\": 0.9,' " RUNS "/la-momentum/config.json && "
             "grep -q '\"lr\": 0.001,' " RUNS "/la-momentum/config.json && "
             "grep -q '\"wd\": 0,' " RUNS "/la-momentum/config.json && "
             "grep -q '\"inner\": \"momentum\"' " RUNS "/la-momentum/config.json") == 0);
    CHECK(has_tensor("la-momentum", "optimizer.0.weight.momentum_buffer"));
    /* a resume may not change the inner optimizer */
    CHECK(refused("--resume " RUNS "/la-momentum --opt lookahead --inner sgd", ".*"));
    CHECK(sh("grep -q -- '--inner: run has momentum, flags say sgd' " RUNS "/refused.err") == 0);
}

/* `train optimizers` lists every row with the memory of its state */
static void test_optimizers_lists_memory(void) {
    CHECK(sh(TRAIN " optimizers > " RUNS "/optimizers.out") == 0);
    CHECK(sh("test $(grep -c 'state: .* bytes per parameter, .* MB for 784-256-256-10 (269322 parameters)' "
             RUNS "/optimizers.out) = $(grep -c '^  [a-z]' " RUNS "/optimizers.out)") == 0);
    CHECK(sh("grep -A4 '^  adam ' " RUNS "/optimizers.out | grep -q 'state: 8.00 bytes per parameter, 2.155 MB'") == 0);
    CHECK(sh("grep -A4 '^  shampoo ' " RUNS "/optimizers.out | grep -q 'state: 25.54 bytes per parameter, 6.879 MB'") == 0);
    CHECK(sh("grep -A4 '^  sgd ' " RUNS "/optimizers.out | grep -q 'state: 0.00 bytes per parameter'") == 0);
}

int main(void) {
    if (sh("rm -rf " RUNS " && mkdir -p " RUNS) != 0) return 1;
    RUN(test_each_optimizer_trains);
    RUN(test_resume_is_exact);
    RUN(test_threads_do_not_change_bits);
    RUN(test_flags);
    RUN(test_optimizers_lists_memory);
    return test_summary();
}
