/* layers.c: the layer table: one row per layer kind, each defined in its own file. */
#include "nn/layers.h"

#include <string.h>

extern const LayerDef layer_linear, layer_relu, layer_tanh, layer_sigmoid, layer_gelu,
    layer_dropout, layer_layernorm, layer_batchnorm, layer_cross_entropy, layer_mse;

const LayerDef *const layer_table[LAYER_COUNT] = {
    [LAYER_LINEAR] = &layer_linear,
    [LAYER_RELU] = &layer_relu,
    [LAYER_TANH] = &layer_tanh,
    [LAYER_SIGMOID] = &layer_sigmoid,
    [LAYER_GELU] = &layer_gelu,
    [LAYER_DROPOUT] = &layer_dropout,
    [LAYER_LAYERNORM] = &layer_layernorm,
    [LAYER_BATCHNORM] = &layer_batchnorm,
    [LAYER_CROSS_ENTROPY] = &layer_cross_entropy,
    [LAYER_MSE] = &layer_mse,
};

int layer_find(const char *name) {
    for (int k = 0; k < LAYER_COUNT; k++)
        if (layer_table[k] && !strcmp(layer_table[k]->name, name)) return k;
    return -1;
}

int layer_is_loss(LayerKind kind) {
    return !layer_table[kind]->is_module;
}
