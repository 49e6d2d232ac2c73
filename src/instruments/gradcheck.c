/* gradcheck.c: finite-difference checks of every op's backward. Each case is a tiny graph,
 * Linear -> op -> Linear -> loss, so an op's backward is exercised through the gradient of
 * the first layer's parameters; a final case checks a whole MLP. Forward passes are float,
 * so h = 1e-2 balances truncation error (O(h^2)) against rounding error (O(eps_f / h)).
 * ReLU is not differentiable at 0: where a +-h perturbation flips the sign of some ReLU
 * input, the difference quotient measures the kink, not the gradient, so that parameter is
 * skipped (and counted; a case where most are skipped fails). */
#include "instruments/gradcheck.h"
#include "run/config.h"
#include "nn/graph.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROWS 4
#define STEP 1e-2
#define ABS_TOL 2e-4
#define REL_TOL 2e-2

typedef struct {
    const char *name, *model, *act, *loss;
    double dropout, smoothing;
} Case;

static const Case cases[] = {
    {"linear", "6-3", "relu", "ce", 0, 0},
    {"relu", "6-5-3", "relu", "ce", 0, 0},
    {"tanh", "6-5-3", "tanh", "ce", 0, 0},
    {"sigmoid", "6-5-3", "sigmoid", "ce", 0, 0},
    {"gelu", "6-5-3", "gelu", "ce", 0, 0},
    {"dropout", "6-5-3", "tanh", "ce", 0.3, 0},
    {"cross-entropy+smoothing", "6-5-3", "tanh", "ce", 0, 0.1},
    {"mse", "6-5-3", "tanh", "mse", 0, 0},
    {"mlp 10-8-7-4", "10-8-7-4", "gelu", "ce", 0.2, 0.05},
};

/* Mean loss over the rows; the dropout stream is rewound so every pass draws the same mask. */
static double loss_at(Graph *g, const int *labels, int kind, float smoothing, Rng mask_rng,
                      float *dlogits) {
    g->dropout_rng = mask_rng;
    graph_forward(g, ROWS);
    LossResult r = loss_compute(kind, graph_output(g), labels, ROWS, graph_output_dim(g),
                                smoothing, 1.0f / ROWS, dlogits);
    return r.loss_sum / ROWS;
}

/* A fingerprint of which ReLU inputs are positive after the last forward pass. */
static unsigned long relu_pattern(const Graph *g) {
    unsigned long h = 1469598103934665603UL;
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->op != OP_RELU) continue;
        for (long k = 0; k < (long)ROWS * n->dim_in; k++)
            h = (h ^ (g->value[n->in][k] > 0)) * 1099511628211UL;
    }
    return h;
}

static int check_case(const Case *k, FILE *out, double analytic_scale) {
    Config c;
    config_defaults(&c);
    snprintf(c.model, sizeof c.model, "%s", k->model);
    snprintf(c.act, sizeof c.act, "%s", k->act);
    snprintf(c.loss, sizeof c.loss, "%s", k->loss);
    c.dropout = k->dropout;
    Graph g;
    model_build(&g, &c);
    graph_alloc(&g, ROWS);
    model_init(&g, 7);
    g.training = 1;
    Rng rng, mask_rng;
    rng_seed(&rng, 11, STREAM_TEST);
    rng_seed(&mask_rng, 13, STREAM_DROPOUT);
    int labels[ROWS], kind = strcmp(k->loss, "mse") == 0 ? LOSS_MSE : LOSS_CE;
    for (int i = 0; i < ROWS * graph_input_dim(&g); i++) graph_input(&g)[i] = 2 * rng_uniform(&rng) - 1;
    for (int i = 0; i < ROWS; i++) labels[i] = (int)rng_below(&rng, (uint32_t)graph_output_dim(&g));

    graph_zero_grads(&g);
    loss_at(&g, labels, kind, (float)k->smoothing, mask_rng, graph_output_grad(&g));
    graph_backward(&g, ROWS);
    unsigned long pattern = relu_pattern(&g);

    double worst = 0;
    long worst_i = 0, bad = 0, skipped = 0;
    for (long i = 0; i < g.n_params; i++) {
        float saved = g.params[i];
        g.params[i] = saved + (float)STEP;
        double up = loss_at(&g, labels, kind, (float)k->smoothing, mask_rng, NULL);
        int kink = relu_pattern(&g) != pattern;
        g.params[i] = saved - (float)STEP;
        double down = loss_at(&g, labels, kind, (float)k->smoothing, mask_rng, NULL);
        kink |= relu_pattern(&g) != pattern;
        g.params[i] = saved;
        if (kink) { skipped++; continue; }
        double numeric = (up - down) / (2 * STEP), analytic = analytic_scale * g.grads[i];
        double excess = fabs(analytic - numeric) / (ABS_TOL + REL_TOL * fabs(numeric));
        if (excess > worst) { worst = excess; worst_i = i; }
        bad += excess > 1;
    }
    if (skipped * 2 > g.n_params) bad++;
    if (out)
        fprintf(out, "%-24s %4ld params  worst |analytic - numeric| / tolerance %.3f (param %ld)"
                "%s  %s\n", k->name, g.n_params, worst, worst_i, skipped ? ", some at a ReLU kink skipped" : "",
                bad ? "FAIL" : "ok");
    graph_free(&g);
    return bad > 0;
}

int gradcheck_run(FILE *out, double analytic_scale) {
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        failed += check_case(&cases[i], out, analytic_scale);
    if (out)
        fprintf(out, "%d of %zu cases match (tolerance %.0e + %.0e |numeric|, h = %.0e)\n",
                (int)(sizeof cases / sizeof cases[0]) - failed, sizeof cases / sizeof cases[0],
                ABS_TOL, REL_TOL, STEP);
    return failed;
}

int cmd_gradcheck(int argc, char **argv) {
    Config c;
    config_defaults(&c);
    config_parse_args(&c, argc, argv, 1, NULL, NULL);
    return gradcheck_run(stdout, 1.0) ? EXIT_FAIL : 0;
}
