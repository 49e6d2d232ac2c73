/* Losses, sampler, model construction and initialisation, gradcheck, config parsing. */
#include "test.h"
#include "run/config.h"
#include "instruments/gradcheck.h"
#include "nn/graph.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "data/sampler.h"

#include <stdlib.h>

/* Logits (0, 0, 0), label 0: loss ln 3; gradient softmax - onehot = (-2/3, 1/3, 1/3). */
static void test_cross_entropy_uniform(void) {
    float z[3] = {0, 0, 0}, dz[3];
    int y = 0;
    LossResult r = loss_compute(LOSS_CE, z, &y, 1, 3, 0, 1, dz);
    CHECK_NEAR(r.loss_sum, log(3.0), 1e-12);
    CHECK_NEAR(dz[0], -2.0 / 3, 1e-7);
    CHECK_NEAR(dz[1], 1.0 / 3, 1e-7);
    CHECK_NEAR(dz[2], 1.0 / 3, 1e-7);
}

/* Label smoothing 0.1, z = (1, 2, 3), y = 2: q = (0.0333, 0.0333, 0.9333),
 * loss = logsumexp(z) - q.z = 0.5076059644443802,
 * gradient softmax(z) - q = (0.05669723983704714, 0.21139513772146437, -0.26809237755851134).
 * With scale 0.5 (a group of two) the gradient halves; the loss sum does not. */
static void test_cross_entropy_smoothing(void) {
    float z[3] = {1, 2, 3}, dz[3];
    int y = 2;
    LossResult r = loss_compute(LOSS_CE, z, &y, 1, 3, 0.1f, 0.5f, dz);
    CHECK_NEAR(r.loss_sum, 0.5076059644443802, 1e-7);
    CHECK_NEAR(dz[0], 0.5 * 0.05669723983704714, 1e-7);
    CHECK_NEAR(dz[1], 0.5 * 0.21139513772146437, 1e-7);
    CHECK_NEAR(dz[2], 0.5 * -0.26809237755851134, 1e-7);
    CHECK(r.correct == 1);
}

/* Huge logits stay finite: z = (1000, 0), y = 1 -> loss 1000, gradient (1, -1). */
static void test_cross_entropy_stable(void) {
    float z[2] = {1000, 0}, dz[2];
    int y = 1;
    LossResult r = loss_compute(LOSS_CE, z, &y, 1, 2, 0, 1, dz);
    CHECK_NEAR(r.loss_sum, 1000, 1e-9);
    CHECK_NEAR(dz[0], 1, 1e-7);
    CHECK_NEAR(dz[1], -1, 1e-7);
    CHECK(r.correct == 0);
}

/* MSE against one-hot: z = (0.5, 0.2), y = 0: ((0.5-1)^2 + 0.2^2)/2 = 0.145;
 * gradient 2 (z - t) / C = (-0.5, 0.2). */
static void test_mse(void) {
    float z[2] = {0.5f, 0.2f}, dz[2];
    int y = 0;
    LossResult r = loss_compute(LOSS_MSE, z, &y, 1, 2, 0, 1, dz);
    CHECK_NEAR(r.loss_sum, 0.145, 1e-7);
    CHECK_NEAR(dz[0], -0.5, 1e-7);
    CHECK_NEAR(dz[1], 0.2, 1e-7);
}

/* Shuffle: each epoch is a permutation; the last batch holds n mod batch; epochs differ. */
static void test_sampler_shuffle_epochs(void) {
    Sampler s;
    sampler_init(&s, SAMPLE_SHUFFLE, 10, 4, 5);
    CHECK(sampler_steps_per_epoch(&s) == 3);
    int idx[4], seen[10] = {0}, first_epoch[10], k = 0;
    int sizes[3];
    for (int b = 0; b < 3; b++) {
        sizes[b] = sampler_next(&s, idx);
        for (int i = 0; i < sizes[b]; i++) { seen[idx[i]]++; first_epoch[k++] = idx[i]; }
    }
    CHECK(sizes[0] == 4 && sizes[1] == 4 && sizes[2] == 2);
    for (int i = 0; i < 10; i++) CHECK(seen[i] == 1);
    int n = sampler_next(&s, idx), differs = 0;
    CHECK(n == 4 && s.epoch == 1);
    for (int i = 0; i < 4; i++) differs |= idx[i] != first_epoch[i];
    CHECK(differs);
    sampler_free(&s);
}

/* Restoring (epoch_rng, rng, epoch, pos) continues with exactly the same indices. */
static void test_sampler_restore(void) {
    for (int mode = SAMPLE_SHUFFLE; mode <= SAMPLE_SEQUENTIAL; mode++) {
        Sampler a, b;
        sampler_init(&a, mode, 23, 5, 9);
        sampler_init(&b, mode, 23, 5, 1234);
        int ia[5], ib[5];
        for (int i = 0; i < 7; i++) sampler_next(&a, ia);
        sampler_restore(&b, a.epoch_rng, a.rng, a.epoch, a.pos);
        for (int step = 0; step < 12; step++) {
            int na = sampler_next(&a, ia), nb = sampler_next(&b, ib);
            CHECK(na == nb);
            CHECK(memcmp(ia, ib, sizeof(int) * (size_t)na) == 0);
        }
        sampler_free(&a);
        sampler_free(&b);
    }
}

static void test_sampler_replace_and_sequential(void) {
    Sampler s;
    sampler_init(&s, SAMPLE_REPLACE, 7, 5, 3);
    int idx[5], repeated = 0, counts[7] = {0};
    for (int b = 0; b < 20; b++) {
        CHECK(sampler_next(&s, idx) == 5);
        for (int i = 0; i < 5; i++) { CHECK(idx[i] >= 0 && idx[i] < 7); counts[idx[i]]++; }
    }
    for (int i = 0; i < 7; i++) repeated |= counts[i] > 0;
    CHECK(repeated);
    CHECK(s.epoch == 9);   /* 2 batches per epoch: 20 batches = 10 epochs started */
    sampler_free(&s);
    sampler_init(&s, SAMPLE_SEQUENTIAL, 7, 5, 3);
    CHECK(sampler_next(&s, idx) == 5 && idx[0] == 0 && idx[4] == 4);
    CHECK(sampler_next(&s, idx) == 2 && idx[0] == 5 && idx[1] == 6);
    CHECK(sampler_next(&s, idx) == 5 && idx[0] == 0);
    sampler_free(&s);
}

/* nn.Sequential names: Linear(0) ReLU(1) Dropout(2) Linear(3) ReLU(4) Dropout(5) Linear(6). */
static void test_model_names_and_shapes(void) {
    Config c;
    config_defaults(&c);
    strcpy(c.model, "784-32-16-10");
    c.dropout = 0.5;
    Graph g;
    model_build(&g, &c);
    CHECK(g.n_tensors == 6);
    CHECK_STR(g.tensors[0].name, "0.weight");
    CHECK(g.tensors[0].shape[0] == 32 && g.tensors[0].shape[1] == 784);
    CHECK_STR(g.tensors[1].name, "0.bias");
    CHECK_STR(g.tensors[2].name, "3.weight");
    CHECK_STR(g.tensors[4].name, "6.weight");
    CHECK(g.tensors[5].is_bias && !g.tensors[4].is_bias);
    CHECK(g.n_params == 784 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10);
    c.dropout = 0;
    model_build(&g, &c);
    CHECK_STR(g.tensors[2].name, "2.weight");
    CHECK_STR(g.tensors[4].name, "4.weight");
}

/* nn.Linear init: every weight and bias inside +-1/sqrt(fan_in), filling the range
 * (mean ~ 0, variance ~ bound^2/3), and the same seed gives the same bits. */
static void test_model_init(void) {
    Config c;
    config_defaults(&c);
    strcpy(c.model, "400-100-10");
    Graph g, h;
    model_build(&g, &c); graph_alloc(&g, 1); model_init(&g, 3);
    model_build(&h, &c); graph_alloc(&h, 1); model_init(&h, 3);
    CHECK(memcmp(g.params, h.params, sizeof(float) * (size_t)g.n_params) == 0);
    double bound = 1 / sqrt(400.0), sum = 0, sq = 0, maxabs = 0;
    long n = 400 * 100;
    for (long i = 0; i < n; i++) {
        double w = g.params[i];
        sum += w; sq += w * w;
        if (fabs(w) > maxabs) maxabs = fabs(w);
    }
    CHECK(maxabs <= bound);
    CHECK(maxabs > 0.99 * bound);
    CHECK_NEAR(sum / n, 0, 0.01 * bound);
    CHECK_NEAR(sq / n, bound * bound / 3, 0.02 * bound * bound);
    model_init(&h, 4);
    CHECK(memcmp(g.params, h.params, sizeof(float) * (size_t)g.n_params) != 0);
    graph_free(&g); graph_free(&h);
}

static void test_model_sizes_parse(void) {
    LayerSizes ls;
    char err[512];
    CHECK(model_parse_sizes("784-256-10", &ls, err) == 0 && ls.n_dims == 3 && ls.dims[1] == 256);
    CHECK(model_parse_sizes("784", &ls, err) == -1);
    CHECK_CONTAINS(err, "at least an input and an output");
    CHECK(model_parse_sizes("784--10", &ls, err) == -1);
    CHECK(model_parse_sizes("784-0-10", &ls, err) == -1);
    CHECK_CONTAINS(err, "out of range");
    CHECK(model_parse_sizes("784-10x", &ls, err) == -1);
    CHECK_CONTAINS(err, "unexpected 'x'");
}

/* Every op's backward agrees with finite differences, and a wrong gradient is caught. */
static void test_gradcheck(void) {
    CHECK(gradcheck_run(NULL, 1.0) == 0);
    CHECK(gradcheck_run(NULL, 1.05) > 0);
}

static void test_config_json_roundtrip(void) {
    Config a, b;
    config_defaults(&a);
    strcpy(a.opt, "sgd");
    a.lr = 0.123456789012345;
    a.batch = BATCH_FULL;
    a.nesterov = 1;
    a.momentum = 0.9;
    config_finalize(&a);
    StrBuf s;
    sb_init(&s);
    config_to_json(&a, &s);
    Json j;
    char err[512];
    CHECK(json_parse(s.s, s.len, &j, err) == 0);
    config_defaults(&b);
    CHECK(config_from_json(&b, &j, err) == 0);
    config_finalize(&b);
    StrBuf diff;
    sb_init(&diff);
    CHECK(config_diff_kept(&a, &b, &diff) == 0);
    CHECK(b.lr == a.lr && b.batch == BATCH_FULL && b.wd == 0);
    CHECK_CONTAINS(s.s, "\"batch\": \"full\"");
    b.momentum = 0.5;
    CHECK(config_diff_kept(&a, &b, &diff) == 1);
    CHECK_CONTAINS(diff.s, "--momentum");
    json_free(&j);
    sb_free(&s);
    sb_free(&diff);
}

static void test_config_parse(void) {
    Config c;
    config_defaults(&c);
    char *argv[] = {"train", "--opt", "sgd", "--lr=0.5", "--nesterov", "--momentum", "0.9",
                    "--batch", "full", "--eval-every", "epoch", NULL};
    config_parse_args(&c, 11, argv, 1, NULL, NULL);
    config_finalize(&c);
    CHECK_STR(c.opt, "sgd");
    CHECK(c.lr == 0.5 && c.nesterov == 1 && c.batch == BATCH_FULL && c.eval_every == -1);
    CHECK(c.wd == 0);
    CHECK(config_given(&c, "lr") && !config_given(&c, "wd"));
    /* a switch takes an optional separate on/off word; anything else stays positional */
    Config e;
    config_defaults(&e);
    char *argv2[] = {"train", "--schedule", "onecycle", "--cycle-momentum", "off", "--three-phase",
                     "--amsgrad=on", "--quiet", "true", NULL};
    config_parse_args(&e, 9, argv2, 1, NULL, NULL);
    CHECK(e.cycle_momentum == 0 && e.three_phase == 1 && e.amsgrad == 1 && e.quiet == 1);
    Config d;
    config_defaults(&d);
    config_finalize(&d);
    CHECK_STR(d.opt, "adamw");
    CHECK(d.wd == 0.01 && d.lr == 1e-3);
}

int main(void) {
    RUN(test_cross_entropy_uniform);
    RUN(test_cross_entropy_smoothing);
    RUN(test_cross_entropy_stable);
    RUN(test_mse);
    RUN(test_sampler_shuffle_epochs);
    RUN(test_sampler_restore);
    RUN(test_sampler_replace_and_sequential);
    RUN(test_model_names_and_shapes);
    RUN(test_model_init);
    RUN(test_model_sizes_parse);
    RUN(test_gradcheck);
    RUN(test_config_json_roundtrip);
    RUN(test_config_parse);
    return test_summary();
}
