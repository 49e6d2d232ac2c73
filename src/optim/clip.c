/* clip.c: gradient norm and clipping, see clip.h. */
#include "optim/clip.h"
#include "kernels/kernels.h"

#include <math.h>

/* The sum of squares is cut into NORM_CHUNKS fixed chunks (whatever the thread count),
 * each summed in double, and the chunk sums are added in order: the same bits for any
 * number of threads. */
#define NORM_CHUNKS 64

double grad_global_norm(const float *grads, long n) {
    double part[NORM_CHUNKS];
    long chunk = (n + NORM_CHUNKS - 1) / NORM_CHUNKS;
    #pragma omp parallel for schedule(static) num_threads(kernels_get_threads()) if(n > 65536)
    for (int c = 0; c < NORM_CHUNKS; c++) {
        long lo = c * chunk, hi = lo + chunk < n ? lo + chunk : n;
        double s = 0.0;
        #pragma omp simd reduction(+:s)
        for (long i = lo; i < hi; i++) s += (double)grads[i] * grads[i];
        part[c] = s;
    }
    double sum = 0.0;
    for (int c = 0; c < NORM_CHUNKS; c++) sum += part[c];
    return sqrt(sum);
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
