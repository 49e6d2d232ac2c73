/* The network layer: every layer row complete, losses and norms against hand-derived values,
 * model specs (both forms) and nn.Sequential names, initialisation, gradients and
 * Hessian-vector products against finite differences (gradcheck), H v against a Hessian
 * known in closed form, and the symmetry of the Hessian the products imply. */
#include "test.h"
#include "instruments/gradcheck.h"
#include "nn/hvp.h"
#include "nn/layers.h"
#include "nn/model.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

/* A network from a list-form spec and a loss, allocated for `rows` rows. */
static void build(Net *n, const char *spec, LayerKind loss, double smoothing, int rows) {
    ModelSpec m;
    char err[ERR_LEN];
    if (model_spec_parse_list(spec, &m, err) != 0) { fprintf(stderr, "  %s\n", err); exit(1); }
    model_spec_add_loss(&m, loss, smoothing);
    if (model_build(n, &m, 0, err) != 0) { fprintf(stderr, "  %s\n", err); exit(1); }
    net_alloc(n, rows);
    net_init_params(n, 1);
}

/* The loss of one row of logits z, and scale * its gradient, through a loss node placed
 * after an identity (dropout 0 in evaluation mode passes its input through). */
static double loss_of(LayerKind kind, const float *z, int classes, int label, double smoothing,
                      int training, float scale, float *dz, long *correct) {
    Net n;
    net_init(&n, classes);
    char err[ERR_LEN];
    net_add(&n, LAYER_DROPOUT, 0, err);
    net_add(&n, kind, kind == LAYER_CROSS_ENTROPY ? (float)smoothing : 0, err);
    net_alloc(&n, 1);
    for (int c = 0; c < classes; c++) net_input(&n)[c] = z[c];
    n.labels = &label;
    n.loss_scale = scale;
    n.training = 0;
    net_forward(&n, 1);
    n.training = training;   /* label smoothing applies while training */
    net_forward(&n, 1);
    double loss = n.loss_sum;
    net_backward(&n, 1);
    for (int c = 0; c < classes; c++) dz[c] = n.grad[1][c];
    *correct = n.correct;
    net_free(&n);
    return loss;
}

/* Logits (0, 0, 0), label 0: loss ln 3; gradient softmax - onehot = (-2/3, 1/3, 1/3). */
static void test_cross_entropy_uniform(void) {
    float z[3] = {0, 0, 0}, dz[3];
    long correct;
    CHECK_NEAR(loss_of(LAYER_CROSS_ENTROPY, z, 3, 0, 0, 1, 1, dz, &correct), log(3.0), 1e-12);
    CHECK_NEAR(dz[0], -2.0 / 3, 1e-7);
    CHECK_NEAR(dz[1], 1.0 / 3, 1e-7);
    CHECK_NEAR(dz[2], 1.0 / 3, 1e-7);
}

/* Label smoothing 0.1, z = (1, 2, 3), y = 2: q = (0.0333, 0.0333, 0.9333),
 * loss = logsumexp(z) - q.z = 0.5076059644443802,
 * gradient softmax(z) - q = (0.05669723983704714, 0.21139513772146437, -0.26809237755851134).
 * With scale 0.5 (a group of two) the gradient halves; the loss does not. Evaluation reports
 * the plain criterion: logsumexp(z) - z_2 = 0.40760596444438. */
static void test_cross_entropy_smoothing(void) {
    float z[3] = {1, 2, 3}, dz[3];
    long correct;
    CHECK_NEAR(loss_of(LAYER_CROSS_ENTROPY, z, 3, 2, 0.1, 1, 0.5f, dz, &correct), 0.5076059644443802, 1e-7);
    CHECK_NEAR(dz[0], 0.5 * 0.05669723983704714, 1e-7);
    CHECK_NEAR(dz[1], 0.5 * 0.21139513772146437, 1e-7);
    CHECK_NEAR(dz[2], 0.5 * -0.26809237755851134, 1e-7);
    CHECK(correct == 1);
    CHECK_NEAR(loss_of(LAYER_CROSS_ENTROPY, z, 3, 2, 0.1, 0, 0.5f, dz, &correct), 0.40760596444438, 1e-7);
}

/* Huge logits stay finite: z = (1000, 0), y = 1 -> loss 1000, gradient (1, -1). */
static void test_cross_entropy_stable(void) {
    float z[2] = {1000, 0}, dz[2];
    long correct;
    CHECK_NEAR(loss_of(LAYER_CROSS_ENTROPY, z, 2, 1, 0, 1, 1, dz, &correct), 1000, 1e-9);
    CHECK_NEAR(dz[0], 1, 1e-7);
    CHECK_NEAR(dz[1], -1, 1e-7);
    CHECK(correct == 0);
}

/* MSE against one-hot: z = (0.5, 0.2), y = 0: ((0.5-1)^2 + 0.2^2)/2 = 0.145;
 * gradient 2 (z - t) / C = (-0.5, 0.2). */
static void test_mse(void) {
    float z[2] = {0.5f, 0.2f}, dz[2];
    long correct;
    CHECK_NEAR(loss_of(LAYER_MSE, z, 2, 0, 0, 1, 1, dz, &correct), 0.145, 1e-7);
    CHECK_NEAR(dz[0], -0.5, 1e-7);
    CHECK_NEAR(dz[1], 0.2, 1e-7);
}

/* Every row of the layer table is a complete unit. */
static void test_layer_rows_complete(void) {
    for (int k = 0; k < LAYER_COUNT; k++) {
        const LayerDef *d = layer_table[k];
        CHECK(d != NULL);
        if (!d) continue;
        CHECK(d->name && d->torch && d->forward && d->backward && d->r_forward && d->r_backward);
        CHECK(layer_find(d->name) == k);
        /* a row that declares parameters initialises them */
        Net n;
        char err[ERR_LEN];
        net_init(&n, 4);
        if (layer_is_loss((LayerKind)k)) net_add(&n, LAYER_LINEAR, 3, err);
        CHECK(net_add(&n, (LayerKind)k, d->has_arg ? (k == LAYER_LINEAR ? 3 : d->default_arg) : 0, err) == 0);
        if (n.n_params > (layer_is_loss((LayerKind)k) ? 15 : 0)) CHECK(d->init != NULL);
    }
}

/* nn.Sequential names: Linear(0) ReLU(1) Dropout(2) Linear(3) ReLU(4) Dropout(5) Linear(6);
 * with a norm: Linear(0) BatchNorm1d(1) ReLU(2) Linear(3) ... */
static void test_model_names_and_shapes(void) {
    LayerSizes ls;
    char err[ERR_LEN];
    CHECK(model_parse_sizes("784-32-16-10", &ls, err) == 0);
    ModelSpec m;
    model_spec_from_sizes(&m, &ls, -1, LAYER_RELU, 0.5);
    model_spec_add_loss(&m, LAYER_CROSS_ENTROPY, 0);
    Net g;
    CHECK(model_build(&g, &m, 0, err) == 0);
    CHECK(g.n_tensors == 6);
    CHECK_STR(g.tensors[0].name, "0.weight");
    CHECK(g.tensors[0].shape[0] == 32 && g.tensors[0].shape[1] == 784);
    CHECK_STR(g.tensors[1].name, "0.bias");
    CHECK_STR(g.tensors[2].name, "3.weight");
    CHECK_STR(g.tensors[4].name, "6.weight");
    CHECK(g.tensors[5].role == ROLE_BIAS && g.tensors[4].role == ROLE_WEIGHT);
    CHECK(g.n_params == 784 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10);
    model_spec_from_sizes(&m, &ls, -1, LAYER_RELU, 0);
    CHECK(model_build(&g, &m, 0, err) == 0);
    CHECK_STR(g.tensors[2].name, "2.weight");
    CHECK_STR(g.tensors[4].name, "4.weight");
    model_spec_from_sizes(&m, &ls, LAYER_BATCHNORM, LAYER_RELU, 0);
    CHECK(model_build(&g, &m, 0, err) == 0);
    static const char *names[] = {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                  "1.running_var", "1.num_batches_tracked", "3.weight", "3.bias",
                                  "4.weight", "4.bias", "4.running_mean", "4.running_var",
                                  "4.num_batches_tracked", "6.weight", "6.bias"};
    CHECK(g.n_tensors == 16);
    for (int i = 0; i < 16 && i < g.n_tensors; i++) CHECK_STR(g.tensors[i].name, names[i]);
    CHECK(g.tensors[2].role == ROLE_NORM && g.tensors[4].role == ROLE_BUFFER);
    CHECK(g.tensors[6].is_counter && g.tensors[6].ndim == 0);
    CHECK(g.n_params == 784 * 32 + 32 + 2 * 32 + 32 * 16 + 16 + 2 * 16 + 16 * 10 + 10);
    CHECK(g.n_buffers == 2 * 32 + 2 * 16 && g.n_counters == 2);
}

/* The list form: parsed, written back canonically, and its errors. */
static void test_model_list_form(void) {
    ModelSpec m;
    char err[ERR_LEN], text[512];
    CHECK(model_spec_parse_list("input 784,linear 256, layernorm,gelu\ndropout 0.1, linear 10", &m, err) == 0);
    CHECK(m.input == 784 && m.n_layers == 5);
    CHECK(m.layers[1].kind == LAYER_LAYERNORM && m.layers[1].arg == 1e-5);
    model_spec_format(&m, text, sizeof text);
    CHECK_STR(text, "input 784, linear 256, layernorm, gelu, dropout 0.1, linear 10");
    CHECK(model_spec_parse_list("linear 64, batchnorm 0.001, relu, linear 10", &m, err) == 0);
    CHECK(m.input == 0 && m.layers[1].arg == 0.001);
    model_spec_format(&m, text, sizeof text);
    CHECK_STR(text, "linear 64, batchnorm 0.001, relu, linear 10");
    CHECK(model_spec_parse_list("input 4, relu", &m, err) == -1);
    CHECK_CONTAINS(err, "no linear layer");
    CHECK(model_spec_parse_list("input 4, linear", &m, err) == -1);
    CHECK_CONTAINS(err, "needs an argument");
    CHECK(model_spec_parse_list("input 4, linear 3, relu 2", &m, err) == -1);
    CHECK_CONTAINS(err, "takes no argument");
    CHECK(model_spec_parse_list("input 4, conv 3", &m, err) == -1);
    CHECK_CONTAINS(err, "unknown layer");
    CHECK(model_spec_parse_list("linear 3, input 4", &m, err) == -1);
    CHECK_CONTAINS(err, "must come first");
    CHECK(model_spec_parse_list("input 4, linear 2.5", &m, err) == -1);
    CHECK(model_spec_parse_list("input 4, linear 3, dropout 1", &m, err) == -1);
    CHECK(model_spec_parse_list("input 4, linear 3, cross_entropy", &m, err) == -1);
    Net n;   /* without an input line the data's width is used */
    CHECK(model_spec_parse_list("linear 3, tanh, linear 2", &m, err) == 0);
    CHECK(model_build(&n, &m, 7, err) == 0 && net_input_dim(&n) == 7 && net_output_dim(&n) == 2);
}

/* nn.Linear init: every weight and bias inside +-1/sqrt(fan_in), filling the range
 * (mean ~ 0, variance ~ bound^2/3), and the same seed gives the same bits. Norms start as
 * g = 1, b = 0, running_mean 0, running_var 1, and draw nothing from the stream, so adding
 * one leaves the Linear layers' initial weights as they were. */
static void test_model_init(void) {
    Net g, h;
    build(&g, "input 400, linear 100, linear 10", LAYER_CROSS_ENTROPY, 0, 1);
    build(&h, "input 400, linear 100, linear 10", LAYER_CROSS_ENTROPY, 0, 1);
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
    net_init_params(&h, 4);
    CHECK(memcmp(g.params, h.params, sizeof(float) * (size_t)g.n_params) != 0);
    Net b;
    build(&b, "input 400, linear 100, batchnorm, layernorm, linear 10", LAYER_CROSS_ENTROPY, 0, 1);
    net_init_params(&b, 1);
    CHECK(memcmp(g.params, b.params, sizeof(float) * 40100) == 0);
    const NetTensor *t = net_find_tensor(&b, "1.running_var"), *gain = net_find_tensor(&b, "2.weight");
    CHECK(t && net_tensor_data(&b, t)[7] == 1.0f && gain && net_tensor_data(&b, gain)[3] == 1.0f);
    CHECK(net_tensor_data(&b, net_find_tensor(&b, "2.bias"))[3] == 0.0f);
    CHECK(memcmp(g.params + 40100, b.params + 40100 + 400, sizeof(float) * 1010) == 0);
    net_free(&g); net_free(&h); net_free(&b);
}

/* LayerNorm of (1, 2, 3, 4) with g = (1, 2, 1, 1), b = (0, 0, 0, 0.5): mean 2.5, biased var
 * 1.25, r = 1/sqrt(1.25 + 1e-5) = 0.894423613; xh = (-1.5, -0.5, 0.5, 1.5) r. */
static void test_layernorm_values(void) {
    Net n;
    char err[ERR_LEN];
    net_init(&n, 4);
    CHECK(net_add(&n, LAYER_LAYERNORM, 1e-5, err) == 0 && net_add(&n, LAYER_MSE, 0, err) == 0);
    net_alloc(&n, 1);
    net_init_params(&n, 1);
    float x[4] = {1, 2, 3, 4};
    memcpy(net_input(&n), x, sizeof x);
    float *g = n.params, *b = n.params + 4;
    g[1] = 2;
    b[3] = 0.5f;
    n.training = 1;
    net_forward(&n, 1);
    double r = 1 / sqrt(1.25 + 1e-5);
    const float *y = n.value[1];
    CHECK_NEAR(y[0], -1.5 * r, 1e-6);
    CHECK_NEAR(y[1], 2 * -0.5 * r, 1e-6);
    CHECK_NEAR(y[2], 0.5 * r, 1e-6);
    CHECK_NEAR(y[3], 1.5 * r + 0.5, 1e-6);
    net_free(&n);
}

/* BatchNorm1d over the batch (1, 3), (5, 7): feature 0 has mean 3, biased var 4 (xh =
 * -+2/sqrt(4 + 1e-5)), unbiased var 8; feature 1 mean 5. After one training pass
 * running_mean = 0.1 (3, 5), running_var = 0.9 + 0.1 * 8 = 1.7 for both,
 * num_batches_tracked = 1; evaluation then uses them: (x - 0.3) / sqrt(1.7 + 1e-5). A pass
 * that does not update statistics (a Hessian-vector product) leaves them. */
static void test_batchnorm_values(void) {
    Net n;
    char err[ERR_LEN];
    net_init(&n, 2);
    CHECK(net_add(&n, LAYER_BATCHNORM, 1e-5, err) == 0 && net_add(&n, LAYER_MSE, 0, err) == 0);
    net_alloc(&n, 2);
    net_init_params(&n, 1);
    float x[4] = {1, 3, 5, 7};
    memcpy(net_input(&n), x, sizeof x);
    n.training = 1;
    n.update_stats = 1;
    net_forward(&n, 2);
    const float *y = n.value[1];
    double s = 1 / sqrt(4 + 1e-5);
    CHECK_NEAR(y[0], -2 * s, 1e-6);
    CHECK_NEAR(y[2], 2 * s, 1e-6);
    CHECK_NEAR(y[1], -2 * s, 1e-6);
    const float *rm = net_tensor_data(&n, net_find_tensor(&n, "0.running_mean"));
    const float *rv = net_tensor_data(&n, net_find_tensor(&n, "0.running_var"));
    CHECK_NEAR(rm[0], 0.3, 1e-7);
    CHECK_NEAR(rm[1], 0.5, 1e-7);
    CHECK_NEAR(rv[0], 1.7, 1e-6);
    CHECK_NEAR(rv[1], 1.7, 1e-6);
    CHECK(n.counters[net_find_tensor(&n, "0.num_batches_tracked")->offset] == 1);
    n.training = 0;
    net_forward(&n, 2);
    CHECK_NEAR(y[0], (1 - 0.3) / sqrt(1.7 + 1e-5), 1e-6);
    CHECK_NEAR(y[3], (7 - 0.5) / sqrt(1.7 + 1e-5), 1e-6);
    n.training = 1;
    n.update_stats = 0;
    net_forward(&n, 2);
    CHECK_NEAR(rm[0], 0.3, 1e-7);
    CHECK(n.counters[0] == 1);
    net_free(&n);
}

/* Every layer's gradient and Hessian-vector product agree with finite differences, and a
 * wrong one is caught. */
static void test_gradcheck(void) {
    CHECK(gradcheck_run(NULL, 1.0) == 0);
    CHECK(gradcheck_run(NULL, 1.05) > 0);
    CHECK(gradcheck_run(NULL, 0.99) > 0);
}

/* A linear model under MSE is a quadratic: with N rows x and C outputs, the loss
 * (1/N) sum_i sum_c (W x_i + b - t_i)_c^2 / C has the Hessian, for output row c,
 * d2L / dW_cj dW_ck = 2/(N C) sum_i x_ij x_ik, d2L / dW_cj db_c = 2/(N C) sum_i x_ij,
 * d2L / db_c^2 = 2/C, and no coupling between outputs. H v must equal it exactly (up to
 * float rounding), at any parameters. */
static void test_hvp_quadratic(void) {
    enum { N = 5, D = 3, C = 2 };
    Net n;
    build(&n, "input 3, linear 2", LAYER_MSE, 0, N);
    Rng rng;
    rng_seed(&rng, 5, STREAM_TEST);
    int labels[N];
    for (int i = 0; i < N * D; i++) net_input(&n)[i] = 2 * rng_uniform(&rng) - 1;
    for (int i = 0; i < N; i++) labels[i] = i % C;
    n.labels = labels;
    n.loss_scale = 1.0f / N;
    n.training = 1;
    float v[C * D + C], hv[C * D + C];
    for (int i = 0; i < C * D + C; i++) v[i] = 2 * rng_uniform(&rng) - 1;
    memset(hv, 0, sizeof hv);
    Hvp h;
    hvp_init(&h, &n);
    hvp_rows(&h, v, hv, N);
    const float *x = net_input(&n), *vw = v, *vb = v + C * D;
    for (int c = 0; c < C; c++) {
        for (int j = 0; j < D; j++) {
            double want = 0;
            for (int i = 0; i < N; i++) {
                double xv = vb[c];
                for (int k = 0; k < D; k++) xv += (double)x[i * D + k] * vw[c * D + k];
                want += 2.0 / (N * C) * x[i * D + j] * xv;
            }
            CHECK_NEAR(hv[c * D + j], want, 1e-6);
        }
        double want_b = 0;
        for (int i = 0; i < N; i++) {
            double xv = vb[c];
            for (int k = 0; k < D; k++) xv += (double)x[i * D + k] * vw[c * D + k];
            want_b += 2.0 / (N * C) * xv;
        }
        CHECK_NEAR(hv[C * D + c], want_b, 1e-6);
    }
    hvp_free(&h);
    net_free(&n);
}

/* u^T H w = w^T H u for every pair of basis vectors: the dense Hessian built column by column
 * from products is symmetric, for a network with every layer kind in training mode. */
static void test_hvp_symmetric(void) {
    Net n;
    build(&n, "input 5, linear 4, layernorm, gelu, linear 4, batchnorm, tanh, dropout 0.2, "
              "linear 3, sigmoid, linear 3", LAYER_CROSS_ENTROPY, 0.1, 6);
    Rng rng;
    rng_seed(&rng, 9, STREAM_TEST);
    int labels[6];
    for (int i = 0; i < 6 * 5; i++) net_input(&n)[i] = 2 * rng_uniform(&rng) - 1;
    for (int i = 0; i < 6; i++) labels[i] = i % 3;
    n.labels = labels;
    n.loss_scale = 1.0f / 6;
    n.training = 1;
    rng_seed(&n.dropout_rng, 3, STREAM_DROPOUT);
    net_forward(&n, 6);
    n.reuse_mask = 1;
    long p = n.n_params;
    float *e = xalloc_floats((size_t)p), *H = xalloc_floats((size_t)(p * p));
    Hvp h;
    hvp_init(&h, &n);
    for (long j = 0; j < p; j++) {
        memset(e, 0, sizeof(float) * (size_t)p);
        e[j] = 1;
        hvp_rows(&h, e, H + j * p, 6);
    }
    double worst = 0, scale = 0;
    for (long i = 0; i < p * p; i++) if (fabs(H[i]) > scale) scale = fabs(H[i]);
    for (long i = 0; i < p; i++)
        for (long j = 0; j < i; j++) {
            double d = fabs((double)H[i * p + j] - H[j * p + i]);
            if (d > worst) worst = d;
        }
    CHECK(scale > 0.01);
    CHECK(worst < 1e-5 * scale);
    free(e);
    free(H);
    hvp_free(&h);
    net_free(&n);
}

/* Fusion of ReLU into the neighbouring Linear products (net.c) changes no bit: for tapes
 * with ReLUs after and before Linears, and next to other layers, in float and in bf16, the
 * loss, the logits, every parameter gradient and the input gradient of the first hidden
 * value match the unfused tape exactly, and so does H v. The fused tape really skips the
 * ReLU passes it claims to. */
static void fused_pass(Net *n, const char *spec, int fuse, int bf16, double *loss, float *hv) {
    ModelSpec m;
    char err[ERR_LEN];
    if (model_spec_parse_list(spec, &m, err) != 0) { fprintf(stderr, "  %s\n", err); exit(1); }
    model_spec_add_loss(&m, LAYER_CROSS_ENTROPY, 0);
    if (model_build(n, &m, 0, err) != 0) { fprintf(stderr, "  %s\n", err); exit(1); }
    n->no_fusion = !fuse;
    net_alloc(n, 9);
    net_init_params(n, 5);
    Rng rng;
    rng_seed(&rng, 4, STREAM_TEST);
    static int labels[9];
    for (int i = 0; i < 9 * net_input_dim(n); i++) net_input(n)[i] = 2 * rng_uniform(&rng) - 1;
    for (int i = 0; i < 9; i++) labels[i] = i % 3;
    n->labels = labels;
    n->loss_scale = 1.0f / 9;
    n->training = 1;
    n->bf16 = bf16;
    n->overwrite_grads = 1;
    rng_seed(&n->dropout_rng, 3, STREAM_DROPOUT);
    net_forward(n, 9);
    *loss = n->loss_sum;
    net_backward(n, 9);
    float *v = xalloc_floats((size_t)n->n_params);
    for (long j = 0; j < n->n_params; j++) v[j] = (float)(j % 7) - 3.0f;
    n->reuse_mask = 1;
    n->bf16 = 0;
    Hvp h;
    hvp_init(&h, n);
    memset(hv, 0, sizeof(float) * (size_t)n->n_params);
    hvp_rows(&h, v, hv, 9);
    hvp_free(&h);
    free(v);
}

static void test_relu_fusion_exact(void) {
    const char *specs[] = {
        "input 6, linear 8, relu, linear 7, relu, linear 3",
        "input 6, linear 8, relu, dropout 0.3, linear 7, relu, relu, linear 3",
        "input 6, relu, linear 8, batchnorm, relu, linear 5, relu, tanh, linear 3",
    };
    for (int s = 0; s < 3; s++)
        for (int bf16 = 0; bf16 < 2; bf16++) {
            Net a, b;
            double la, lb;
            float hva[400], hvb[400];
            fused_pass(&a, specs[s], 1, bf16, &la, hva);
            fused_pass(&b, specs[s], 0, bf16, &lb, hvb);
            CHECK(a.n_params == b.n_params && a.n_params <= 400);
            CHECK(la == lb);
            CHECK(memcmp(a.grads, b.grads, sizeof(float) * (size_t)a.n_params) == 0);
            CHECK(memcmp(hva, hvb, sizeof(float) * (size_t)a.n_params) == 0);
            CHECK(memcmp(net_logits(&a), net_logits(&b), sizeof(float) * 9 * 3) == 0);
            /* the gradient reaching the first Linear's output (its ReLU's input) */
            CHECK(memcmp(a.grad[1], b.grad[1], sizeof(float) * 9 * a.value_dim[1]) == 0);
            int skipped = 0;
            for (int i = 0; i < a.n_nodes; i++) {
                skipped += a.nodes[i].skip_forward + a.nodes[i].skip_backward;
                CHECK(!b.nodes[i].skip_forward && !b.nodes[i].skip_backward);
            }
            /* 1st: both ReLUs both ways; 2nd: forward twice, the ReLU before the Linear
             * backward once; 3rd: the ReLU after the second Linear forward, the one
             * before it backward (not the first: it reads the input) */
            CHECK(skipped == (s == 0 ? 4 : s == 1 ? 3 : 2));
            CHECK(net_alloc_floats(&a, 9) < net_alloc_floats(&b, 9));
            net_free(&a);
            net_free(&b);
        }
}

/* Evaluation in pieces bigger than a training pass (eval_capacity): 40 rows in one forward
 * give the logits of five 8-row forwards bit for bit, through BatchNorm's and LayerNorm's
 * evaluation paths and their scratch, ReLU fusion and dropout; the memory estimate counts
 * the bigger values. */
static void test_eval_capacity(void) {
    const char *spec = "input 12, linear 20, batchnorm, relu, dropout 0.5, linear 17, layernorm, "
                       "gelu, linear 9, relu, linear 4";
    ModelSpec m;
    char err[ERR_LEN];
    CHECK(model_spec_parse_list(spec, &m, err) == 0);
    model_spec_add_loss(&m, LAYER_CROSS_ENTROPY, 0);
    Net big, small;
    CHECK(model_build(&big, &m, 0, err) == 0);
    CHECK(model_build(&small, &m, 0, err) == 0);
    big.eval_capacity = 40;
    double floats_small = net_alloc_floats(&small, 8), floats_big = net_alloc_floats(&big, 8);
    CHECK(floats_big > floats_small);
    net_alloc(&big, 8);
    net_alloc(&small, 8);
    CHECK(big.capacity == 8 && big.eval_capacity == 40 && small.eval_capacity == 8);
    net_init_params(&big, 3);
    net_init_params(&small, 3);
    /* running statistics away from their initial 0 and 1 */
    for (int i = 0; i < big.n_buffers; i++) big.buffers[i] = small.buffers[i] = 0.5f + 0.01f * i;
    Rng rng;
    rng_seed(&rng, 8, STREAM_TEST);
    static float x[40 * 12], logits[40 * 4];
    static int labels[40];
    for (int i = 0; i < 40 * 12; i++) x[i] = 2 * rng_uniform(&rng) - 1;
    for (int i = 0; i < 40; i++) labels[i] = i % 4;
    big.training = small.training = 0;
    big.labels = labels;
    memcpy(net_input(&big), x, sizeof x);
    net_forward(&big, 40);
    long correct = 0;
    double loss = 0;
    for (int c = 0; c < 5; c++) {
        memcpy(net_input(&small), x + c * 8 * 12, sizeof(float) * 8 * 12);
        small.labels = labels + c * 8;
        net_forward(&small, 8);
        memcpy(logits + c * 8 * 4, net_logits(&small), sizeof(float) * 8 * 4);
        correct += small.correct;
        loss += small.loss_sum;
    }
    CHECK(memcmp(net_logits(&big), logits, sizeof logits) == 0);
    CHECK(big.correct == correct);
    CHECK_NEAR(big.loss_sum, loss, 1e-12 * fabs(loss));
    net_free(&big);
    net_free(&small);
}

int main(void) {
    RUN(test_cross_entropy_uniform);
    RUN(test_cross_entropy_smoothing);
    RUN(test_cross_entropy_stable);
    RUN(test_mse);
    RUN(test_layer_rows_complete);
    RUN(test_model_names_and_shapes);
    RUN(test_model_list_form);
    RUN(test_model_init);
    RUN(test_layernorm_values);
    RUN(test_batchnorm_values);
    RUN(test_gradcheck);
    RUN(test_hvp_quadratic);
    RUN(test_hvp_symmetric);
    RUN(test_relu_fusion_exact);
    RUN(test_eval_capacity);
    return test_summary();
}
