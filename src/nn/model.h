/* model.h: from a model description to a graph with initialised parameters.
 *
 * --model takes either layer sizes "IN-H1-...-OUT" (e.g. 784-256-256-10) or a model file:
 * a path, or NAME for models/NAME.model. A model file holds "key value" lines (# comments):
 *     layers  784-256-256-10
 *     act     relu
 *     dropout 0.1
 * (keys: layers, act, dropout, loss, label-smoothing); its values are defaults that flags on
 * the command line override. The graph is nn.Sequential's: Linear, act, [Dropout], Linear,
 * ..., Linear, so parameter names are "0.weight", "0.bias", "2.weight", ... */
#ifndef MODEL_H
#define MODEL_H

#include "run/config.h"
#include "nn/graph.h"

#define MODEL_MAX_LAYERS 16

typedef struct {
    int n_dims;                      /* layers + 1 */
    int dims[MODEL_MAX_LAYERS + 1];
} LayerSizes;

/* Parses "784-256-10". Returns 0, or -1 with err. */
int model_parse_sizes(const char *text, LayerSizes *ls, char *err);
/* Resolves c->model: a model file is read, its settings applied as defaults, and c->model
 * replaced by its layer sizes, so a stored config needs no file. Returns 0 or -1 with err. */
int model_resolve(Config *c, char *err);
/* Builds (not allocates) the graph for a resolved config. */
void model_build(Graph *g, const Config *c);
/* nn.Linear's default init: W and b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from --seed. */
void model_init(Graph *g, uint64_t seed);

#endif
