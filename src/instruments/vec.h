/* vec.h: the few operations the instruments do on flat parameter-sized vectors (float
 * storage, double accumulation, fixed order, so results do not depend on the thread count),
 * and the random vectors they draw: Gaussian directions and Rademacher probes. */
#ifndef INSTRUMENTS_VEC_H
#define INSTRUMENTS_VEC_H

#include "util/rng.h"

/* Streams of the instruments' random numbers, apart from the run's own (rng.h). */
enum { STREAM_LANCZOS = 41, STREAM_PROBES = 42, STREAM_DIRECTIONS = 43 };

double vec_dot(const float *a, const float *b, long n);
double vec_norm(const float *a, long n);
/* y += a x */
void vec_axpy(float *y, double a, const float *x, long n);
void vec_scale(float *x, double a, long n);
/* Standard normal entries (Box-Muller on 24-bit uniforms). */
void vec_gaussian(float *x, long n, Rng *r);
/* Entries +1 or -1 with probability 1/2 each. */
void vec_rademacher(float *x, long n, Rng *r);

#endif
