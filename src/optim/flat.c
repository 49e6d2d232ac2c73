/* flat.c: arithmetic on flat float vectors, see flat.h. */
#include "optim/flat.h"
#include "kernels/kernels.h"

#include <math.h>

#define CHUNKS 64
#define PARALLEL_MIN 65536

double flat_dot(const float *a, const float *b, long n) {
    double part[CHUNKS];
    long chunk = (n + CHUNKS - 1) / CHUNKS;
    #pragma omp parallel for schedule(static) num_threads(kernels_get_threads()) if(n > PARALLEL_MIN)
    for (int c = 0; c < CHUNKS; c++) {
        long lo = c * chunk, hi = lo + chunk < n ? lo + chunk : n;
        double s = 0.0;
        #pragma omp simd reduction(+:s)
        for (long i = lo; i < hi; i++) s += (double)a[i] * b[i];
        part[c] = s;
    }
    double sum = 0.0;
    for (int c = 0; c < CHUNKS; c++) sum += part[c];
    return sum;
}

/* used once per step: a plain loop in order */
double flat_abs_sum(const float *a, long n) {
    double sum = 0.0;
    for (long i = 0; i < n; i++) sum += fabs((double)a[i]);
    return sum;
}

double flat_abs_max(const float *a, long n) {
    float m = 0.0f;
    for (long i = 0; i < n && m == m; i++) {
        float v = fabsf(a[i]);
        if (v > m || v != v) m = v;   /* a NaN wins, as torch's max does */
    }
    return m;
}

void flat_axpy(float *y, float alpha, const float *x, long n) {
    #pragma omp parallel for simd schedule(static) num_threads(kernels_get_threads()) if(parallel: n > PARALLEL_MIN)
    for (long i = 0; i < n; i++) y[i] += alpha * x[i];
}
