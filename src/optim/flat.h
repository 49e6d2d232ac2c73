/* flat.h: arithmetic on flat float vectors (the parameters, a gradient, a direction), for the
 * gradient norm and the rules that work on the whole vector (L-BFGS). Reductions run over
 * fixed chunks, each summed in double, the chunk sums added in order: the same bits for any
 * thread count. */
#ifndef OPTIM_FLAT_H
#define OPTIM_FLAT_H

#include <math.h>

double flat_dot(const float *a, const float *b, long n);
double flat_abs_sum(const float *a, long n);
double flat_abs_max(const float *a, long n);
/* y += alpha x (alpha rounded to float, as PyTorch's add_(x, alpha=)) */
void flat_axpy(float *y, float alpha, const float *x, long n);
/* torch.lerp(a, b, w) into out: a + w (b - a) for |w| < 0.5, else b - (b - a)(1 - w) */
static inline float lerpf(float a, float b, float w) {
    return fabsf(w) < 0.5f ? a + w * (b - a) : b - (b - a) * (1.0f - w);
}

#endif
