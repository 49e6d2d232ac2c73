/* trainer.c: setting up a run's data, model and optimizer, and the optimizer step:
 *   indices of the next group of batch * accum examples (sampler)
 *   for each micro-batch: gather + normalise, forward, loss and its gradient, backward
 *     (every gradient accumulates into the flat buffer; the loss gradient is scaled by
 *      1 / group size, so the step sees the mean over all examples of the group)
 *   global gradient norm; clip (value, then norm); optimizer update */
#include "run/trainer.h"
#include "optim/clip.h"
#include "kernels/kernels.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHUNK 1024   /* rows per forward/backward call: bounds activation memory */

static void plan_optimizer(Trainer *t);

static void load_data(Trainer *t) {
    Config *c = &t->c;
    char err[ERR_LEN];
    if (dataset_open(c->data, 1, &t->train_all, err) != 0) fatal(EXIT_FAIL, "%s", err);
    if (dataset_open(c->data, 0, &t->test, err) != 0) fatal(EXIT_FAIL, "%s", err);
    if (t->test.rows != t->train_all.rows || t->test.cols != t->train_all.cols)
        fatal(EXIT_FAIL, "%s: test images are %dx%d but training images %dx%d", c->data,
              t->test.rows, t->test.cols, t->train_all.rows, t->train_all.cols);
    long n = t->train_all.n;
    if (c->val >= n) fatal(EXIT_USAGE, "--val: %ld leaves no training data (%ld images)", c->val, n);
    if (c->subset > n - c->val)
        fatal(EXIT_USAGE, "--subset: %ld is more than the %ld training images left after --val",
              c->subset, n - c->val);
    long n_train = c->subset ? c->subset : n - c->val;
    t->train = dataset_slice(&t->train_all, 0, (int)n_train);
    t->val = dataset_slice(&t->train_all, (int)(n - c->val), (int)c->val);
}

static void build_model(Trainer *t) {
    Config *c = &t->c;
    model_build(&t->g, c);
    int classes = t->train_all.n_classes > t->test.n_classes ? t->train_all.n_classes : t->test.n_classes;
    if (graph_input_dim(&t->g) != t->train_all.dim)
        fatal(EXIT_USAGE, "--model: input size %d does not match the data (%dx%d = %d pixels)",
              graph_input_dim(&t->g), t->train_all.rows, t->train_all.cols, t->train_all.dim);
    if (graph_output_dim(&t->g) < classes)
        fatal(EXIT_USAGE, "--model: %d outputs, but the data has labels up to %d",
              graph_output_dim(&t->g), classes - 1);
    long batch = c->batch == BATCH_FULL ? t->train.n : c->batch;
    int capacity = (int)(batch < MAX_CHUNK ? batch : MAX_CHUNK);
    graph_alloc(&t->g, capacity);
    model_init(&t->g, (uint64_t)c->seed);
    rng_seed(&t->g.dropout_rng, (uint64_t)c->seed, STREAM_DROPOUT);
    t->loss_kind = strcmp(c->loss, "mse") == 0 ? LOSS_MSE : LOSS_CE;

    t->opt = optim_find(c->opt);
    t->hyper = optim_hyper(c);
    t->n_opt_state = (long)t->opt->n_state * t->g.n_params;
    t->opt_state = xalloc_floats((size_t)t->n_opt_state);

    int mode = !strcmp(c->sample, "replace") ? SAMPLE_REPLACE
             : !strcmp(c->sample, "sequential") ? SAMPLE_SEQUENTIAL : SAMPLE_SHUFFLE;
    long group = trainer_group_size(c, t->train.n);
    sampler_init(&t->sampler, mode, t->train.n, (int)group, (uint64_t)c->seed);
    t->group_idx = xmalloc(sizeof(int) * (size_t)group);
    t->labels = xmalloc(sizeof(int) * (size_t)capacity);
    t->scratch_idx = xmalloc(sizeof(int) * (size_t)capacity);
    t->steps_per_epoch = sampler_steps_per_epoch(&t->sampler);
    t->total_steps = c->steps ? c->steps : c->epochs * t->steps_per_epoch;
    t->st.best_val_loss = INFINITY;
    t->st.best_step = -1;
    plan_optimizer(t);
}

long trainer_group_size(const Config *c, long n_train) {
    long batch = c->batch == BATCH_FULL ? n_train : c->batch, group = batch * c->accum;
    return group > n_train && strcmp(c->sample, "replace") != 0 ? n_train : group;
}

void trainer_setup(Trainer *t, const Config *c) {
    memset(t, 0, sizeof *t);
    t->c = *c;
    double start = now_seconds();
    load_data(t);
    t->load_seconds = now_seconds() - start;
    build_model(t);
}

/* The optimizer's work list: every parameter tensor cut into slices of at most OPT_SLICE
 * elements, each with its tensor's weight decay. The rules are element-wise, so the slices
 * can be updated in parallel with the same result for any thread count. */
#define OPT_SLICE 16384

static void plan_optimizer(Trainer *t) {
    int n = 0;
    for (int k = 0; k < t->g.n_tensors; k++) n += (int)((t->g.tensors[k].size + OPT_SLICE - 1) / OPT_SLICE);
    t->slices = xmalloc(sizeof(OptSlice) * (size_t)(n ? n : 1));
    t->n_slices = 0;
    for (int k = 0; k < t->g.n_tensors; k++) {
        const ParamTensor *p = &t->g.tensors[k];
        float wd = p->is_bias && !t->c.wd_bias ? 0.0f : (float)t->c.wd;
        for (long lo = 0; lo < p->size; lo += OPT_SLICE) {
            OptSlice *s = &t->slices[t->n_slices++];
            s->offset = p->offset + lo;
            s->size = p->size - lo < OPT_SLICE ? p->size - lo : OPT_SLICE;
            s->wd = wd;
        }
    }
}

/* The optimizer's t counts updates actually applied (skipped steps excluded), as its bias
 * corrections expect. */
static void optimizer_step(Trainer *t, float lr, double momentum) {
    OptimHyper h = t->hyper;
    if (!isnan(momentum) && t->opt->cycles) {
        if (!strcmp(t->opt->cycles, "momentum")) h.momentum = momentum;
        else h.beta1 = momentum;
    }
    long step = t->st.step + 1 - t->st.skipped;
    if (t->opt->prepare) t->opt->prepare(&h, step);
    const Optimizer *o = t->opt;
    float *params = t->g.params, *state = t->opt_state;
    const float *grads = t->g.grads;
    long n_params = t->g.n_params;
    int n_state = o->n_state;
    #pragma omp parallel for schedule(static) num_threads(kernels_get_threads()) if(n_params > 4 * OPT_SLICE)
    for (int i = 0; i < t->n_slices; i++) {
        const OptSlice *s = &t->slices[i];
        float *slot[OPTIM_MAX_STATE];
        for (int k = 0; k < n_state; k++) slot[k] = state + (long)k * n_params + s->offset;
        o->step(&h, s->size, params + s->offset, grads + s->offset, slot, step, lr, s->wd);
    }
}

StepResult trainer_step(Trainer *t, double lr, double momentum) {
    StepResult r;
    Graph *g = &t->g;
    int n = sampler_next(&t->sampler, t->group_idx);
    g->overwrite_grads = 1;   /* every parameter belongs to a Linear, which writes its gradient */
    g->training = 1;
    double loss_sum = 0;
    long correct = 0;
    r.last_rows = 0;
    for (int start = 0; start < n; start += g->capacity) {
        int rows = n - start < g->capacity ? n - start : g->capacity;
        r.last_rows = rows;
        dataset_gather(&t->train, t->group_idx + start, rows, graph_input(g), t->labels);
        graph_forward(g, rows);
        LossResult lr = loss_compute(t->loss_kind, graph_output(g), t->labels, rows,
                                     graph_output_dim(g), (float)t->c.label_smoothing,
                                     1.0f / (float)n, graph_output_grad(g));
        loss_sum += lr.loss_sum;
        correct += lr.correct;
        graph_backward(g, rows);
    }
    r.n = n;
    r.loss = loss_sum / n;
    r.acc = (double)correct / n;
    r.lr = lr;
    r.grad_norm = grad_global_norm(g->grads, g->n_params);
    if (!isfinite(r.loss) || !isfinite(r.grad_norm)) return r;
    double norm = r.grad_norm;
    if (t->c.clip_value > 0) {
        clip_grad_value(g->grads, g->n_params, t->c.clip_value);
        norm = grad_global_norm(g->grads, g->n_params);
    }
    if (t->c.clip > 0) clip_grad_norm(g->grads, g->n_params, norm, t->c.clip);
    optimizer_step(t, (float)lr, momentum);
    t->st.step++;
    t->st.samples += n;
    return r;
}

void trainer_skip_step(Trainer *t, int n) {
    t->st.step++;
    t->st.samples += n;
    t->st.skipped++;
}

void trainer_capture_rng(Trainer *t) {
    t->st.sampler_epoch_rng = t->sampler.epoch_rng;
    t->st.sampler_rng = t->sampler.rng;
    t->st.sampler_epoch = t->sampler.epoch;
    t->st.sampler_pos = t->sampler.pos;
    t->st.dropout_rng = t->g.dropout_rng;
}

void trainer_restore_rng(Trainer *t) {
    sampler_restore(&t->sampler, t->st.sampler_epoch_rng, t->st.sampler_rng, t->st.sampler_epoch,
                    t->st.sampler_pos);
    t->g.dropout_rng = t->st.dropout_rng;
}

void trainer_free(Trainer *t) {
    graph_free(&t->g);
    sampler_free(&t->sampler);
    free(t->opt_state);
    free(t->slices);
    free(t->group_idx);
    free(t->labels);
    free(t->scratch_idx);
    dataset_free(&t->train_all);
    dataset_free(&t->test);
}
