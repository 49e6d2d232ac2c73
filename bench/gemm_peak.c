/* gemm_peak.c: the machine's single-precision GEMM rate through train's own sgemm, on square
 * matrices large enough to reach the kernels' steady state. Prints GFLOP/s (best of reps). */
#include "kernels/kernels.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 2048, threads = argc > 2 ? atoi(argv[2]) : 0;
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    kernels_set_threads(threads);
    float *a = xalloc_floats((size_t)n * n), *b = xalloc_floats((size_t)n * n), *c = xalloc_floats((size_t)n * n);
    for (long i = 0; i < (long)n * n; i++) { a[i] = (float)(i % 7) - 3; b[i] = (float)(i % 5) - 2; }
    double best = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now_seconds();
        sgemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double s = now_seconds() - t0, gflops = 2.0 * n * n * (double)n / s / 1e9;
        if (gflops > best) best = gflops;
    }
    printf("%.1f\n", best);
    free(a); free(b); free(c);
    return 0;
}
