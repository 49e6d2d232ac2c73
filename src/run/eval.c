/* eval.c: evaluation over a dataset, and the eval subcommand. */
#include "run/eval.h"
#include "run/checkpoint.h"
#include "kernels/kernels.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

EvalResult evaluate(Graph *g, const Dataset *ds, int loss_kind, int *idx, int *labels) {
    EvalResult r = {0, 0, ds->n};
    int saved = g->training;
    g->training = 0;
    double loss_sum = 0;
    long correct = 0;
    for (int start = 0; start < ds->n; start += g->capacity) {
        int rows = ds->n - start < g->capacity ? ds->n - start : g->capacity;
        for (int i = 0; i < rows; i++) idx[i] = start + i;
        dataset_gather(ds, idx, rows, graph_input(g), labels);
        graph_forward(g, rows);
        LossResult lr = loss_compute(loss_kind, graph_output(g), labels, rows, graph_output_dim(g),
                                     0.0f, 0.0f, NULL);
        loss_sum += lr.loss_sum;
        correct += lr.correct;
    }
    g->training = saved;
    if (ds->n > 0) {
        r.loss = loss_sum / ds->n;
        r.acc = (double)correct / ds->n;
    }
    return r;
}

int cmd_eval(int argc, char **argv) {
    Config flags;
    config_defaults(&flags);
    config_parse_args(&flags, argc, argv, 1, NULL, NULL);
    if (!flags.ckpt[0]) fatal(EXIT_USAGE, "eval: --ckpt FILE is required");
    char err[ERR_LEN];
    StFile f;
    if (st_read(flags.ckpt, &f, err) != 0) fatal(EXIT_FAIL, "%s", err);
    Config c;
    config_defaults(&c);
    if (ckpt_config(&f, &c, err) != 0) fatal(EXIT_FAIL, "%s: %s", flags.ckpt, err);
    if (config_given(&flags, "data")) strcpy(c.data, flags.data);
    kernels_set_threads((int)flags.threads);
    kernels_set_denormals(!strcmp(c.denormals, "flush"));   /* the run's arithmetic */

    Dataset test;
    if (dataset_open(c.data, 0, &test, err) != 0) fatal(EXIT_FAIL, "%s", err);
    Graph g;
    model_build(&g, &c);
    if (graph_input_dim(&g) != test.dim || graph_output_dim(&g) < test.n_classes)
        fatal(EXIT_FAIL, "%s: model %s does not fit the data (%d inputs, %d classes)", flags.ckpt,
              c.model, test.dim, test.n_classes);
    graph_alloc(&g, 1000);
    if (ckpt_weights(&f, &g, flags.ckpt, err) != 0) fatal(EXIT_FAIL, "%s", err);
    int *labels = xmalloc(sizeof(int) * 1000), *idx = xmalloc(sizeof(int) * 1000);
    EvalResult r = evaluate(&g, &test, strcmp(c.loss, "mse") == 0 ? LOSS_MSE : LOSS_CE, idx, labels);
    printf("test_loss %.6f\ntest_acc %.4f\nexamples %ld\n", r.loss, r.acc, r.n);
    free(labels);
    free(idx);
    graph_free(&g);
    dataset_free(&test);
    st_free(&f);
    return 0;
}
