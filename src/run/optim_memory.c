/* optim_memory.c: an optimizer set up as `--opt NAME` with no other flag would set it up over
 * the default model, to measure its state. */
#include "run/optim_memory.h"
#include "run/resolve.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>

void optim_default_memory(const OptimDef *def, long *bytes, long *params) {
    Config c;
    config_defaults(&c);
    snprintf(c.opt, sizeof c.opt, "%s", def->name);
    snprintf(c.model, sizeof c.model, "%s", OPTIM_MEMORY_MODEL);
    config_finalize(&c);
    ModelSpec spec;
    Net net;
    char err[ERR_LEN];
    if (resolve_model_spec(&c, &spec, err) != 0 || model_build(&net, &spec, 0, err) != 0)
        fatal(EXIT_FAIL, "internal: %s", err);
    OptTensor *list = xcalloc((size_t)net.n_tensors + 1, sizeof(OptTensor));
    int count = optim_net_tensors(&net, list);
    OptimHyper h = resolve_optim_hyper(&c);
    Optim o;
    optim_init(&o, def, &h, list, count, net.n_params);
    *bytes = optim_state_bytes(&o);
    *params = net.n_params;
    optim_free(&o);
    free(list);
    net_free(&net);
}
