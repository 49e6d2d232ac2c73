/* overfit.c: --overfit N (can the model memorise N examples?) with the verdict and the checks
 * a practitioner runs when it cannot, and the initial-loss check of every run. */
#include "nn/layers.h"
#include "run/loop.h"
#include "util/util.h"

#include <math.h>
#include <stdio.h>

/* Evaluation on the examples being memorised: 100% accuracy and loss below 1e-3. */
#define OVERFIT_LOSS 1e-3
/* A layer whose weight norm grew this many times over its initial one has exploded. */
#define OVERFIT_EXPLODED 10.0

static int is_cross_entropy(const Net *n) {
    const Node *loss = net_loss_node(n);
    return loss && loss->kind == LAYER_CROSS_ENTROPY;
}

int overfit_reached(Run *run, const StepResult *r) {
    Trainer *t = &run->t;
    if (r->acc < 1.0 || r->loss >= OVERFIT_LOSS) return 0;   /* cheap test first */
    EvalResult e = evaluate(&t->net, &t->train, t->scratch_idx, t->labels);
    run->overfit_loss = e.loss;
    return e.acc == 1.0 && e.loss < OVERFIT_LOSS;
}

/* The first step's loss is the loss at the initial weights: for a fresh softmax classifier it
 * should be near ln(classes); far from it points at the init, the inputs or the labels.
 * Weights from --init may fairly start lower (they were trained), not far higher. With
 * --overfit the initial weight norms are kept too (run->prev_params still holds them), to tell
 * an explosion later. */
void overfit_check_initial_loss(Run *run, double loss) {
    Trainer *t = &run->t;
    run->first_loss = loss;
    if (run->prev_params) {
        int k = 0;
        for (int i = 0; i < t->net.n_nodes; i++) {
            const Node *node = &t->net.nodes[i];
            if (node->kind != LAYER_LINEAR) continue;
            const NetTensor *w = &t->net.tensors[node->t0];
            double sq = 0;
            for (long j = 0; j < w->size; j++) sq += (double)run->prev_params[w->offset + j] * run->prev_params[w->offset + j];
            run->first_weight_norm[k++] = sqrt(sq);
        }
    }
    if (!is_cross_entropy(&t->net) || t->st.step != 1) return;
    int classes = net_output_dim(&t->net);
    double expect = log((double)classes);
    if (loss > 1.5 * expect || (loss < 0.5 * expect && !t->c.init[0]))
        warn("warning: initial loss %.4g is far from ln(%d) = %.4g: check the initialisation, the "
             "inputs' scale and the labels", loss, classes, expect);
}

/* Signs that training diverged, one line each into b; how many there were. Checked before
 * anything else: a network whose weights exploded or whose ReLUs all died has a loss that
 * "barely moved", yet its lr is too high, not too low. */
static int divergence(const Run *run, double final_loss, StrBuf *b) {
    const Trainer *t = &run->t;
    int signs = 0;
    if (!isfinite(final_loss)) signs++, sb_printf(b, "    the loss is not finite\n");
    if (t->st.skipped > 0)
        signs++, sb_printf(b, "    %ld steps had a non-finite loss or gradient (skipped)\n", t->st.skipped);
    for (int i = 0; i < run->n_layers; i++) {
        const LayerStats *s = &run->layers[i];
        double grew = s->weight_norm / run->first_weight_norm[i];
        if (run->first_weight_norm[i] > 0 && !(grew < OVERFIT_EXPLODED))
            signs++, sb_printf(b, "    the weights of layer %d exploded: norm %.3g, %.3gx the initial %.3g\n",
                               s->module, s->weight_norm, grew, run->first_weight_norm[i]);
        if (s->dead_frac == 1.0)
            signs++, sb_printf(b, "    every ReLU after layer %d is dead: the output no longer depends on "
                               "the input (GELU units cannot die: --act gelu)\n", s->module);
    }
    if (!signs && final_loss > run->first_loss)
        signs++, sb_printf(b, "    the loss rose, from %.4g to %.4g\n", run->first_loss, final_loss);
    return signs;
}

int overfit_verdict(Run *run, double final_loss) {
    Trainer *t = &run->t;
    int n = t->train.n;
    if (run->overfit_done) {
        printf("overfit %d samples in %ld steps (loss %.4g)\n", n, t->st.step, final_loss);
        return 0;
    }
    StrBuf signs;
    sb_init(&signs);
    int diverged = divergence(run, final_loss, &signs);
    printf("could not overfit: %s %.4g after %ld steps (%d samples)\n",
           diverged ? "training diverged; loss" : "loss plateaued at", final_loss, t->st.step, n);
    int classes = net_output_dim(&t->net);
    double expect = log((double)classes);
    printf("  initial loss %.4g; expected about ln(%d) = %.4g for a fresh softmax classifier%s\n",
           run->first_loss, classes, expect,
           is_cross_entropy(&t->net) && fabs(run->first_loss - expect) > 0.5 * expect
               ? ": far off, check the initialisation and the inputs' scale" : "");
    for (int i = 0; i < run->n_layers; i++) {
        const LayerStats *s = &run->layers[i];
        printf("  layer %d: gradient norm %.3g, weight norm %.3g, update/weight %.3g", s->module,
               s->grad_norm, s->weight_norm, s->update_ratio);
        if (!isnan(s->dead_frac)) printf(", dead ReLUs %.0f%%", 100 * s->dead_frac);
        printf("\n");
    }
    if (diverged) {
        printf("  diverged: the lr (%g) is too high; try --lr %g, or --clip 1\n%s", t->c.lr, t->c.lr / 10, signs.s);
    } else {
        if (final_loss > 0.9 * run->first_loss)
            printf("  the loss barely moved: the lr (%g) is probably too low; try 10x --lr\n", t->c.lr);
        else
            printf("  the loss fell, then stalled: try more --steps, a higher --lr or a wider --model\n");
        for (int i = 0; i < run->n_layers; i++)
            if (run->layers[i].dead_frac > 0.5)
                printf("  over half the ReLUs after layer %d are dead: lower the lr or try --act gelu\n",
                       run->layers[i].module);
    }
    sb_free(&signs);
    return EXIT_FAIL;
}
