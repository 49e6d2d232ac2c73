/* model.c: model specs, model files, graph construction and initialisation. */
#include "nn/model.h"
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
        if (v < 1 || v > 1000000)
            return errf(err, "'%s': layer size %ld out of range [1, 1000000]", text, v);
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

/* Layer sizes start with a digit; anything else names a model file. */
static int looks_like_sizes(const char *s) {
    return isdigit((unsigned char)*s);
}

/* Applies one model file; keys map to the flags of the same name ("layers" is --model). */
static int apply_model_file(Config *c, const char *path, char *err) {
    char why[ERR_LEN];
    char *text = read_file(path, NULL, why);
    if (!text) return errf(err, "%s", why);
    int line_no = 0, rc = 0, have_layers = 0;
    for (char *line = strtok(text, "\n"); line && rc == 0; line = strtok(NULL, "\n")) {
        line_no++;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char key[64], value[PATH_LEN], extra[2];
        int n = sscanf(line, "%63s %511s %1s", key, value, extra);
        if (n <= 0) continue;
        if (n != 2) { rc = errf(err, "%s:%d: expected 'key value'", path, line_no); break; }
        static const char *allowed[] = {"layers", "act", "dropout", "loss", "label-smoothing"};
        int ok = 0;
        for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++) ok |= !strcmp(key, allowed[i]);
        if (!ok) { rc = errf(err, "%s:%d: unknown key '%s'", path, line_no, key); break; }
        if (!strcmp(key, "layers")) {
            LayerSizes ls;
            if (model_parse_sizes(value, &ls, why) != 0) rc = errf(err, "%s:%d: %s", path, line_no, why);
            else snprintf(c->model, sizeof c->model, "%s", value);
            have_layers = 1;
        } else if (config_set_default(c, key, value, why) != 0) {
            rc = errf(err, "%s:%d: %s: %s", path, line_no, key, why);
        }
    }
    if (rc == 0 && !have_layers) rc = errf(err, "%s: no 'layers' line", path);
    free(text);
    return rc;
}

int model_resolve(Config *c, char *err) {
    LayerSizes ls;
    if (looks_like_sizes(c->model)) return model_parse_sizes(c->model, &ls, err);
    char path[PATH_LEN + 32];
    snprintf(path, sizeof path, "%s", c->model);
    if (!is_file(path)) snprintf(path, sizeof path, "models/%s.model", c->model);
    if (!is_file(path))
        return errf(err, "'%s': neither layer sizes (like 784-256-10) nor a model file "
                         "(tried %s and models/%s.model)", c->model, c->model, c->model);
    return apply_model_file(c, path, err);
}

static OpKind act_kind(const char *act) {
    if (!strcmp(act, "tanh")) return OP_TANH;
    if (!strcmp(act, "sigmoid")) return OP_SIGMOID;
    if (!strcmp(act, "gelu")) return OP_GELU;
    return OP_RELU;
}

void model_build(Graph *g, const Config *c) {
    LayerSizes ls;
    char err[ERR_LEN];
    if (model_parse_sizes(c->model, &ls, err) != 0) fatal(EXIT_USAGE, "--model: %s", err);
    graph_init(g, ls.dims[0]);
    for (int i = 1; i < ls.n_dims; i++) {
        graph_add_linear(g, ls.dims[i]);
        if (i == ls.n_dims - 1) break;
        graph_add_unary(g, act_kind(c->act));
        if (c->dropout > 0) graph_add_dropout(g, (float)c->dropout);
    }
}

void model_init(Graph *g, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed, STREAM_INIT);
    for (int i = 0; i < g->n_nodes; i++) {
        const Node *n = &g->nodes[i];
        if (n->op != OP_LINEAR) continue;
        float bound = 1.0f / sqrtf((float)n->dim_in);
        float *w = g->params + n->w, *b = g->params + n->b;
        for (long k = 0; k < (long)n->dim_out * n->dim_in; k++)
            w[k] = (2.0f * rng_uniform(&rng) - 1.0f) * bound;
        for (int k = 0; k < n->dim_out; k++) b[k] = (2.0f * rng_uniform(&rng) - 1.0f) * bound;
    }
}
