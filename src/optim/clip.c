/* clip.c: gradient norm and clipping, see clip.h. */
#include "optim/clip.h"
#include "kernels/kernels.h"
#include "optim/flat.h"

#include <math.h>

/* The sum of squares in fixed chunks (flat.h): the same bits for any number of threads. */
double grad_global_norm(const float *grads, long n) {
    return sqrt(flat_dot(grads, grads, n));
}

/* coef = max_norm / (norm + 1e-6), applied only when it shrinks the gradient. */
void clip_grad_norm(float *grads, long n, double norm, double max_norm) {
    double coef = max_norm / (norm + 1e-6);
    if (coef >= 1.0) return;
    float f = (float)coef;
    #pragma omp parallel for simd schedule(static) num_threads(kernels_get_threads()) if(parallel: n > 65536)
    for (long i = 0; i < n; i++) grads[i] *= f;
}

void clip_grad_value(float *grads, long n, double value) {
    float hi = (float)value, lo = -hi;
    for (long i = 0; i < n; i++) grads[i] = grads[i] > hi ? hi : grads[i] < lo ? lo : grads[i];
}
