/* model.c: model specifications (sizes and list forms) and building networks from them. */
#include "nn/model.h"
#include "nn/layers.h"
#include "util/util.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int model_parse_sizes(const char *text, LayerSizes *ls, char *err) {
    ls->n_dims = 0;
    const char *p = text;
    for (;;) {
        if (!isdigit((unsigned char)*p))
            return errf(err, "'%s': expected layer sizes like 784-256-10", text);
        char *end;
        long v = strtol(p, &end, 10);
        if (v < 1 || v > MODEL_MAX_SIZE)
            return errf(err, "'%s': layer size %ld out of range [1, %d]", text, v, MODEL_MAX_SIZE);
        if (ls->n_dims == MODEL_MAX_LAYERS + 1)
            return errf(err, "'%s': more than %d layers", text, MODEL_MAX_LAYERS);
        ls->dims[ls->n_dims++] = (int)v;
        if (*end == 0) break;
        if (*end != '-') return errf(err, "'%s': unexpected '%c'", text, *end);
        p = end + 1;
    }
    if (ls->n_dims < 2) return errf(err, "'%s': needs at least an input and an output size", text);
    return 0;
}

static void push(ModelSpec *m, LayerKind kind, double arg) {
    m->layers[m->n_layers].kind = kind;
    m->layers[m->n_layers].arg = arg;
    m->n_layers++;
}

void model_spec_from_sizes(ModelSpec *m, const LayerSizes *ls, int norm, LayerKind act,
                           double dropout) {
    memset(m, 0, sizeof *m);
    m->input = ls->dims[0];
    for (int i = 1; i < ls->n_dims; i++) {
        push(m, LAYER_LINEAR, ls->dims[i]);
        if (i == ls->n_dims - 1) break;
        if (norm >= 0) push(m, (LayerKind)norm, layer_table[norm]->default_arg);
        push(m, act, 0);
        if (dropout > 0) push(m, LAYER_DROPOUT, (float)dropout);   /* p is a float, as in the op */
    }
}

/* One "keyword [arg]" item of the list form. */
static int parse_item(char *item, ModelSpec *m, int first, char *err) {
    while (*item == ' ' || *item == '\t' || *item == '\r') item++;
    for (size_t len = strlen(item); len && strchr(" \t\r", item[len - 1]); len--) item[len - 1] = 0;
    char word[32], extra[2];
    double arg = 0;
    char argtext[64] = "";
    int n = sscanf(item, "%31s %63s %1s", word, argtext, extra);
    if (n <= 0) return 0;
    if (n > 2) return errf(err, "'%s': expected a layer and at most one argument", item);
    if (n == 2) {
        char *end;
        arg = strtod(argtext, &end);
        if (end == argtext || *end || !isfinite(arg)) return errf(err, "'%s': '%s' is not a number", item, argtext);
    }
    if (!strcmp(word, "input")) {
        if (!first) return errf(err, "'input' must come first");
        if (n != 2 || arg != floor(arg) || arg < 1 || arg > MODEL_MAX_SIZE)
            return errf(err, "'%s': expected input N with N in [1, %d]", item, MODEL_MAX_SIZE);
        m->input = (int)arg;
        return 0;
    }
    int kind = layer_find(word);
    if (kind < 0 || layer_is_loss((LayerKind)kind))
        return errf(err, "'%s': unknown layer (linear, relu, tanh, sigmoid, gelu, dropout, layernorm, batchnorm)", item);
    const LayerDef *def = layer_table[kind];
    if (n == 2 && !def->has_arg) return errf(err, "'%s': %s takes no argument", item, word);
    if (n == 1 && def->has_arg == 1) return errf(err, "'%s': %s needs an argument", item, word);
    if (n == 1) arg = def->default_arg;
    if (kind == LAYER_LINEAR && (arg != floor(arg) || arg < 1 || arg > MODEL_MAX_SIZE))
        return errf(err, "'%s': linear needs a whole number of outputs in [1, %d]", item, MODEL_MAX_SIZE);
    if (kind == LAYER_DROPOUT && !(arg >= 0 && arg < 1))
        return errf(err, "'%s': dropout probability must be in [0, 1)", item);
    if (kind == LAYER_DROPOUT) arg = (float)arg;
    if ((kind == LAYER_LAYERNORM || kind == LAYER_BATCHNORM) && !(arg > 0 && arg < 1))
        return errf(err, "'%s': eps must be in (0, 1)", item);
    if (m->n_layers >= NET_MAX_NODES - 1) return errf(err, "more than %d layers", NET_MAX_NODES - 1);
    push(m, (LayerKind)kind, arg);
    return 0;
}

int model_spec_parse_list(const char *text, ModelSpec *m, char *err) {
    memset(m, 0, sizeof *m);
    char *copy = xstrdup(text), *save = NULL, why[ERR_LEN];
    int rc = 0, items = 0;
    for (char *item = strtok_r(copy, ",\n", &save); item && rc == 0; item = strtok_r(NULL, ",\n", &save)) {
        rc = parse_item(item, m, items == 0 && m->n_layers == 0, why);
        items++;
    }
    free(copy);
    if (rc != 0) return errf(err, "%s", why);
    if (!model_spec_has(m, LAYER_LINEAR)) return errf(err, "'%s': no linear layer", text);
    return 0;
}

/* The shortest decimal that reads back as v ("0.1" for the float 0.1, not 0.100000001). */
static void shortest(double v, char *buf, size_t len) {
    if (v == floor(v) && fabs(v) < 1e15) { snprintf(buf, len, "%.0f", v); return; }
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, len, "%.*g", digits, v);
        if (strtod(buf, NULL) == v || (float)strtod(buf, NULL) == (float)v) return;
    }
}

void model_spec_format(const ModelSpec *m, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = 0;
    if (m->input) used += (size_t)snprintf(buf, len, "input %d", m->input);
    for (int i = 0; i < m->n_layers && used < len; i++) {
        const LayerSpec *l = &m->layers[i];
        if (layer_is_loss(l->kind)) continue;
        const LayerDef *def = layer_table[l->kind];
        used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", def->name);
        if (used < len && def->has_arg && (def->has_arg == 1 || l->arg != def->default_arg)) {
            char num[32];
            shortest(l->arg, num, sizeof num);
            used += (size_t)snprintf(buf + used, len - used, " %s", num);
        }
    }
}

void model_spec_add_loss(ModelSpec *m, LayerKind loss, double smoothing) {
    push(m, loss, loss == LAYER_CROSS_ENTROPY ? (float)smoothing : 0.0);
}

int model_spec_has(const ModelSpec *m, LayerKind kind) {
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].kind == kind) return 1;
    return 0;
}

int model_build(Net *n, const ModelSpec *m, int input_dim, char *err) {
    net_init(n, m->input ? m->input : input_dim);
    for (int i = 0; i < m->n_layers; i++)
        if (net_add(n, m->layers[i].kind, m->layers[i].arg, err) != 0) return -1;
    return 0;
}
