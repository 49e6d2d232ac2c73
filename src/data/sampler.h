/* sampler.h: which training examples form the next optimizer step's batch.
 *
 * SAMPLE_SHUFFLE: a fresh random permutation every epoch (Fisher-Yates from the sampler's
 *   Rng); batches are consecutive slices of it; the last batch of an epoch holds what is
 *   left (n mod batch), so every example is seen exactly once per epoch.
 * SAMPLE_REPLACE: every index drawn uniformly with replacement; batches are always full;
 *   an "epoch" is ceil(n / batch) batches.
 * SAMPLE_SEQUENTIAL: 0, 1, 2, ... in order, every epoch the same (evaluation, debugging).
 *
 * The whole state is (rng at the start of the current epoch, live rng, epoch, position):
 * the permutation is regenerated from it, so a checkpoint stores a few integers, not n. */
#ifndef SAMPLER_H
#define SAMPLER_H

#include "util/rng.h"

enum { SAMPLE_SHUFFLE, SAMPLE_REPLACE, SAMPLE_SEQUENTIAL };

typedef struct {
    int mode, n, batch;
    int *perm;            /* n indices: this epoch's order (SHUFFLE / SEQUENTIAL) */
    Rng epoch_rng;        /* rng state at the start of the current epoch (saved) */
    Rng rng;              /* live rng: after shuffling, or mid-epoch for REPLACE */
    long epoch;           /* completed epochs */
    long pos;             /* examples (SHUFFLE/SEQUENTIAL) or batches (REPLACE) consumed this epoch */
} Sampler;

void sampler_init(Sampler *s, int mode, int n, int batch, uint64_t seed);
/* Batches (optimizer steps) in one epoch: ceil(n / batch). */
long sampler_steps_per_epoch(const Sampler *s);
/* Writes the next batch's indices into idx (capacity >= batch); returns its size (>= 1).
 * Crossing into a new epoch happens at the start of the call that needs it. */
int sampler_next(Sampler *s, int *idx);
/* Rebuilds a sampler from its saved state (epoch_rng, rng, epoch, pos). */
void sampler_restore(Sampler *s, Rng epoch_rng, Rng rng, long epoch, long pos);
void sampler_free(Sampler *s);

#endif
