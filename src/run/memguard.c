/* memguard.c: the memory a model needs against the machine's, see memguard.h. */
#include "run/memguard.h"
#include "optim/optim.h"
#include "run/checkpoint.h"
#include "run/resolve.h"
#include "util/machine.h"
#include "util/util.h"

#include <stdlib.h>

int memguard_check(const Net *n, int capacity, const Config *c, int training, double other_bytes,
                   const StFile *weights, const char *weights_path, char *err) {
    double floats = net_alloc_floats(n, capacity);
    if (training) {
        OptTensor *list = xcalloc((size_t)n->n_tensors + 1, sizeof(OptTensor));
        int count = optim_net_tensors(n, list);
        OptimHyper h = resolve_optim_hyper(c);
        floats += (double)optim_state_floats(optim_find(c->opt), &h, list, count);
        free(list);
    }
    double need = 4.0 * floats + other_bytes, have = machine_memory_bytes();
    if (need <= have) return weights ? ckpt_check_model(weights, n, weights_path, err) : 0;
    char need_s[32], have_s[32], state[48] = "";
    format_bytes(need, need_s, sizeof need_s);
    format_bytes(have, have_s, sizeof have_s);
    if (training) snprintf(state, sizeof state, ", %s's state", c->opt);
    return errf(err, "--model %s: needs about %s of memory (%ld parameters: weights, gradients%s "
                "and the activations of %d rows), more than this machine's %s", c->model, need_s,
                n->n_params, state, capacity, have_s);
}
