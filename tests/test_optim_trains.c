/* End to end, the built ./train with the twelve element-wise optimizers of the first table
 * (the others have the same test in test_optim2_e2e.c and test_optim2b_runs.c): each trains
 * the small MLP below a stated loss. */
#include "test.h"

#define RUNS "tests/tmp/optim_trains"
#include "e2e.h"

/* 300 steps of 784-64-10 on 4,096 images (batch 64, cosine schedule), each optimizer at its
 * default lr but the SGD family at lr 0.05 (PyTorch's 1e-3 needs far more steps): the final
 * loss on those images (evaluation mode, summary.json) must be below the bound, about twice
 * what the run reached when the test was written (in brackets; the initial loss is about
 * ln 10 = 2.30). One thread: a busy machine slows two-thread runs of a model this small far
 * more than one. */
static void test_each_optimizer_trains(void) {
    static const struct { const char *name, *flags; double bound; } cases[] = {
        {"sgd", "--opt sgd --lr 0.05", 1.4},             /* [0.683] */
        {"momentum", "--opt momentum --lr 0.05", 0.4},   /* [0.199] */
        {"nesterov", "--opt nesterov --lr 0.05", 0.4},   /* [0.203] */
        {"adagrad", "--opt adagrad", 0.6},               /* [0.315] */
        {"rmsprop", "--opt rmsprop", 0.3},               /* [0.133] */
        {"adam", "--opt adam", 0.7},                     /* [0.364] */
        {"adamw", "--opt adamw", 0.7},                   /* [0.365] */
        {"amsgrad", "--opt amsgrad", 0.7},               /* [0.365] */
        {"nadam", "--opt nadam", 0.5},                   /* [0.254] */
        {"radam", "--opt radam", 2.0},                   /* [1.181]: the rectifier keeps early steps small */
        {"adamax", "--opt adamax", 0.8},                 /* [0.419] */
        {"lion", "--opt lion", 2.1},                     /* [1.511]: every coordinate moves by lr 1e-4 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char flags[512];
        snprintf(flags, sizeof flags, "--model 784-64-10 --subset 4096 --val 0 --steps 300 --eval-every 0 "
                 "--ckpt-every 0 --threads 1 %s", cases[i].flags);
        CHECK(train(cases[i].name, flags) == 0);
        double loss = summary_value(cases[i].name, "train_loss");
        fprintf(stderr, "  %-9s final train loss %.4f (bound %g)\n", cases[i].name, loss, cases[i].bound);
        CHECK(loss < cases[i].bound);
    }
}

int main(void) {
    if (sh("rm -rf " RUNS " && mkdir -p " RUNS) != 0) return 1;
    RUN(test_each_optimizer_trains);
    return test_summary();
}
