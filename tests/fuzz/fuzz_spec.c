/* Fuzzes the small text parsers of model and schedule specs: model_parse_sizes ("784-256-10"),
 * sched_parse_milestones ("3000,6000") on the input as a string, and model files
 * ("layers 784-32-10\nact relu\n", src/nn/model.c model_resolve) on the input as a file.
 * Properties: accepted sizes are in range; accepted milestones are positive and increasing. */
#include "fuzz.h"
#include "run/config.h"
#include "nn/model.h"
#include "optim/sched.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = fuzz_string(data, size);
    char err[ERR_LEN];
    LayerSizes ls;
    if (model_parse_sizes(s, &ls, err) == 0) {
        FUZZ_ASSERT(ls.n_dims >= 2 && ls.n_dims <= MODEL_MAX_LAYERS + 1);
        for (int i = 0; i < ls.n_dims; i++) FUZZ_ASSERT(ls.dims[i] >= 1 && ls.dims[i] <= 1000000);
    }
    long m[SCHED_MAX_MILESTONES];
    int n = sched_parse_milestones(s, m, SCHED_MAX_MILESTONES, err);
    FUZZ_ASSERT(n <= SCHED_MAX_MILESTONES);
    for (int i = 0; i < n; i++) FUZZ_ASSERT(m[i] > 0 && (i == 0 || m[i] > m[i - 1]));
    free(s);

    /* as a model file */
    Config c;
    config_defaults(&c);
    snprintf(c.model, sizeof c.model, "%s", fuzz_file("model", data, size));
    if (model_resolve(&c, err) == 0) FUZZ_ASSERT(model_parse_sizes(c.model, &ls, err) == 0);
    return 0;
}
