/* group.c: passes over the step's group of examples, see group.h. */
#include "run/group.h"
#include "run/dist.h"
#include "run/instruments_hook.h"
#include "optim/clip.h"
#include "util/util.h"

#include <math.h>
#include <string.h>

/* The first class whose cumulative exp(z - max z) exceeds u times their sum, u uniform in
 * [0, 1) (24 random bits); sums in double, in class order. */
void group_sample_labels(const float *z, int rows, int classes, Rng *rng, int *labels) {
    for (int i = 0; i < rows; i++) {
        const float *zi = z + (long)i * classes;
        float zmax = zi[0];
        for (int c = 1; c < classes; c++) zmax = zi[c] > zmax ? zi[c] : zmax;
        double sum = 0, cum = 0;
        for (int c = 0; c < classes; c++) sum += exp((double)zi[c] - zmax);
        double u = rng_uniform(rng) * sum;
        labels[i] = classes - 1;
        for (int c = 0; c < classes; c++) {
            cum += exp((double)zi[c] - zmax);
            if (u < cum) { labels[i] = c; break; }
        }
    }
}

GroupPass group_pass(Trainer *t, int count, Rng *sample_rng, int step_pass) {
    Net *n = &t->net;
    GroupPass p = {0, 0, 0};
    Node *loss = &n->nodes[n->n_nodes - 1];
    double smoothing = loss->arg;
    if (sample_rng) loss->arg = 0;
    n->overwrite_grads = 1;   /* the first backward writes every parameter's gradient */
    n->training = 1;
    n->update_stats = !sample_rng;
    n->reuse_mask = 0;
    n->loss_scale = 1.0f / (float)count;
    int local = t->group_local;   /* this rank's examples of the group (dist.h) */
    for (int start = 0; start < local; start += n->capacity) {
        int rows = local - start < n->capacity ? local - start : n->capacity;
        p.last_rows = rows;
        dataset_gather(&t->train, t->group_idx + start, rows, net_input(n), t->labels);
        n->labels = sample_rng ? NULL : t->labels;
        net_forward(n, rows);
        if (sample_rng) {
            group_sample_labels(net_logits(n), rows, net_output_dim(n), sample_rng, t->labels);
            n->labels = t->labels;
        }
        p.loss_sum += n->loss_sum;
        p.correct += n->correct;
        net_backward(n, rows);
        if (step_pass) instruments_after_backward(t, rows);
    }
    dist_group_sum(t, &p.loss_sum, &p.correct);
    loss->arg = smoothing;
    n->update_stats = 1;
    t->group_n = count;
    t->closure.loss = p.loss_sum / count;
    return p;
}

static void nonfinite(const Trainer *t, const char *what) {
    fatal(EXIT_FAIL, "non-finite loss or gradient in %s at step %ld (--opt %s): the lr may be too "
          "high; try a lower --lr%s. The run's " "last.safetensors holds the last good state", what,
          t->st.step + 1, t->c.opt, strcmp(t->c.opt, "lbfgs") ? " or --clip" : " or --line-search strong_wolfe");
}

/* torch.optim.LBFGS's closure: the loss and gradient of the step's group at the current
 * weights */
static double closure_loss_grad(void *ctx) {
    Trainer *t = ctx;
    GroupPass p = group_pass(t, t->group_n, NULL, 0);
    double loss = p.loss_sum / t->group_n;
    if (!isfinite(loss) || !isfinite(grad_global_norm(t->net.grads, t->net.n_params)))
        nonfinite(t, "an evaluation at new weights");
    return loss;
}

/* Sophia's estimator: the gradient of sampled labels, clipped as the step's gradient is (the
 * reference clips it before update_hessian) */
static void closure_sampled_grad(void *ctx, Rng *rng) {
    Trainer *t = ctx;
    Net *n = &t->net;
    group_pass(t, t->group_n, rng, 0);
    double norm = grad_global_norm(n->grads, n->n_params);
    if (!isfinite(norm)) nonfinite(t, "the curvature estimate");
    if (t->c.clip_value > 0) {
        clip_grad_value(n->grads, n->n_params, t->c.clip_value);
        norm = grad_global_norm(n->grads, n->n_params);
    }
    if (t->c.clip > 0) clip_grad_norm(n->grads, n->n_params, norm, t->c.clip);
}

void group_setup(Trainer *t) {
    OptimClosure c = {closure_loss_grad, closure_sampled_grad, t, t->net.grads, 0};
    t->closure = c;
    t->opt.closure = &t->closure;
    t->opt.h.examples = trainer_group_size(&t->c, t->train.n);
}

void group_check_options(const Config *c) {
    if (!strcmp(c->opt, "lbfgs")) {
        if (c->clip > 0 || c->clip_value > 0)
            fatal(EXIT_USAGE, "--%s: not with --opt lbfgs: its curvature pairs and line search need "
                  "the loss's own gradient", c->clip > 0 ? "clip" : "clip-value");
        if (c->skip_nonfinite)
            fatal(EXIT_USAGE, "--skip-nonfinite: not with --opt lbfgs: its step evaluates the batch "
                  "many times and moves the weights as it goes, so it cannot be skipped as a whole");
        if (c->wd > 0) fatal(EXIT_USAGE, "--wd: --opt lbfgs has no weight decay (as torch.optim.LBFGS)");
    }
    if (!strcmp(c->opt, "lookahead") && optim_closure_rule(c->inner))
        fatal(EXIT_USAGE, "--inner: lookahead cannot wrap %s, which %s", c->inner,
              !strcmp(c->inner, "lbfgs") ? "moves the weights through many evaluations of its own"
              : !strcmp(c->inner, "sophia") ? "needs a curvature estimate between steps"
              : "evaluates at weights of its own (x)");
    if (!strcmp(c->opt, "sophia") && dist_size() > 1)
        fatal(EXIT_USAGE, "--opt sophia: not under more than one MPI rank: its labels drawn from "
              "the model's softmax come from one stream in the group's order, which ranks holding "
              "pieces of the group would each advance differently");
    if (!strcmp(c->opt, "sophia") && strcmp(c->loss, "ce") != 0)
        fatal(EXIT_USAGE, "--loss: --opt sophia draws labels from the model's softmax for its "
              "curvature estimate: it needs --loss ce");
    if (!strcmp(c->opt, "sf-sgd") && !(c->momentum > 0 && c->momentum < 1))
        fatal(EXIT_USAGE, "--momentum: sf-sgd needs 0 < momentum < 1 (it evaluates at "
              "x = lerp(y, z, 1 - 1/momentum))");
    if (!strcmp(c->opt, "sf-adamw") && !(c->beta1 > 0))
        fatal(EXIT_USAGE, "--beta1: sf-adamw needs beta1 > 0 (it evaluates at x = lerp(y, z, 1 - 1/beta1))");
}
