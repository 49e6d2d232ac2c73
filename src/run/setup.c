/* setup.c: the start-up shared by every command that touches a model: threads and denormal
 * mode, the data and its splits, the network (built from the resolved model, initialised
 * from --seed or loaded), and for training the optimizer over the network's parameter
 * tensors, the schedule and the sampler. Every buffer is allocated here, before step 1. */
#include "run/trainer.h"
#include "kernels/kernels.h"
#include "run/dist.h"
#include "nn/layers.h"
#include "nn/model.h"
#include "run/datainfo.h"
#include "run/group.h"
#include "run/memguard.h"
#include "run/resolve.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHUNK 1024   /* rows per forward/backward call: bounds activation memory */
#define EVAL_CHUNK 1000  /* rows per call when only evaluating */

long trainer_group_size(const Config *c, long n_train) {
    long batch = c->batch == BATCH_FULL ? n_train : c->batch, group = batch * c->accum;
    return group > n_train && strcmp(c->sample, "replace") != 0 ? n_train : group;
}

static void load_data(Trainer *t, SetupKind kind) {
    Config *c = &t->c;
    char err[ERR_LEN];
    double start = now_seconds();
    if (dataset_open(c->data, 0, &t->test, err) != 0) fatal(EXIT_FAIL, "%s", err);
    if (kind == SETUP_EVAL) { t->load_seconds = now_seconds() - start; return; }
    if (dataset_open(c->data, 1, &t->train_all, err) != 0) fatal(EXIT_FAIL, "%s", err);
    t->load_seconds = now_seconds() - start;
    if (t->test.rows != t->train_all.rows || t->test.cols != t->train_all.cols)
        fatal(EXIT_FAIL, "%s: test images are %dx%d but training images %dx%d", c->data,
              t->test.rows, t->test.cols, t->train_all.rows, t->train_all.cols);
    data_defaults(c, &t->train_all, &t->test);   /* --val, --model unset; class names */
    long n = t->train_all.n;
    if (c->val >= n) fatal(EXIT_USAGE, "--val: %ld leaves no training data (%ld images)", c->val, n);
    if (c->subset > n - c->val)
        fatal(EXIT_USAGE, "--subset: %ld is more than the %ld training images left after --val",
              c->subset, n - c->val);
    long n_train = c->subset ? c->subset : n - c->val;
    t->train = dataset_slice(&t->train_all, 0, (int)n_train);
    t->val = dataset_slice(&t->train_all, (int)(n - c->val), (int)c->val);
}

/* BatchNorm needs two or more rows in every training micro-batch, as PyTorch does. The sizes
 * a step's group is cut into: full micro-batches of `batch`, and at the end of an epoch the
 * group of n mod G examples, cut the same way. */
static void check_batch_statistics(const Trainer *t, long batch) {
    long n = t->train.n, group = trainer_group_size(&t->c, n);
    long tail = strcmp(t->c.sample, "replace") ? n % group : 0;
    long smallest = batch;
    if (group % batch) smallest = group % batch;
    if (tail && tail % batch && tail % batch < smallest) smallest = tail % batch;
    smallest = dist_smallest_piece(smallest);   /* the piece of it one rank normalises */
    if (smallest < 2)
        fatal(EXIT_USAGE, "--norm batch: some training micro-batches would hold a single example "
              "(batch %ld, %ld examples), which has no batch statistics; change --batch, --accum or "
              "--subset", batch, n);
}

/* Bytes of the loaded images and labels. */
static double data_bytes(const Dataset *d) {
    return (double)d->n * (d->dim + 1);
}

static void build_network(Trainer *t, SetupKind kind, const StFile *weights, const char *weights_path) {
    Config *c = &t->c;
    char err[ERR_LEN];
    ModelSpec spec;
    const Dataset *data = kind == SETUP_EVAL ? &t->test : &t->train_all;
    if (resolve_model_spec(c, &spec, err) != 0 || model_build(&t->net, &spec, data->dim, err) != 0)
        fatal(EXIT_USAGE, "--model: %s", err);
    if (!spec.input && kind == SETUP_TRAIN) {   /* the data gave the input width: record it */
        spec.input = data->dim;
        model_spec_format(&spec, c->model, sizeof c->model);
    }
    int classes = t->test.n_classes;
    if (kind == SETUP_TRAIN && t->train_all.n_classes > classes) classes = t->train_all.n_classes;
    if (net_input_dim(&t->net) != data->dim)
        fatal(EXIT_USAGE, "--model: input size %d does not match the data (%dx%d = %d pixels)",
              net_input_dim(&t->net), data->rows, data->cols, data->dim);
    if (net_output_dim(&t->net) < classes)
        fatal(EXIT_USAGE, "--model: %d outputs, but the data has labels up to %d",
              net_output_dim(&t->net), classes - 1);
    int capacity = EVAL_CHUNK;
    if (kind == SETUP_TRAIN) {
        long batch = c->batch == BATCH_FULL ? t->train.n : c->batch;
        dist_check_batch(batch, c->batch == BATCH_FULL);
        /* BatchNorm normalises over a micro-batch: it must go through in one piece */
        if (model_spec_has(&spec, LAYER_BATCHNORM)) {
            check_batch_statistics(t, batch);
            capacity = (int)batch;
        } else {
            capacity = (int)(batch < MAX_CHUNK ? batch : MAX_CHUNK);
        }
        capacity = (int)dist_shard_rows(capacity);   /* rows of this rank's piece */
    }
    /* before anything of the network is allocated: it fits in memory, the file holds it */
    t->net.eval_capacity = EVAL_CHUNK;   /* evaluation at full speed, in big pieces */
    if (memguard_check(&t->net, capacity, &t->c, kind == SETUP_TRAIN, data_bytes(&t->train_all) +
                       data_bytes(&t->test), weights, weights_path, err) != 0)
        fatal(EXIT_FAIL, "%s", err);
    net_alloc(&t->net, capacity);
    t->labels = xmalloc(sizeof(int) * (size_t)t->net.eval_capacity);
    t->scratch_idx = xmalloc(sizeof(int) * (size_t)t->net.eval_capacity);
}

static void setup_optimizer(Trainer *t) {
    OptTensor *list = xcalloc((size_t)t->net.n_tensors + 1, sizeof(OptTensor));
    int count = optim_net_tensors(&t->net, list);
    OptimHyper h = resolve_optim_hyper(&t->c);
    optim_init(&t->opt, optim_find(t->c.opt), &h, list, count, t->net.n_params);
    free(list);
}

static void load_weights(Trainer *t, const StFile *weights, const char *path) {
    char err[ERR_LEN];
    if (ckpt_load_model(weights, &t->net, path, err) != 0) fatal(EXIT_FAIL, "%s", err);
}

int trainer_precision_bf16(const Config *c) {
    char err[ERR_LEN];
    if (strcmp(c->precision, "bf16") != 0) return 0;
    if (kernels_bf16_check(err, sizeof err) != 0) fatal(EXIT_USAGE, "--precision bf16: %s", err);
    return 1;
}

void trainer_setup(Trainer *t, const Config *c, SetupKind kind, const StFile *weights,
                   const char *weights_path) {
    memset(t, 0, sizeof *t);
    t->c = *c;
    kernels_set_threads(dist_configure(c));
    kernels_set_denormals(!strcmp(c->denormals, "flush"));
    int bf16 = trainer_precision_bf16(c);
    load_data(t, kind);
    StFile init = {0};
    if (!weights && t->c.init[0]) {
        char err[ERR_LEN];
        if (st_read(t->c.init, &init, err) != 0) fatal(EXIT_FAIL, "%s", err);
        weights = &init;
        weights_path = t->c.init;
    }
    build_network(t, kind, weights, weights_path);
    t->net.bf16 = bf16;
    net_init_params(&t->net, (uint64_t)t->c.seed);
    rng_seed(&t->net.dropout_rng, (uint64_t)t->c.seed, STREAM_DROPOUT);
    if (weights) load_weights(t, weights, weights_path);
    st_free(&init);
    t->st.best_val_loss = INFINITY;
    t->st.best_step = -1;
    dist_setup(t);
    if (kind == SETUP_EVAL) return;
    t->training = 1;
    setup_optimizer(t);
    t->sched = resolve_schedule(&t->c);
    int mode = !strcmp(c->sample, "replace") ? SAMPLE_REPLACE
             : !strcmp(c->sample, "sequential") ? SAMPLE_SEQUENTIAL : SAMPLE_SHUFFLE;
    long group = trainer_group_size(c, t->train.n);
    sampler_init(&t->sampler, mode, t->train.n, (int)group, (uint64_t)c->seed);
    t->group_idx = xmalloc(sizeof(int) * (size_t)group);
    t->steps_per_epoch = sampler_steps_per_epoch(&t->sampler);
    t->total_steps = c->steps ? c->steps : c->epochs * t->steps_per_epoch;
    config_check_run_length(&t->c, t->total_steps);
    group_setup(t);
    averaging_setup(t);
}

void trainer_capture_rng(Trainer *t) {
    t->st.sampler_epoch_rng = t->sampler.epoch_rng;
    t->st.sampler_rng = t->sampler.rng;
    t->st.sampler_epoch = t->sampler.epoch;
    t->st.sampler_pos = t->sampler.pos;
    t->st.dropout_rng = t->net.dropout_rng;
}

void trainer_restore_rng(Trainer *t) {
    sampler_restore(&t->sampler, t->st.sampler_epoch_rng, t->st.sampler_rng, t->st.sampler_epoch,
                    t->st.sampler_pos);
    t->net.dropout_rng = t->st.dropout_rng;
}

void trainer_free(Trainer *t) {
    net_free(&t->net);
    if (t->training) {
        sampler_free(&t->sampler);
        optim_free(&t->opt);
        averaging_free(&t->avg);
    }
    free(t->group_idx);
    free(t->labels);
    free(t->scratch_idx);
    dataset_free(&t->train_all);
    dataset_free(&t->test);
}
