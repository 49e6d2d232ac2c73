/* vec.c: flat-vector helpers of the instruments, see vec.h. */
#include "instruments/vec.h"

#include <math.h>

double vec_dot(const float *a, const float *b, long n) {
    double s = 0;
    for (long i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

double vec_norm(const float *a, long n) {
    return sqrt(vec_dot(a, a, n));
}

void vec_axpy(float *y, double a, const float *x, long n) {
    for (long i = 0; i < n; i++) y[i] = (float)(y[i] + a * x[i]);
}

void vec_scale(float *x, double a, long n) {
    for (long i = 0; i < n; i++) x[i] = (float)(x[i] * a);
}

void vec_gaussian(float *x, long n, Rng *r) {
    for (long i = 0; i < n; i += 2) {
        /* 1 - u lies in (0, 1], so the logarithm is finite */
        double u = 1.0 - rng_uniform(r), v = rng_uniform(r), rad = sqrt(-2.0 * log(u));
        x[i] = (float)(rad * cos(2 * M_PI * v));
        if (i + 1 < n) x[i + 1] = (float)(rad * sin(2 * M_PI * v));
    }
}

void vec_rademacher(float *x, long n, Rng *r) {
    for (long i = 0; i < n; i += 32) {
        uint32_t bits = rng_u32(r);
        for (long k = 0; k < 32 && i + k < n; k++) x[i + k] = (bits >> k) & 1 ? 1.0f : -1.0f;
    }
}
