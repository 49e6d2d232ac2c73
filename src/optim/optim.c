/* optim.c: running an optimizer row over parameter tensors: the state tensors, the slices
 * of the parallel element-wise update, one step. */
#include "optim/optim.h"
#include "kernels/kernels.h"
#include "optim/closure.h"
#include "util/util.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

const OptimDef *optim_find(const char *name) {
    return find_by_name(optim_table, optim_count, sizeof(OptimDef), name);
}

const char *optim_names(void) {
    static char names[512];
    if (!names[0]) join_names(optim_table, optim_count, sizeof(OptimDef), names, sizeof names);
    return names;
}

void optim_print_help(FILE *out, OptimMemoryFn memory, const char *model) {
    fprintf(out, "optimizers (--opt NAME), with their defaults and update rules (README: Optimizers):\n");
    for (int i = 0; i < optim_count; i++) {
        const OptimDef *o = &optim_table[i];
        fprintf(out, "  %-9s defaults: %s\n            flags: --lr %s\n            %s\n", o->name,
                o->defaults, o->flags, o->formula);
        if (!memory) continue;
        long bytes, params;
        memory(o, &bytes, &params);
        fprintf(out, "            state: %.2f bytes per parameter, %.3f MB for %s (%ld parameters)\n",
                (double)bytes / (double)params, (double)bytes / 1e6, model, params);
    }
}

/* The state tensors of an element-wise row: its active slots, each shaped as the tensor. */
static int slot_states(const OptimDef *def, const OptimHyper *h, const OptTensor *t, OptState *out) {
    unsigned active = def->active ? def->active(h) : ~0u;
    char names[128], *save = NULL;
    snprintf(names, sizeof names, "%s", def->slots);
    int n = 0, k = 0;
    for (char *name = strtok_r(names, " ", &save); name; name = strtok_r(NULL, " ", &save), k++) {
        if (!(active & (1u << k))) continue;
        OptState *s = &out[n++];
        snprintf(s->name, sizeof s->name, "%s", name);
        s->ndim = t->ndim;
        s->shape[0] = t->shape[0];
        s->shape[1] = t->shape[1];
        s->size = t->size;
        s->slot = k;
    }
    return n;
}

/* The element-wise work list: every tensor cut into slices of at most OPT_SLICE elements,
 * each with its tensor's weight decay and state pointers. The rules are element-wise, so the
 * slices can be updated in parallel with the same result for any thread count. */
#define OPT_SLICE 16384

static void plan_slices(Optim *o) {
    int n = 0;
    for (int k = 0; k < o->n_tensors; k++) n += (int)((o->tensors[k].size + OPT_SLICE - 1) / OPT_SLICE);
    o->slices = xcalloc((size_t)(n ? n : 1), sizeof(OptSlice));
    o->n_slices = 0;
    for (int k = 0; k < o->n_tensors; k++) {
        const OptTensor *t = &o->tensors[k];
        int first = o->state_first[k], last = o->state_first[k + 1];
        for (long lo = 0; lo < t->size; lo += OPT_SLICE) {
            OptSlice *s = &o->slices[o->n_slices++];
            s->offset = t->offset + lo;
            s->size = t->size - lo < OPT_SLICE ? t->size - lo : OPT_SLICE;
            s->wd = o->wd[k];
            for (int i = first; i < last; i++)
                s->state[o->states[i].slot] = o->state + o->states[i].offset + lo;
        }
    }
}

int optim_tensor_states(const OptimDef *def, const OptimHyper *h, const OptTensor *t, OptState *out) {
    return def->step ? slot_states(def, h, t, out) : def->state_spec ? def->state_spec(h, t, out) : 0;
}

long optim_state_floats(const OptimDef *def, const OptimHyper *h, const OptTensor *tensors,
                        int n_tensors) {
    OptState s[OPTIM_MAX_TENSOR_STATE];
    long total = 0, scratch = 0;
    for (int k = 0; k < n_tensors; k++) {
        memset(s, 0, sizeof s);
        int n = optim_tensor_states(def, h, &tensors[k], s);
        for (int i = 0; i < n; i++) {
            if (s[i].workspace) scratch = s[i].size > scratch ? s[i].size : scratch;   /* shared */
            else total += s[i].size;
        }
    }
    return total + scratch;
}

int optim_net_tensors(const Net *n, OptTensor *out) {
    int count = 0;
    for (int i = 0; i < n->n_tensors; i++) {
        const NetTensor *p = &n->tensors[i];
        if (p->role == ROLE_BUFFER) continue;
        OptTensor *o = &out[count++];
        snprintf(o->name, sizeof o->name, "%s", p->name);
        o->ndim = p->ndim;
        o->shape[0] = p->shape[0];
        o->shape[1] = p->shape[1];
        o->role = p->role;
        o->offset = p->offset;
        o->size = p->size;
    }
    return count;
}

void optim_init(Optim *o, const OptimDef *def, const OptimHyper *h, const OptTensor *tensors,
                int n_tensors, long n_params) {
    memset(o, 0, sizeof *o);
    o->def = def;
    o->h = *h;
    o->n_tensors = n_tensors;
    o->n_params = n_params;
    o->tensors = xmalloc(sizeof(OptTensor) * (size_t)(n_tensors ? n_tensors : 1));
    memcpy(o->tensors, tensors, sizeof(OptTensor) * (size_t)n_tensors);
    o->wd = xmalloc(sizeof(float) * (size_t)(n_tensors ? n_tensors : 1));
    o->states = xcalloc((size_t)(n_tensors * OPTIM_MAX_TENSOR_STATE + 1), sizeof(OptState));
    long scratch = 0;
    o->state_first = xmalloc(sizeof(int) * (size_t)(n_tensors + 1));
    o->rule = optim_closure_rule(def->name);
    for (int k = 0; k < n_tensors; k++) {
        const OptTensor *t = &o->tensors[k];
        /* weight decay is for weights: biases and norm parameters only with --wd-bias */
        o->wd[k] = t->role != ROLE_WEIGHT && !h->wd_bias ? 0.0f : (float)h->wd;
        o->state_first[k] = o->n_states;
        OptState *s = &o->states[o->n_states];
        int n = optim_tensor_states(def, h, t, s);
        if (n > 0 && s[n - 1].workspace) {   /* scratch, not state */
            n--;
            scratch = s[n].size > scratch ? s[n].size : scratch;
            memset(&s[n], 0, sizeof s[n]);
        }
        if (k == 0 && o->rule && o->rule->flat_state) n += o->rule->flat_state(h, n_params, s + n);
        for (int i = 0; i < n; i++) {
            s[i].tensor = k;
            if (!def->step) s[i].slot = -1;
            s[i].offset = o->n_state;
            o->n_state += s[i].size;
        }
        o->n_states += n;
    }
    o->state_first[n_tensors] = o->n_states;
    o->state = xalloc_floats((size_t)o->n_state);
    if (def->step) plan_slices(o);
    if (o->rule) {
        rng_seed(&o->rng, h->seed, STREAM_OPTIM);
        long floats = o->rule->scratch_floats ? o->rule->scratch_floats(h, n_params) : 0;
        scratch = floats > scratch ? floats : scratch;
    }
    o->scratch = xalloc_floats((size_t)(scratch ? scratch : 1));
}

void optim_step(Optim *o, float *params, const float *grads, long t, float lr, double momentum) {
    OptimHyper h = o->h;
    if (!isnan(momentum)) {
        OptimCycles cycles = o->def->cycles == CYCLES_INNER ? h.inner->cycles : o->def->cycles;
        if (cycles == CYCLES_MOMENTUM) h.momentum = momentum;
        else if (cycles == CYCLES_BETA1) h.beta1 = momentum;
    }
    h.lr = lr;
    const OptimClosureRule *cr = o->rule;
    if (cr && cr->flat_step) { cr->flat_step(o, &h, params, t, lr); return; }
    if (o->def->prepare) o->def->prepare(o, &h, t);
    if (o->def->step) {
        OptimElemFn step = o->def->step;
        /* each thread a contiguous run of slices holding about its share of the elements
         * (slices differ in size: a count-based split left one thread most of the work) */
        long total = 0;
        for (int i = 0; i < o->n_slices; i++) total += o->slices[i].size;
        #pragma omp parallel num_threads(kernels_get_threads()) if(o->n_params > 4 * OPT_SLICE)
        {
            int me = omp_get_thread_num(), team = omp_get_num_threads();
            long before = 0;
            for (int i = 0; i < o->n_slices; i++) {
                const OptSlice *s = &o->slices[i];
                long owner = (2 * before + s->size) * team / (2 * total);
                before += s->size;
                if ((owner < team ? owner : team - 1) == me)
                    step(&h, s->size, params + s->offset, grads + s->offset, s->state, t, lr, s->wd);
            }
        }
        if (cr && cr->after_step) cr->after_step(o, &h, params, t, lr);
        return;
    }
    float *state[OPTIM_MAX_TENSOR_STATE];
    for (int k = 0; k < o->n_tensors; k++) {
        const OptTensor *ten = &o->tensors[k];
        for (int i = o->state_first[k]; i < o->state_first[k + 1]; i++)
            state[i - o->state_first[k]] = o->state + o->states[i].offset;
        o->def->tensor_step(o, &h, ten, params + ten->offset, grads + ten->offset, state, t, lr, o->wd[k]);
    }
}

long optim_state_bytes(const Optim *o) {
    return (long)sizeof(float) * o->n_state;
}

void optim_free(Optim *o) {
    free(o->tensors);
    free(o->wd);
    free(o->state);
    free(o->states);
    free(o->state_first);
    free(o->slices);
    free(o->scratch);
    memset(o, 0, sizeof *o);
}
