/* average.c: weight averages, see average.h. */
#include "optim/average.h"
#include "kernels/kernels.h"
#include "optim/rows.h"

#include <string.h>

void average_ema(float *avg, const float *p, long n, int64_t n_averaged, double decay) {
    if (n_averaged == 0) { memcpy(avg, p, sizeof(float) * (size_t)n); return; }
    float w = (float)(1.0 - decay);
    #pragma omp parallel for simd schedule(static) num_threads(kernels_get_threads()) if(parallel: n > 65536)
    for (long i = 0; i < n; i++) avg[i] = torch_lerp(avg[i], p[i], w);
}

void average_swa(float *avg, const float *p, long n, int64_t n_averaged) {
    if (n_averaged == 0) { memcpy(avg, p, sizeof(float) * (size_t)n); return; }
    float count = (float)(n_averaged + 1);
    #pragma omp parallel for simd schedule(static) num_threads(kernels_get_threads()) if(parallel: n > 65536)
    for (long i = 0; i < n; i++) avg[i] = avg[i] + (p[i] - avg[i]) / count;
}
