/* sampler.c: epoch permutations and batch slicing, see sampler.h. */
#include "data/sampler.h"
#include "util/util.h"

#include <stdlib.h>

/* Starts epoch number s->epoch from s->epoch_rng: reshuffle (or not) and rewind. */
static void start_epoch(Sampler *s) {
    s->rng = s->epoch_rng;
    for (int i = 0; i < s->n; i++) s->perm[i] = i;
    if (s->mode == SAMPLE_SHUFFLE)
        for (int i = s->n - 1; i > 0; i--) {
            int j = (int)rng_below(&s->rng, (uint32_t)i + 1);
            int t = s->perm[i]; s->perm[i] = s->perm[j]; s->perm[j] = t;
        }
    s->pos = 0;
}

void sampler_init(Sampler *s, int mode, int n, int batch, uint64_t seed) {
    s->mode = mode;
    s->n = n;
    s->batch = batch;
    s->perm = xmalloc(sizeof(int) * (size_t)n);
    rng_seed(&s->epoch_rng, seed, STREAM_SAMPLER);
    s->epoch = 0;
    start_epoch(s);
}

long sampler_steps_per_epoch(const Sampler *s) {
    return ((long)s->n + s->batch - 1) / s->batch;
}

int sampler_next(Sampler *s, int *idx) {
    int done = s->mode == SAMPLE_REPLACE ? s->pos >= sampler_steps_per_epoch(s) : s->pos >= s->n;
    if (done) {
        /* the next epoch continues the stream where this one left it */
        s->epoch_rng = s->rng;
        s->epoch++;
        start_epoch(s);
    }
    if (s->mode == SAMPLE_REPLACE) {
        for (int i = 0; i < s->batch; i++) idx[i] = (int)rng_below(&s->rng, (uint32_t)s->n);
        s->pos++;
        return s->batch;
    }
    int m = s->n - (int)s->pos < s->batch ? s->n - (int)s->pos : s->batch;
    for (int i = 0; i < m; i++) idx[i] = s->perm[s->pos + i];
    s->pos += m;
    return m;
}

void sampler_restore(Sampler *s, Rng epoch_rng, Rng rng, long epoch, long pos) {
    s->epoch_rng = epoch_rng;
    s->epoch = epoch;
    start_epoch(s);
    s->rng = rng;
    s->pos = pos;
}

void sampler_free(Sampler *s) {
    free(s->perm);
    s->perm = NULL;
}
