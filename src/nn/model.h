/* model.h: model specifications and the networks built from them.
 *
 * A model is a list of layers, nn.Sequential's modules in order, then a loss. It is written
 * in one of two forms:
 *   sizes   "784-256-256-10": Linear layers of those widths; between two of them, the hidden
 *           block [Norm] Activation [Dropout] (the norm, activation and dropout are chosen
 *           separately: --norm, --act, --dropout)
 *   list    "input 784, linear 256, layernorm, relu, dropout 0.1, linear 10": the modules one
 *           by one (comma- or newline-separated), each a layer keyword of the layer table and
 *           its argument (linear N: N outputs; dropout P; layernorm/batchnorm [EPS]); `input N`
 *           first is optional, the input width then comes from the data.
 * Either form is turned into a ModelSpec, which builds the network. */
#ifndef NN_MODEL_H
#define NN_MODEL_H

#include "nn/net.h"

#include <stddef.h>

#define MODEL_MAX_LAYERS 16     /* Linear layers of the sizes form */
#define MODEL_MAX_SIZE 1000000  /* widest layer */

typedef struct {
    int n_dims;                         /* layers + 1 */
    int dims[MODEL_MAX_LAYERS + 1];
} LayerSizes;

typedef struct {
    LayerKind kind;
    double arg;
} LayerSpec;

typedef struct {
    int input;                          /* input width; 0: from the data */
    LayerSpec layers[NET_MAX_NODES];    /* the modules in order, then the loss */
    int n_layers;
} ModelSpec;

/* Parses "784-256-10". Returns 0, or -1 with err. */
int model_parse_sizes(const char *text, LayerSizes *ls, char *err);
/* The sizes form: Linear, then per hidden layer [norm] act [dropout p > 0], ..., Linear.
 * norm is LAYER_LAYERNORM, LAYER_BATCHNORM or -1 (none). The loss is added separately. */
void model_spec_from_sizes(ModelSpec *m, const LayerSizes *ls, int norm, LayerKind act,
                           double dropout);
/* Parses the list form ("input N" optional). Returns 0, or -1 with err. */
int model_spec_parse_list(const char *text, ModelSpec *m, char *err);
/* The list form of a spec, canonical: "input 784, linear 256, relu, linear 10". */
void model_spec_format(const ModelSpec *m, char *buf, size_t len);
/* Appends the loss (LAYER_CROSS_ENTROPY with label smoothing, or LAYER_MSE). */
void model_spec_add_loss(ModelSpec *m, LayerKind loss, double smoothing);
/* 1 if the spec holds a layer of that kind. */
int model_spec_has(const ModelSpec *m, LayerKind kind);
/* Builds (not allocates) the network; input_dim is used when the spec has none. */
int model_build(Net *n, const ModelSpec *m, int input_dim, char *err);

#endif
