/* Fuzzes the small text parsers of model and schedule specs: model_parse_sizes ("784-256-10"),
 * model_spec_parse_list ("input 784, linear 256, relu, linear 10"), sched_parse_milestones
 * ("3000,6000") on the input as a string, and model files ("layers 784-32-10\nact relu\n" or
 * layer lines, src/run/resolve.c resolve_model) on the input as a file.
 * Properties: accepted sizes are in range; accepted milestones are positive and increasing; an
 * accepted list is written back in a form that parses to the same spec. */
#include "fuzz.h"
#include "nn/model.h"
#include "optim/sched.h"
#include "run/config.h"
#include "run/resolve.h"
#include "util/util.h"

#include <string.h>

/* the canonical text of a list parses back to the same layers */
static void check_list_roundtrip(const ModelSpec *m) {
    char text[4096], err[ERR_LEN];
    ModelSpec again;
    model_spec_format(m, text, sizeof text);
    FUZZ_ASSERT(model_spec_parse_list(text, &again, err) == 0);
    FUZZ_ASSERT(again.input == m->input && again.n_layers == m->n_layers);
    for (int i = 0; i < m->n_layers; i++)
        FUZZ_ASSERT(again.layers[i].kind == m->layers[i].kind && again.layers[i].arg == m->layers[i].arg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = fuzz_string(data, size);
    char err[ERR_LEN];
    LayerSizes ls;
    if (model_parse_sizes(s, &ls, err) == 0) {
        FUZZ_ASSERT(ls.n_dims >= 2 && ls.n_dims <= MODEL_MAX_LAYERS + 1);
        for (int i = 0; i < ls.n_dims; i++) FUZZ_ASSERT(ls.dims[i] >= 1 && ls.dims[i] <= 1000000);
    }
    ModelSpec spec;
    if (model_spec_parse_list(s, &spec, err) == 0) check_list_roundtrip(&spec);
    long m[SCHED_MAX_MILESTONES];
    int n = sched_parse_milestones(s, m, SCHED_MAX_MILESTONES, err);
    FUZZ_ASSERT(n <= SCHED_MAX_MILESTONES);
    for (int i = 0; i < n; i++) FUZZ_ASSERT(m[i] > 0 && (i == 0 || m[i] > m[i - 1]));
    free(s);

    /* as a model file */
    Config c;
    config_defaults(&c);
    snprintf(c.model, sizeof c.model, "%s", fuzz_file("model", data, size));
    if (resolve_model(&c, err) == 0)
        FUZZ_ASSERT(model_parse_sizes(c.model, &ls, err) == 0 || model_spec_parse_list(c.model, &spec, err) == 0);
    return 0;
}
