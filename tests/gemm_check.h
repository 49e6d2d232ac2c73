/* gemm_check.h: what the GEMM tests (test_kernels.c: float, test_bf16.c: bf16) share: random
 * operands, one product checked against its naive reference element by element, and the
 * suites every path of either precision must pass. Include after test.h. */
#ifndef GEMM_CHECK_H
#define GEMM_CHECK_H

#include "kernels/kernels.h"
#include "util/util.h"

#include <stdint.h>
#include <stdlib.h>

typedef void (*gemm_fn)(int trans_a, int trans_b, int M, int N, int K, float alpha,
                        const float *A, int lda, const float *B, int ldb, float beta, float *C,
                        int ldc);

/* One precision: the packed product, its reference, how the reference sees an input (NULL:
 * as it is) and how a path is forced. */
typedef struct {
    gemm_fn gemm, ref;
    float (*input)(float);
    int (*force)(const char *);
} GemmKind;

static const GemmKind f32_kind = {sgemm, sgemm_naive, NULL, kernels_force_path};
static const GemmKind bf16_kind = {sgemm_bf16, sgemm_bf16_naive, bf16_round,
                                   kernels_force_bf16_path};

/* A path this CPU cannot run is skipped (reported, not failed). */
static int use_path(const GemmKind *kind, const char *path) {
    if (kind->force(path) == 0) return 1;
    fprintf(stderr, "  skip: %s is not supported on this CPU\n", path);
    return 0;
}

static uint32_t rng_state = 12345u;
static float frand(void) { /* uniform in [-1, 1) */
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / 8388608.0f - 1.0f;
}
static void fill(float *x, size_t n) { for (size_t i = 0; i < n; i++) x[i] = frand(); }

/* Runs one product on matrices stored with `pad` extra columns, compares every element with
 * the reference within 1e-5 * sqrt(K) of the magnitude of the terms, and checks that the
 * padding columns of C were not written. Returns 1 on a match. */
static int check_gemm(const GemmKind *kind, int ta, int tb, int M, int N, int K, float alpha,
                      float beta, int pad) {
    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb;
    size_t nc = (size_t)M * ldc;
    float *A = xalloc_floats(na), *B = xalloc_floats(nb);
    float *C = xalloc_floats(nc), *R = xalloc_floats(nc), *C0 = xalloc_floats(nc);
    fill(A, na);
    fill(B, nb);
    fill(C0, nc);
    if (beta == 0.0f) /* beta 0 must ignore C entirely, NaN included */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C0[(size_t)i * ldc + j] = NAN;
    memcpy(C, C0, nc * sizeof *C);
    memcpy(R, C0, nc * sizeof *R);
    kind->gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    kind->ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
    int ok = 1;
    for (int i = 0; i < M && ok; i++) {
        for (int j = 0; j < ldc; j++) {
            size_t at = (size_t)i * ldc + j;
            if (j >= N) {
                if (memcmp(&C[at], &C0[at], sizeof *C) != 0) ok = 0;
                continue;
            }
            double scale = beta == 0.0f ? 0.0 : fabs((double)beta * C0[at]);
            for (int k = 0; k < K; k++) {
                float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                if (kind->input) a = kind->input(a), b = kind->input(b);
                scale += fabs(alpha * (double)a * b);
            }
            double tol = 1e-5 * sqrt((double)(K > 0 ? K : 1)) * (scale > 1e-30 ? scale : 1e-30);
            if (!(fabs((double)C[at] - R[at]) <= tol)) ok = 0;
        }
    }
    if (!ok)
        fprintf(stderr, "  mismatch: trans %d%d M=%d N=%d K=%d alpha=%g beta=%g pad=%d\n", ta, tb,
                M, N, K, alpha, beta, pad);
    free(A), free(B), free(C), free(R), free(C0);
    return ok;
}

/* Every size class the blocking treats specially: 1, below/at/above the vector width and
 * the micro-tile sizes (4, 6, 14, 16, 32), multiples and non-multiples of them; odd and
 * even K (bf16 takes k in pairs). */
static __attribute__((unused)) void suite_small_shapes(const GemmKind *kind, const char *path) {
    static const int sizes[] = {1, 2, 7, 15, 16, 17, 33, 63, 65};
    const int ns = (int)(sizeof sizes / sizeof *sizes);
    if (!use_path(kind, path)) return;
    int bad = 0;
    for (int t = 0; t < 4; t++)
        for (int a = 0; a < ns; a++)
            for (int b = 0; b < ns; b++)
                for (int c = 0; c < ns; c++) {
                    int case_no = ((t * ns + a) * ns + b) * ns + c;
                    static const float alphas[] = {1.0f, -0.5f, 2.0f, 1.0f};
                    static const float betas[] = {0.0f, 1.0f, 0.75f, 0.0f};
                    int v = case_no % 4;
                    bad += !check_gemm(kind, t >> 1, t & 1, sizes[a], sizes[b], sizes[c],
                                       alphas[v], betas[v], case_no % 3 == 0 ? 5 : 0);
                }
    CHECK(bad == 0);
}

/* The layer shapes, K deeper than one chunk, M and N wider than one macro-tile, thin
 * dimensions (M = 1, N = 1, K = 1, N = 10), each with several alpha/beta and padding. */
static __attribute__((unused)) void suite_large_shapes(const GemmKind *kind, const char *path) {
    static const int shapes[][3] = {
        {64, 256, 784}, {64, 784, 256}, {256, 784, 64}, {1, 784, 256}, {1, 1, 784},
        {128, 10, 256}, {10, 256, 128}, {37, 1, 300}, {300, 45, 1}, {1100, 20, 300},
        {20, 1100, 300}, {97, 131, 1000}, {530, 33, 129}, {45, 70, 1025}};
    static const float ab[][2] = {{1, 0}, {1, 1}, {-1.5f, 0.5f}};
    if (!use_path(kind, path)) return;
    kernels_set_threads(2);
    int bad = 0, n = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int t = 0; t < 4; t++, n++)
            bad += !check_gemm(kind, t >> 1, t & 1, shapes[s][0], shapes[s][1], shapes[s][2],
                               ab[n % 3][0], ab[n % 3][1], n % 2 ? 3 : 0);
    kernels_set_threads(1);
    CHECK(bad == 0);
}

/* Shapes large enough to be threaded (and split differently by 2 and 3 threads) must give
 * memcmp-identical C for 1, 2 and 3 threads, with beta 0 and with beta 1 accumulation. */
static __attribute__((unused)) void suite_thread_invariance(const GemmKind *kind, const char *path) {
    static const int shapes[][3] = {
        {64, 256, 784}, {128, 1024, 784}, {128, 784, 1024}, {256, 784, 128},
        {1, 1024, 784}, {131, 97, 1000}, {600, 70, 300}, {45, 1500, 200}};
    if (!use_path(kind, path)) return;
    int bad = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        for (int t = 0; t < 4; t++) {
            int ta = t >> 1, tb = t & 1;
            size_t na = (size_t)M * K, nb = (size_t)K * N, nc = (size_t)M * N;
            float *A = xalloc_floats(na), *B = xalloc_floats(nb), *C0 = xalloc_floats(nc);
            float *C[3];
            fill(A, na), fill(B, nb), fill(C0, nc);
            float beta = (s + t) % 2 ? 1.0f : 0.0f;
            for (int th = 1; th <= 3; th++) {
                C[th - 1] = xalloc_floats(nc);
                memcpy(C[th - 1], C0, nc * sizeof *C0);
                kernels_set_threads(th);
                kind->gemm(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, beta, C[th - 1], N);
            }
            if (memcmp(C[0], C[1], nc * sizeof *C0) != 0 ||
                memcmp(C[0], C[2], nc * sizeof *C0) != 0) {
                bad++;
                fprintf(stderr, "  thread-dependent bits: %s trans %d%d %dx%dx%d\n", path, ta,
                        tb, M, N, K);
            }
            free(A), free(B), free(C0), free(C[0]), free(C[1]), free(C[2]);
        }
    }
    kernels_set_threads(1);
    CHECK(bad == 0);
}

#endif
