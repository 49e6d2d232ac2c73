/* lookahead.c: Lookahead (Zhang et al. 2019) around any other row (--inner). The inner
 * optimizer moves the fast weights p with its own rule and state; the slow weights phi start
 * at the initial weights and, after every k-th update,
 *   phi <- phi + alpha (p - phi)  (as PyTorch's lerp, so alpha = 1 gives p exactly);  p <- phi
 * The slow weights are state (lookahead_slow_buff, timm's name), saved beside the inner
 * optimizer's, so a run resumes exactly. */
#include "optim/rows.h"
#include "kernels/kernels.h"

#include <string.h>

#define SLICE 16384   /* element-wise inner rules run in parallel over slices of this size */

/* lookahead_slow_buff first, then the inner row's state (its workspace entry last) */
int lookahead_state(const OptimHyper *h, const OptTensor *t, OptState *out) {
    state_entry(&out[0], "lookahead_slow_buff", t->ndim, t->shape[0], t->shape[1]);
    return 1 + optim_tensor_states(h->inner, h, t, out + 1);
}

void lookahead_prepare(Optim *o, OptimHyper *h, long t) {
    if (h->inner->prepare) h->inner->prepare(o, h, t);
}

/* An element-wise inner row over one tensor: its active slots in order, in parallel slices
 * (an element-wise rule gives the same bits however the elements are cut). */
static void elementwise(const OptimHyper *h, const OptTensor *tensor, float *p, const float *g,
                        float *const *state, long t, float lr, float wd) {
    const OptimDef *in = h->inner;
    unsigned active = in->active ? in->active(h) : ~0u;
    float *slots[OPTIM_MAX_STATE] = {NULL, NULL, NULL};
    int next = 0, k = 0;
    for (const char *c = in->slots; *c; c++)
        if (c == in->slots || (c[-1] == ' ' && *c != ' ')) {
            if (active & (1u << k)) slots[k] = state[next++];
            k++;
        }
    long n = tensor->size, n_slices = (n + SLICE - 1) / SLICE;
    #pragma omp parallel for schedule(static) num_threads(kernels_get_threads()) if(n > 4 * SLICE)
    for (long s = 0; s < n_slices; s++) {
        long lo = s * SLICE, len = n - lo < SLICE ? n - lo : SLICE;
        float *part[OPTIM_MAX_STATE];
        for (int i = 0; i < OPTIM_MAX_STATE; i++) part[i] = slots[i] ? slots[i] + lo : NULL;
        in->step(h, len, p + lo, g + lo, part, t, lr, wd);
    }
}

void lookahead_step(Optim *o, const OptimHyper *h, const OptTensor *tensor, float *p,
                    const float *g, float *const *state, long t, float lr, float wd) {
    float *slow = state[0];
    long n = tensor->size;
    if (t == 1) memcpy(slow, p, sizeof(float) * (size_t)n);
    if (h->inner->step) elementwise(h, tensor, p, g, state + 1, t, lr, wd);
    else h->inner->tensor_step(o, h, tensor, p, g, state + 1, t, lr, wd);
    if (t % h->lookahead_k) return;
    float alpha = (float)h->lookahead_alpha;
    for (long i = 0; i < n; i++) p[i] = slow[i] = torch_lerp(slow[i], p[i], alpha);
}
