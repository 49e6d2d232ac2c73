/* The sampler and the options: parsing, JSON round trips, the resume comparison. */
#include "test.h"
#include "data/sampler.h"
#include "run/config.h"

#include <stdlib.h>

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
    RUN(test_sampler_shuffle_epochs);
    RUN(test_sampler_restore);
    RUN(test_sampler_replace_and_sequential);
    RUN(test_config_json_roundtrip);
    RUN(test_config_parse);
    return test_summary();
}
