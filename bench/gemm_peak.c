/* gemm_peak.c: the machine's GEMM rate through train's own kernels, on square matrices large
 * enough to reach the kernels' steady state.
 *   gemm_peak N THREADS [REPS] [bf16]   GFLOP/s of sgemm (or sgemm_bf16), best of REPS (5)
 *   gemm_peak paths                     the paths sgemm and sgemm_bf16 use on this CPU */
#include "kernels/kernels.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "paths")) {
        printf("float %s, bf16 %s\n", kernels_path(), kernels_bf16_path());
        return 0;
    }
    int n = argc > 1 ? atoi(argv[1]) : 2048, threads = argc > 2 ? atoi(argv[2]) : 0;
    int reps = argc > 3 ? atoi(argv[3]) : 5, bf16 = argc > 4 && !strcmp(argv[4], "bf16");
    kernels_set_threads(threads);
    float *a = xalloc_floats((size_t)n * n), *b = xalloc_floats((size_t)n * n), *c = xalloc_floats((size_t)n * n);
    for (long i = 0; i < (long)n * n; i++) { a[i] = (float)(i % 7) - 3; b[i] = (float)(i % 5) - 2; }
    double best = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now_seconds();
        (bf16 ? sgemm_bf16 : sgemm)(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double s = now_seconds() - t0, gflops = 2.0 * n * n * (double)n / s / 1e9;
        if (gflops > best) best = gflops;
    }
    printf("%.1f\n", best);
    free(a); free(b); free(c);
    return 0;
}
