/* test_kernels.c: sgemm against sgemm_naive on every path (avx512, avx2, generic), every
 * transpose combination, alpha/beta cases, padded leading dimensions and odd shapes; the
 * bit-identity of results across thread counts; gemm_run's fused epilogue and batched
 * products against the separate operations; and the bias helpers against plain loops. */
#include "test.h"
#include "gemm_check.h"

#include <omp.h>

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
    CHECK_STR(kernels_path(), "generic");
    CHECK(kernels_force_path("auto") == 0);
    CHECK(kernels_force_path(NULL) == 0);
    kernels_set_threads(3);
    CHECK(kernels_get_threads() == 3);
    kernels_set_threads(0);
    CHECK(kernels_get_threads() >= 1);
    kernels_set_threads(1);
}

static void test_avx512_small(void) { suite_small_shapes(&f32_kind, "avx512"); }
static void test_avx2_small(void) { suite_small_shapes(&f32_kind, "avx2"); }
static void test_generic_small(void) { suite_small_shapes(&f32_kind, "generic"); }
static void test_avx512_large(void) { suite_large_shapes(&f32_kind, "avx512"); }
static void test_avx2_large(void) { suite_large_shapes(&f32_kind, "avx2"); }
static void test_generic_large(void) { suite_large_shapes(&f32_kind, "generic"); }
static void test_avx512_threads(void) { suite_thread_invariance(&f32_kind, "avx512"); }
static void test_avx2_threads(void) { suite_thread_invariance(&f32_kind, "avx2"); }
static void test_generic_threads(void) { suite_thread_invariance(&f32_kind, "generic"); }

/* A linear layer's products through gemm_run, with the epilogue fused and the backward pair
 * batched, against the same products made one by one and followed by the separate ops they
 * replace (add_row_bias, a ReLU's forward and backward): memcmp-identical, for 1, 2 and 3
 * threads, float and bf16. The gate holds zeros and negatives; C holds a NaN that ReLU must
 * map to 0 in both. */
static int fused_matches(int bf16, int rows, int in, int out, int threads) {
    gemm_fn gemm = bf16 ? sgemm_bf16 : sgemm;
    size_t nx = (size_t)rows * in, nw = (size_t)out * in, ny = (size_t)rows * out;
    float *X = xalloc_floats(nx), *W = xalloc_floats(nw), *b = xalloc_floats((size_t)out);
    float *dY = xalloc_floats(ny), *gate = xalloc_floats(nx);
    float *Y1 = xalloc_floats(ny), *Y2 = xalloc_floats(ny), *dX1 = xalloc_floats(nx);
    float *dX2 = xalloc_floats(nx), *dW1 = xalloc_floats(nw), *dW2 = xalloc_floats(nw);
    fill(X, nx), fill(W, nw), fill(b, (size_t)out), fill(dY, ny), fill(gate, nx), fill(dW1, nw);
    for (size_t i = 0; i < nx; i += 7) gate[i] = 0.0f;
    memcpy(dW2, dW1, nw * sizeof *dW1);
    X[0] = NAN;
    kernels_set_threads(1);
    gemm(0, 1, rows, out, in, 1.0f, X, in, W, in, 0.0f, Y1, out);
    add_row_bias(rows, out, Y1, out, b);
    for (size_t i = 0; i < ny; i++) Y1[i] = Y1[i] > 0.0f ? Y1[i] : 0.0f;
    gemm(1, 0, out, in, rows, 1.0f, dY, out, X, in, 1.0f, dW1, in);
    gemm(0, 0, rows, in, out, 1.0f, dY, out, W, in, 0.0f, dX1, in);
    for (size_t i = 0; i < nx; i++) dX1[i] = gate[i] > 0.0f ? dX1[i] : 0.0f;
    kernels_set_threads(threads);
    Gemm fwd = {0, 1, rows, out, in, 1.0f, X, in, W, in, 0.0f, Y2, out, .bf16 = bf16,
                .bias = b, .relu = 1};
    gemm_run(1, &fwd);
    Gemm bwd[2] = {{1, 0, out, in, rows, 1.0f, dY, out, X, in, 1.0f, dW2, in, .bf16 = bf16},
                   {0, 0, rows, in, out, 1.0f, dY, out, W, in, 0.0f, dX2, in, .bf16 = bf16,
                    .gate = gate, .ldg = in}};
    gemm_run(2, bwd);
    int ok = memcmp(Y1, Y2, ny * sizeof *Y1) == 0 && memcmp(dX1, dX2, nx * sizeof *dX1) == 0 &&
             memcmp(dW1, dW2, nw * sizeof *dW1) == 0;
    if (!ok)
        fprintf(stderr, "  fused differs: bf16 %d rows %d in %d out %d threads %d\n", bf16,
                rows, in, out, threads);
    free(X), free(W), free(b), free(dY), free(gate), free(Y1), free(Y2);
    free(dX1), free(dX2), free(dW1), free(dW2);
    return ok;
}

static void test_gemm_run_fused(void) {
    static const int shapes[][3] = {{64, 784, 256}, {64, 256, 10}, {37, 45, 29}, {128, 300, 513}};
    int bad = 0;
    for (int bf16 = 0; bf16 <= 1; bf16++)
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (int th = 1; th <= 3; th++)
                bad += !fused_matches(bf16, shapes[s][0], shapes[s][1], shapes[s][2], th);
    kernels_set_threads(1);
    CHECK(bad == 0);
}

/* Nothing to multiply (K = 0): C = beta * C, then the epilogue still applies. */
static void test_gemm_run_empty_product(void) {
    float C[4] = {1, -2, 3, -4}, bias[2] = {0.5f, 0.5f}, gate[4] = {1, 1, 0, 1};
    Gemm g = {0, 0, 2, 2, 0, 1.0f, NULL, 1, NULL, 2, 2.0f, C, 2, .bias = bias, .relu = 1,
              .gate = gate, .ldg = 2};
    gemm_run(1, &g);
    CHECK(C[0] == 2.5f && C[1] == 0.0f && C[2] == 0.0f && C[3] == 0.0f);
}

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
    RUN(test_gemm_run_fused);
    RUN(test_gemm_run_empty_product);
    RUN(test_col_sum_add);
    RUN(test_add_row_bias);
    RUN(test_denormal_modes);
    return test_summary();
}
