/* gradcheck.c: every layer's derivatives against central finite differences.
 *
 * Each case is a tiny network on ROWS random rows. Two checks:
 *   gradient  d loss / d p_i against D(h) = (L(p + h e_i) - L(p - h e_i)) / 2h, every parameter
 *   hvp       H v (hvp.h, the R-operator) against D(h) = (g(p + h v) - g(p - h v)) / 2h, for
 *             DIRECTIONS random unit directions v, every component
 * each quotient taken at h and h/2 and extrapolated, (4 D(h/2) - D(h)) / 3, so that the
 * truncation error is O(h^4) and only float rounding remains.
 * A layer is exercised through the parameters before it (Linear -> layer -> Linear -> loss),
 * and whole networks mix them. Forward passes are float, so h = 1e-2 keeps rounding error
 * (O(eps_f / h)) small. Norm gains and biases are perturbed
 * away from their 1/0 init, BatchNorm's running statistics away from 0/1, so that no term
 * hides behind a neutral value. Dropout keeps one mask for every pass.
 * ReLU is not differentiable at 0: where a perturbation flips the sign of some ReLU input, the
 * difference quotient measures the kink, not the derivative, so that parameter (or direction)
 * is skipped and counted; a case where most are skipped fails. */
#include "instruments/gradcheck.h"
#include "nn/hvp.h"
#include "nn/layers.h"
#include "nn/model.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROWS 4
#define STEP 1e-2
#define ABS_TOL 5e-5
#define REL_TOL 5e-3
#define DIRECTIONS 3

typedef struct {
    const char *name;
    const char *model;        /* list form */
    LayerKind loss;
    double smoothing;
    int training;             /* 0: evaluation mode (BatchNorm's running statistics) */
} Case;

static const Case cases[] = {
    {"linear", "input 6, linear 3", LAYER_CROSS_ENTROPY, 0, 1},
    {"relu", "input 6, linear 5, relu, linear 3", LAYER_CROSS_ENTROPY, 0, 1},
    {"tanh", "input 6, linear 5, tanh, linear 3", LAYER_CROSS_ENTROPY, 0, 1},
    {"sigmoid", "input 6, linear 5, sigmoid, linear 3", LAYER_CROSS_ENTROPY, 0, 1},
    {"gelu", "input 6, linear 5, gelu, linear 3", LAYER_CROSS_ENTROPY, 0, 1},
    {"dropout", "input 6, linear 5, tanh, dropout 0.3, linear 3", LAYER_CROSS_ENTROPY, 0, 1},
    {"layernorm", "input 6, linear 5, layernorm, tanh, linear 3", LAYER_CROSS_ENTROPY, 0, 1},
    {"batchnorm (training)", "input 6, linear 5, batchnorm, tanh, linear 3", LAYER_CROSS_ENTROPY, 0, 1},
    {"batchnorm (evaluation)", "input 6, linear 5, batchnorm, tanh, linear 3", LAYER_CROSS_ENTROPY, 0, 0},
    {"cross-entropy+smoothing", "input 6, linear 5, tanh, linear 3", LAYER_CROSS_ENTROPY, 0.1, 1},
    {"mse", "input 6, linear 5, tanh, linear 3", LAYER_MSE, 0, 1},
    {"mlp 10-8-7-4", "input 10, linear 8, gelu, dropout 0.2, linear 7, gelu, dropout 0.2, linear 4",
     LAYER_CROSS_ENTROPY, 0.05, 1},
    {"mlp layernorm+batchnorm", "input 10, linear 8, layernorm, gelu, linear 7, batchnorm, sigmoid, "
     "linear 6, layernorm, relu, linear 4", LAYER_CROSS_ENTROPY, 0, 1},
    {"mlp batchnorm mse", "input 10, linear 8, batchnorm, tanh, dropout 0.1, linear 4", LAYER_MSE, 0, 1},
};

typedef struct {
    Net net;
    Hvp hvp;
    Rng mask_rng;             /* the dropout mask is drawn once from here */
    float *base, *grad, *g_up, *g_down, *v, *hv;
    double *numeric[2];
} Bench;

/* A fingerprint of which ReLU inputs are positive after the last forward pass. */
static unsigned long relu_pattern(const Net *n) {
    unsigned long h = 1469598103934665603UL;
    for (int i = 0; i < n->n_nodes; i++) {
        const Node *node = &n->nodes[i];
        if (node->kind != LAYER_RELU) continue;
        for (long k = 0; k < (long)ROWS * node->dim_in; k++)
            h = (h ^ (n->value[node->in][k] > 0)) * 1099511628211UL;
    }
    return h;
}

/* The mean loss at the current parameters; with grad, also its gradient. */
static double loss_at(Bench *b, float *grad) {
    Net *n = &b->net;
    net_forward(n, ROWS);
    if (grad) {
        n->grads = grad;
        n->overwrite_grads = 1;
        net_backward(n, ROWS);
    }
    return n->loss_sum / ROWS;
}

static void setup(Bench *b, const Case *k, int *labels) {
    ModelSpec m;
    char err[ERR_LEN];
    if (model_spec_parse_list(k->model, &m, err) != 0) fatal(EXIT_FAIL, "gradcheck: %s", err);
    model_spec_add_loss(&m, k->loss, k->smoothing);
    Net *n = &b->net;
    if (model_build(n, &m, 0, err) != 0) fatal(EXIT_FAIL, "gradcheck: %s", err);
    net_alloc(n, ROWS);
    net_init_params(n, 7);
    Rng rng;
    rng_seed(&rng, 11, STREAM_TEST);
    for (int i = 0; i < n->n_tensors; i++) {   /* move norms off their neutral values */
        const NetTensor *t = &n->tensors[i];
        float *x = t->is_counter ? NULL : net_tensor_data(n, t);
        int is_var = strstr(t->name, "running_var") != NULL;
        if (x && (t->role == ROLE_NORM || t->role == ROLE_BUFFER))
            for (long j = 0; j < t->size; j++)
                x[j] = (is_var ? 1.0f : x[j]) + (is_var ? 0.5f : 0.3f) * (2 * rng_uniform(&rng) - 1);
    }
    for (int i = 0; i < ROWS * net_input_dim(n); i++) net_input(n)[i] = 2 * rng_uniform(&rng) - 1;
    for (int i = 0; i < ROWS; i++) labels[i] = (int)rng_below(&rng, (uint32_t)net_output_dim(n));
    n->labels = labels;
    n->loss_scale = 1.0f / ROWS;
    n->training = k->training;
    n->update_stats = 0;
    rng_seed(&n->dropout_rng, 13, STREAM_DROPOUT);
    n->reuse_mask = 0;
    net_forward(n, ROWS);        /* draws the dropout mask, kept from now on */
    n->reuse_mask = 1;
    hvp_init(&b->hvp, n);
    long np = n->n_params;
    b->base = xalloc_floats((size_t)np);
    b->grad = xalloc_floats((size_t)np);
    b->g_up = xalloc_floats((size_t)np);
    b->g_down = xalloc_floats((size_t)np);
    b->v = xalloc_floats((size_t)np);
    b->hv = xalloc_floats((size_t)np);
    for (int r = 0; r < 2; r++) b->numeric[r] = xcalloc((size_t)np, sizeof(double));
    memcpy(b->base, n->params, sizeof(float) * (size_t)np);
}

static void teardown(Bench *b) {
    hvp_free(&b->hvp);
    free(b->base); free(b->grad); free(b->g_up); free(b->g_down); free(b->v); free(b->hv);
    free(b->numeric[0]); free(b->numeric[1]);
    net_free(&b->net);
}

/* Richardson's extrapolation of the central quotients d[0] (step h) and d[1] (h/2): their
 * O(h^2) truncation errors cancel, leaving O(h^4). */
static double richardson(const double *d) {
    return (4 * d[1] - d[0]) / 3;
}

/* |analytic - numeric| over its tolerance */
static double excess(double analytic, double numeric) {
    return fabs(analytic - numeric) / (ABS_TOL + REL_TOL * fabs(numeric));
}

static int check_gradient(Bench *b, double scale, double *worst, long *skipped) {
    Net *n = &b->net;
    float *own = n->grads;
    loss_at(b, b->grad);
    unsigned long pattern = relu_pattern(n);
    int bad = 0;
    for (long i = 0; i < n->n_params; i++) {
        float saved = n->params[i];
        double d[2];
        int kink = 0;
        for (int r = 0; r < 2; r++) {   /* steps h and h/2 */
            float h = (float)(STEP / (1 << r));
            n->params[i] = saved + h;
            double up = loss_at(b, NULL);
            kink |= relu_pattern(n) != pattern;
            n->params[i] = saved - h;
            double down = loss_at(b, NULL);
            kink |= relu_pattern(n) != pattern;
            d[r] = (up - down) / (2.0 * h);
        }
        n->params[i] = saved;
        if (kink) { (*skipped)++; continue; }
        double e = excess(scale * b->grad[i], richardson(d));
        if (e > *worst) *worst = e;
        bad += e > 1;
    }
    n->grads = own;
    return bad;
}

static int check_hvp(Bench *b, double scale, double *worst, long *skipped) {
    Net *n = &b->net;
    long np = n->n_params;
    float *own = n->grads;
    Rng rng;
    rng_seed(&rng, 17, STREAM_TEST);
    int bad = 0;
    for (int d = 0; d < DIRECTIONS; d++) {
        double norm = 0;
        for (long i = 0; i < np; i++) { b->v[i] = 2 * rng_uniform(&rng) - 1; norm += (double)b->v[i] * b->v[i]; }
        for (long i = 0; i < np; i++) b->v[i] = (float)(b->v[i] / sqrt(norm));
        memcpy(n->params, b->base, sizeof(float) * (size_t)np);
        memset(b->hv, 0, sizeof(float) * (size_t)np);
        hvp_rows(&b->hvp, b->v, b->hv, ROWS);
        unsigned long pattern = relu_pattern(n);
        int kink = 0;
        for (int r = 0; r < 2; r++) {   /* steps h and h/2: numeric[r] holds the quotients */
            float h = (float)(STEP / (1 << r));
            for (long i = 0; i < np; i++) n->params[i] = b->base[i] + h * b->v[i];
            loss_at(b, b->g_up);
            kink |= relu_pattern(n) != pattern;
            for (long i = 0; i < np; i++) n->params[i] = b->base[i] - h * b->v[i];
            loss_at(b, b->g_down);
            kink |= relu_pattern(n) != pattern;
            for (long i = 0; i < np; i++) b->numeric[r][i] = (b->g_up[i] - b->g_down[i]) / (2.0 * h);
        }
        memcpy(n->params, b->base, sizeof(float) * (size_t)np);
        if (kink) { (*skipped)++; continue; }
        for (long i = 0; i < np; i++) {
            double d[2] = {b->numeric[0][i], b->numeric[1][i]};
            double e = excess(scale * b->hv[i], richardson(d));
            if (e > *worst) *worst = e;
            bad += e > 1;
        }
    }
    n->grads = own;
    return bad;
}

static int check_case(const Case *k, FILE *out, double scale) {
    Bench b;
    int labels[ROWS];
    memset(&b, 0, sizeof b);
    setup(&b, k, labels);
    double worst_g = 0, worst_h = 0;
    long skipped_g = 0, skipped_h = 0;
    int bad_g = check_gradient(&b, scale, &worst_g, &skipped_g);
    int bad_h = check_hvp(&b, scale, &worst_h, &skipped_h);
    if (skipped_g * 2 > b.net.n_params) bad_g++;
    if (skipped_h * 2 > DIRECTIONS) bad_h++;
    if (out)
        fprintf(out, "%-24s %4ld params  gradient %.3f  hvp %.3f  (worst |analytic - numeric| / "
                "tolerance)%s  %s\n", k->name, b.net.n_params, worst_g, worst_h,
                skipped_g + skipped_h ? ", some at a ReLU kink skipped" : "",
                bad_g || bad_h ? "FAIL" : "ok");
    teardown(&b);
    return bad_g > 0 || bad_h > 0;
}

int gradcheck_run(FILE *out, double analytic_scale) {
    int failed = 0, n = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n; i++) failed += check_case(&cases[i], out, analytic_scale);
    if (out)
        fprintf(out, "%d of %d cases match (tolerance %.0e + %.0e |numeric|, h = %.0e, %d directions "
                "per Hessian-vector product check)\n", n - failed, n, ABS_TOL, REL_TOL, STEP, DIRECTIONS);
    return failed;
}
