/* rng.h: PCG32 (O'Neill, pcg32_random_r): 64-bit state, 32-bit output, selectable stream.
 * Every random stream of a run (init, sampler, dropout) is one Rng whose two words are saved
 * in checkpoints, so a resumed run draws exactly the numbers the uninterrupted run would. */
#ifndef RNG_H
#define RNG_H

#include <stdint.h>

typedef struct {
    uint64_t state, inc;   /* inc is odd: it selects the stream */
} Rng;

/* Named streams derived from one --seed, so that e.g. adding dropout does not change the
 * initial weights or the sample order. */
enum { STREAM_INIT = 1, STREAM_SAMPLER = 2, STREAM_DROPOUT = 3, STREAM_OPTIM = 4, STREAM_TEST = 99 };

void rng_seed(Rng *r, uint64_t seed, uint64_t stream);
uint32_t rng_u32(Rng *r);
/* Uniform in [0, 1) with 24 random bits (every value exactly representable as float). */
float rng_uniform(Rng *r);
/* Uniform integer in [0, n), unbiased (Lemire's multiply-shift with rejection). */
uint32_t rng_below(Rng *r, uint32_t n);

#endif
