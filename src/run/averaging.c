/* averaging.c: the averaged model beside the network, see averaging.h. */
#include "run/averaging.h"
#include "optim/average.h"
#include "run/evaluate.h"
#include "run/trainer.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void averaging_check_options(const Config *c) {
    int schedule_free = !strncmp(c->opt, "sf-", 3);
    if (config_given(c, "swa-every") && c->swa_start == 0)
        fatal(EXIT_USAGE, "--swa-every: only with --swa-start (the step the average starts at)");
    if (c->ema > 0 && c->swa_start > 0)
        fatal(EXIT_USAGE, "--ema: not with --swa-start: the run reports one averaged model");
    if ((c->ema > 0 || c->swa_start > 0) && schedule_free)
        fatal(EXIT_USAGE, "--%s: not with --opt %s, which evaluates its own average of the weights "
              "(x)", c->ema > 0 ? "ema" : "swa-start", c->opt);
    if ((c->ema > 0 || c->swa_start > 0) && c->overfit)
        fatal(EXIT_USAGE, "--%s: not with --overfit, which judges the trained weights themselves",
              c->ema > 0 ? "ema" : "swa-start");
}

static int has_batchnorm(const Net *n) {
    return n->n_counters > 0;   /* num_batches_tracked: BatchNorm's */
}

/* raw.<name> for every tensor of the network (and n_averaged), pointing at its own arrays */
static void plan_extra(Averaging *a, const Net *n) {
    a->extra = xcalloc((size_t)n->n_tensors + 1, sizeof(StTensor));
    a->names = xcalloc((size_t)n->n_tensors + 1, sizeof *a->names);
    for (int i = 0; i < n->n_tensors; i++) {
        const NetTensor *p = &n->tensors[i];
        StTensor *x = &a->extra[a->n_extra];
        snprintf(a->names[a->n_extra++], sizeof a->names[0], "raw.%s", p->name);
        x->name = a->names[a->n_extra - 1];
        x->ndim = p->ndim;
        for (int d = 0; d < p->ndim; d++) x->shape[d] = p->shape[d];
        if (p->is_counter) { x->dtype = ST_I64; x->i64 = n->counters + p->offset; }
        else x->data = net_tensor_data(n, p);
    }
    if (a->kind == AVG_SCHEDULE_FREE) return;
    StTensor *x = &a->extra[a->n_extra++];
    x->name = "n_averaged";
    x->dtype = ST_I64;
    x->i64 = &a->n_averaged;
}

void averaging_setup(Trainer *t) {
    Averaging *a = &t->avg;
    const Net *n = &t->net;
    memset(a, 0, sizeof *a);
    a->kind = t->c.ema > 0 ? AVG_EMA : t->c.swa_start > 0 ? AVG_SWA
            : t->opt.rule && t->opt.rule->eval_point ? AVG_SCHEDULE_FREE : AVG_NONE;
    if (a->kind == AVG_NONE) return;
    a->decay = t->c.ema;
    a->swa_start = t->c.swa_start;
    a->swa_every = t->c.swa_every;
    a->params = xalloc_floats((size_t)n->n_params);
    a->buffers = xalloc_floats((size_t)n->n_buffers);
    a->counters = xcalloc((size_t)n->n_counters + 1, sizeof(int64_t));
    plan_extra(a, n);
    /* update_bn goes over the training set in batches of the network's capacity */
    if (has_batchnorm(n) && t->train.n % n->capacity == 1)
        fatal(EXIT_USAGE, "--norm batch: recomputing the averaged model's statistics at the end "
              "goes over the %d training examples in batches of %d, and the last would hold a "
              "single example; change --batch or --subset", t->train.n, n->capacity);
    if (a->kind == AVG_SWA && a->swa_start > t->total_steps)
        warn("--swa-start %ld is after the last step (%ld): nothing will be averaged", a->swa_start,
             t->total_steps);
}

void averaging_free(Averaging *a) {
    free(a->params);
    free(a->buffers);
    free(a->counters);
    free(a->extra);
    free(a->names);
    memset(a, 0, sizeof *a);
}

void averaging_update(Trainer *t) {
    Averaging *a = &t->avg;
    const Net *n = &t->net;
    long step = t->st.step;
    if (a->kind == AVG_EMA) {
        average_ema(a->params, n->params, n->n_params, a->n_averaged++, a->decay);
    } else if (a->kind == AVG_SWA && step >= a->swa_start && (step - a->swa_start) % a->swa_every == 0) {
        average_swa(a->params, n->params, n->n_params, a->n_averaged++);
    }
}

static void swap_floats(float **a, float **b) { float *x = *a; *a = *b; *b = x; }

int averaging_use(Trainer *t, int on) {
    Averaging *a = &t->avg;
    Net *n = &t->net;
    if (on == a->swapped) return a->swapped;
    if (on) {
        int exists = a->kind == AVG_SCHEDULE_FREE || a->n_averaged > 0 || a->frozen;
        if (a->kind == AVG_NONE || !exists) return 0;
        if (a->kind == AVG_SCHEDULE_FREE && !a->frozen) t->opt.rule->eval_point(&t->opt, n->params, a->params);
        if (!a->stats_final) {   /* the trained model's statistics, as they are now */
            memcpy(a->buffers, n->buffers, sizeof(float) * (size_t)n->n_buffers);
            memcpy(a->counters, n->counters, sizeof(int64_t) * (size_t)n->n_counters);
        }
    }
    swap_floats(&n->params, &a->params);
    swap_floats(&n->buffers, &a->buffers);
    int64_t *c = n->counters;
    n->counters = a->counters;
    a->counters = c;
    a->swapped = on;
    return on;
}

void averaging_checkpoint(Trainer *t, int begin) {
    if (t->avg.kind == AVG_NONE) return;
    averaging_use(t, begin);
    t->st.extra = begin ? t->avg.extra : NULL;
    t->st.n_extra = begin ? t->avg.n_extra : 0;
}

void averaging_load(Trainer *t, const StFile *f, const char *path, int best) {
    Averaging *a = &t->avg;
    Net *n = &t->net;
    if (a->kind == AVG_NONE) return;
    memcpy(a->params, n->params, sizeof(float) * (size_t)n->n_params);
    for (int i = 0; i < a->n_extra; i++) {
        const StTensor *x = &a->extra[i], *s = st_find(f, x->name);
        long count = (long)st_elements(x), stored = s ? (long)st_elements(s) : 0;
        if (!s || s->dtype != x->dtype || stored != count || s->ndim != x->ndim)
            fatal(EXIT_FAIL, "%s: no tensor '%s' of %ld %s (a run with weight averaging keeps the "
                  "trained weights beside the averaged ones)", path, x->name, count,
                  x->dtype == ST_I64 ? "I64" : "F32");
        if (x->dtype == ST_I64) memcpy(x->i64, s->i64, sizeof(int64_t) * (size_t)count);
        else memcpy(x->data, s->data, sizeof(float) * (size_t)count);
    }
    if (a->n_averaged < 0) fatal(EXIT_FAIL, "%s: n_averaged is negative", path);
    a->frozen = best;
    a->stats_final = 0;
}

/* torch.optim.swa_utils.update_bn: running statistics reset (mean 0, variance 1, no
 * batches), then one pass over the training set in order, in training mode (dropout drawing
 * masks, from a copy of the stream, so the run's own is untouched), each batch averaged in
 * with weight 1 / (batches so far) (momentum None). */
void averaging_finish(Trainer *t) {
    Averaging *a = &t->avg;
    Net *n = &t->net;
    if (a->kind == AVG_NONE || a->stats_final || !has_batchnorm(n) || !averaging_use(t, 1)) return;
    for (int i = 0; i < n->n_tensors; i++) {
        const NetTensor *p = &n->tensors[i];
        if (p->role != ROLE_BUFFER) continue;
        if (p->is_counter) { memset(n->counters + p->offset, 0, sizeof(int64_t) * (size_t)p->size); continue; }
        float fill = strstr(p->name, "running_var") ? 1.0f : 0.0f;
        for (long k = 0; k < p->size; k++) n->buffers[p->offset + k] = fill;
    }
    Rng dropout = n->dropout_rng;
    n->training = 1;
    n->update_stats = 1;
    n->stats_cumulative = 1;
    n->labels = NULL;
    for (int start = 0; start < t->train.n; start += n->capacity) {
        int rows = t->train.n - start < n->capacity ? t->train.n - start : n->capacity;
        for (int i = 0; i < rows; i++) t->scratch_idx[i] = start + i;
        dataset_gather(&t->train, t->scratch_idx, rows, net_input(n), t->labels);
        net_forward(n, rows);
    }
    n->stats_cumulative = 0;
    n->dropout_rng = dropout;
    n->labels = t->labels;
    averaging_use(t, 0);
    a->stats_final = 1;
}

void averaging_summary(Trainer *t, Summary *s) {
    if (t->avg.kind == AVG_NONE) return;
    averaging_use(t, 0);
    EvalResult tr = evaluate(&t->net, &t->train, t->scratch_idx, t->labels);
    EvalResult te = evaluate(&t->net, &t->test, t->scratch_idx, t->labels);
    EvalResult va = {NAN, NAN, 0};
    if (t->val.n) va = evaluate(&t->net, &t->val, t->scratch_idx, t->labels);
    s->has_raw = 1;
    s->train_loss_raw = tr.loss;
    s->train_acc_raw = tr.acc;
    s->val_loss_raw = va.loss;
    s->val_acc_raw = va.acc;
    s->test_loss_raw = te.loss;
    s->test_acc_raw = te.acc;
}

void averaging_print(const Summary *s) {
    if (!s->has_raw) return;
    printf("  trained weights (the figures above are the averaged ones):\n");
    printf("  %-6s %10.4f %8.2f%%\n", "train", s->train_loss_raw, 100 * s->train_acc_raw);
    if (!isnan(s->val_loss_raw)) printf("  %-6s %10.4f %8.2f%%\n", "val", s->val_loss_raw, 100 * s->val_acc_raw);
    printf("  %-6s %10.4f %8.2f%%\n", "test", s->test_loss_raw, 100 * s->test_acc_raw);
}
