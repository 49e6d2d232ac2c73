/* test_kernels.c: sgemm against sgemm_naive on every path (avx512, avx2, generic), every
 * transpose combination, alpha/beta cases, padded leading dimensions and odd shapes; the
 * bit-identity of results across thread counts; and the bias helpers against plain loops. */
#include "kernels/kernels.h"
#include "test.h"

#include <omp.h>
#include "util/util.h"

#include <stdint.h>
#include <stdlib.h>

/* A path this CPU cannot run is skipped (reported, not failed). */
static int use_path(const char *path) {
    if (kernels_force_path(path) == 0) return 1;
    fprintf(stderr, "  skip: %s is not supported on this CPU\n", path);
    return 0;
}

static uint32_t rng_state = 12345u;
static float frand(void) { /* uniform in [-1, 1) */
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / 8388608.0f - 1.0f;
}
static void fill(float *x, size_t n) { for (size_t i = 0; i < n; i++) x[i] = frand(); }

/* Runs one sgemm on matrices stored with `pad` extra columns, compares every element with
 * sgemm_naive within 1e-5 * sqrt(K) of the magnitude of the terms, and checks that the
 * padding columns of C were not written. Returns 1 on a match. */
static int check_gemm(int ta, int tb, int M, int N, int K, float alpha, float beta, int pad) {
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
    sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    sgemm_naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
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
                double a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                double b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                scale += fabs(alpha * a * b);
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
 * the micro-tile sizes (4, 6, 14, 16, 32), multiples and non-multiples of them. */
static void suite_small_shapes(const char *path) {
    static const int sizes[] = {1, 7, 15, 16, 17, 33, 63, 65};
    const int ns = (int)(sizeof sizes / sizeof *sizes);
    if (!use_path(path)) return;
    int bad = 0;
    for (int t = 0; t < 4; t++)
        for (int a = 0; a < ns; a++)
            for (int b = 0; b < ns; b++)
                for (int c = 0; c < ns; c++) {
                    int case_no = ((t * ns + a) * ns + b) * ns + c;
                    static const float alphas[] = {1.0f, -0.5f, 2.0f, 1.0f};
                    static const float betas[] = {0.0f, 1.0f, 0.75f, 0.0f};
                    int v = case_no % 4;
                    bad += !check_gemm(t >> 1, t & 1, sizes[a], sizes[b], sizes[c], alphas[v],
                                       betas[v], case_no % 3 == 0 ? 5 : 0);
                }
    CHECK(bad == 0);
}

/* The layer shapes, K deeper than one chunk, M and N wider than one macro-tile, thin
 * dimensions (M = 1, N = 1, K = 1, N = 10), each with several alpha/beta and padding. */
static void suite_large_shapes(const char *path) {
    static const int shapes[][3] = {
        {64, 256, 784}, {64, 784, 256}, {256, 784, 64}, {1, 784, 256}, {1, 1, 784},
        {128, 10, 256}, {10, 256, 128}, {37, 1, 300}, {300, 45, 1}, {1100, 20, 300},
        {20, 1100, 300}, {97, 131, 1000}, {530, 33, 129}};
    static const float ab[][2] = {{1, 0}, {1, 1}, {-1.5f, 0.5f}};
    if (!use_path(path)) return;
    kernels_set_threads(2);
    int bad = 0, n = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int t = 0; t < 4; t++, n++)
            bad += !check_gemm(t >> 1, t & 1, shapes[s][0], shapes[s][1], shapes[s][2],
                               ab[n % 3][0], ab[n % 3][1], n % 2 ? 3 : 0);
    kernels_set_threads(1);
    CHECK(bad == 0);
}

/* alpha 0 and K 0 leave beta * C; beta 0 then zeroes C even where it held NaN. */
static void test_degenerate(void) {
    float A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, 1, 1, 1, 1, 1};
    float C[4] = {1, 2, 3, 4};
    sgemm(0, 0, 2, 2, 3, 0.0f, A, 3, B, 2, 2.0f, C, 2);
    CHECK(C[0] == 2 && C[1] == 4 && C[2] == 6 && C[3] == 8);
    sgemm(0, 0, 2, 2, 0, 1.0f, A, 3, B, 2, 0.5f, C, 2);
    CHECK(C[0] == 1 && C[1] == 2 && C[2] == 3 && C[3] == 4);
    C[0] = NAN;
    sgemm(0, 0, 2, 2, 0, 1.0f, A, 3, B, 2, 0.0f, C, 2);
    CHECK(C[0] == 0 && C[3] == 0);
    sgemm(0, 0, 0, 2, 3, 1.0f, A, 3, B, 2, 0.0f, C, 2); /* M = 0: nothing happens */
    CHECK(C[0] == 0);
}

static void test_force_path(void) {
    CHECK(kernels_force_path("no-such-path") == -1);
    CHECK(kernels_force_path("generic") == 0);
    CHECK(kernels_force_path("auto") == 0);
    CHECK(kernels_force_path(NULL) == 0);
    kernels_set_threads(3);
    CHECK(kernels_get_threads() == 3);
    kernels_set_threads(0);
    CHECK(kernels_get_threads() >= 1);
    kernels_set_threads(1);
}

/* Shapes large enough to be threaded (and split differently by 2 and 3 threads) must give
 * memcmp-identical C for 1, 2 and 3 threads, with beta 0 and with beta 1 accumulation. */
static void suite_thread_invariance(const char *path) {
    static const int shapes[][3] = {
        {64, 256, 784}, {128, 1024, 784}, {128, 784, 1024}, {256, 784, 128},
        {1, 1024, 784}, {131, 97, 1000}, {600, 70, 300}, {45, 1500, 200}};
    if (!use_path(path)) return;
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
                sgemm(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, beta, C[th - 1], N);
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

static void test_avx512_small(void) { suite_small_shapes("avx512"); }
static void test_avx2_small(void) { suite_small_shapes("avx2"); }
static void test_generic_small(void) { suite_small_shapes("generic"); }
static void test_avx512_large(void) { suite_large_shapes("avx512"); }
static void test_avx2_large(void) { suite_large_shapes("avx2"); }
static void test_generic_large(void) { suite_large_shapes("generic"); }
static void test_avx512_threads(void) { suite_thread_invariance("avx512"); }
static void test_avx2_threads(void) { suite_thread_invariance("avx2"); }
static void test_generic_threads(void) { suite_thread_invariance("generic"); }

static void test_col_sum_add(void) {
    static const int shapes[][2] = {{1, 1}, {7, 300}, {64, 10}, {600, 1000}, {3, 513}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int M = shapes[s][0], N = shapes[s][1], ldx = N + 3;
        float *X = xalloc_floats((size_t)M * ldx), *y0 = xalloc_floats((size_t)N);
        float *y[3];
        fill(X, (size_t)M * ldx), fill(y0, (size_t)N);
        for (int th = 1; th <= 3; th++) {
            y[th - 1] = xalloc_floats((size_t)N);
            memcpy(y[th - 1], y0, (size_t)N * sizeof *y0);
            kernels_set_threads(th);
            col_sum_add(M, N, X, ldx, y[th - 1]);
        }
        for (int j = 0; j < N; j++) {
            double ref = y0[j];
            for (int i = 0; i < M; i++) ref += X[(size_t)i * ldx + j];
            CHECK_NEAR(y[0][j], ref, 1e-5 * (M + 1));
        }
        CHECK(memcmp(y[0], y[1], (size_t)N * sizeof *y0) == 0);
        CHECK(memcmp(y[0], y[2], (size_t)N * sizeof *y0) == 0);
        free(X), free(y0), free(y[0]), free(y[1]), free(y[2]);
    }
    kernels_set_threads(1);
}

static void test_add_row_bias(void) {
    static const int shapes[][2] = {{1, 1}, {7, 300}, {64, 10}, {600, 1000}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int M = shapes[s][0], N = shapes[s][1], ldy = N + 2;
        float *Y = xalloc_floats((size_t)M * ldy), *Y0 = xalloc_floats((size_t)M * ldy);
        float *b = xalloc_floats((size_t)N);
        fill(Y0, (size_t)M * ldy), fill(b, (size_t)N);
        memcpy(Y, Y0, (size_t)M * ldy * sizeof *Y);
        kernels_set_threads(2);
        add_row_bias(M, N, Y, ldy, b);
        int bad = 0;
        for (int i = 0; i < M; i++)
            for (int j = 0; j < ldy; j++) {
                size_t at = (size_t)i * ldy + j;
                float want = j < N ? Y0[at] + b[j] : Y0[at];
                bad += memcmp(&Y[at], &want, sizeof want) != 0;
            }
        CHECK(bad == 0);
        free(Y), free(Y0), free(b);
    }
    kernels_set_threads(1);
}

/* --denormals: with flush on, a denormal input reads as 0 and a result below the normal range
 * becomes 0, in the calling thread and in every thread of the team; with it off, IEEE
 * gradual underflow keeps them. */
static void test_denormal_modes(void) {
    volatile float tiny = 1e-39f, half_min = 1.17549435e-38f;
    int flushed[8] = {0}, threads = 0;
    kernels_set_threads(2);
    kernels_set_denormals(1);
    CHECK(tiny * 1.0f == 0.0f);
    CHECK(half_min * 0.5f == 0.0f);
    #pragma omp parallel num_threads(kernels_get_threads())
    {
        int id = omp_get_thread_num();
        if (id < 8) flushed[id] = tiny * 1.0f == 0.0f;
        #pragma omp atomic
        threads++;
    }
    for (int i = 0; i < threads && i < 8; i++) CHECK(flushed[i]);
    kernels_set_denormals(0);
    CHECK(tiny * 1.0f != 0.0f);
    CHECK(half_min * 0.5f != 0.0f);
    #pragma omp parallel num_threads(kernels_get_threads())
    {
        int id = omp_get_thread_num();
        if (id < 8) flushed[id] = tiny * 1.0f == 0.0f;
    }
    for (int i = 0; i < threads && i < 8; i++) CHECK(!flushed[i]);
    kernels_set_threads(0);
}

int main(void) {
    kernels_set_threads(1);
    RUN(test_degenerate);
    RUN(test_force_path);
    RUN(test_avx512_small);
    RUN(test_avx2_small);
    RUN(test_generic_small);
    RUN(test_avx512_large);
    RUN(test_avx2_large);
    RUN(test_generic_large);
    RUN(test_avx512_threads);
    RUN(test_avx2_threads);
    RUN(test_generic_threads);
    RUN(test_col_sum_add);
    RUN(test_add_row_bias);
    RUN(test_denormal_modes);
    return test_summary();
}
