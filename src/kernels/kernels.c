/* kernels.c: the thread team's settings (size, denormal mode), the two bias helpers of a
 * linear layer, and the naive GEMMs the tests compare the packed ones (gemm.c) to. */
#include "kernels/kernels.h"

#include <omp.h>
#include <stdatomic.h>

static int imin(int a, int b) { return a < b ? a : b; }
static int ceil_div(int a, int b) { return (a + b - 1) / b; }

/* Atomics only so that a kernel called from inside someone else's parallel region cannot
 * race on the lazily filled values; relaxed order is enough, each is a lone word. */
static _Atomic int g_threads; /* 0: all cores */
static _Atomic int g_procs;   /* omp_get_num_procs(), cached: it is a system call */

/* ---- threads ----------------------------------------------------------------------------- */
#if defined(__SSE2__)
#include <pmmintrin.h>
static void set_flush_mode(int flush) {
    _MM_SET_FLUSH_ZERO_MODE(flush ? _MM_FLUSH_ZERO_ON : _MM_FLUSH_ZERO_OFF);
    _MM_SET_DENORMALS_ZERO_MODE(flush ? _MM_DENORMALS_ZERO_ON : _MM_DENORMALS_ZERO_OFF);
}
#else
static void set_flush_mode(int flush) { (void)flush; }
#endif

/* New threads inherit the creating thread's MXCSR, but the team may exist already: each of
 * its threads sets its own. */
void kernels_set_denormals(int flush) {
    set_flush_mode(flush);
    #pragma omp parallel num_threads(kernels_get_threads())
    set_flush_mode(flush);
}

void kernels_set_threads(int n) {
    atomic_store_explicit(&g_threads, n > 0 ? n : 0, memory_order_relaxed);
}

int kernels_get_threads(void) {
    int n = atomic_load_explicit(&g_threads, memory_order_relaxed);
    if (n > 0) return n;
    n = atomic_load_explicit(&g_procs, memory_order_relaxed);
    if (n > 0) return n;
    n = omp_get_num_procs();
    if (n < 1) n = 1;
    atomic_store_explicit(&g_procs, n, memory_order_relaxed);
    return n;
}

/* ---- naive references ---------------------------------------------------------------- */
static void naive(int bf16, int trans_a, int trans_b, int M, int N, int K, float alpha,
                  const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < K; k++) {
                float a = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                if (bf16) a = bf16_round(a), b = bf16_round(b);
                s += (double)a * b;
            }
            float *c = C + (size_t)i * ldc + j;
            *c = beta == 0.0f ? (float)(alpha * s) : (float)(alpha * s + (double)beta * *c);
        }
    }
}

void sgemm_naive(int trans_a, int trans_b, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    naive(0, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm_bf16_naive(int trans_a, int trans_b, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc) {
    naive(1, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* ---- bias helpers ------------------------------------------------------------------------
 * Both are threaded over disjoint output ranges only, and each column is summed top to
 * bottom, so they too are bit-identical for any thread count. The inner loops are marked
 * simd: GCC's -O2 cost model leaves loops of unknown length that may alias scalar (8x
 * slower here), and lane-wise they are the same additions in the same order. Below
 * BIAS_PAR_MIN elements they run on the calling thread without entering a parallel region. */
#define BIAS_PAR_MIN (1 << 18)
#define COL_BLOCK 256

/* y[j0, j0 + n) += the column sums of X's columns [j0, j0 + n), n <= COL_BLOCK */
static void col_sum_block(int M, int j0, int n, const float *X, int ldx, float *y) {
    float s[COL_BLOCK];
#pragma omp simd
    for (int j = 0; j < n; j++) s[j] = 0.0f;
    for (int i = 0; i < M; i++) {
        const float *x = X + (size_t)i * ldx + j0;
#pragma omp simd
        for (int j = 0; j < n; j++) s[j] += x[j];
    }
#pragma omp simd
    for (int j = 0; j < n; j++) y[j0 + j] += s[j];
}

void col_sum_add(int M, int N, const float *X, int ldx, float *y) {
    int blocks = ceil_div(N, COL_BLOCK);
    if ((double)M * N < BIAS_PAR_MIN || blocks == 1) {
        for (int blk = 0; blk < blocks; blk++)
            col_sum_block(M, blk * COL_BLOCK, imin(COL_BLOCK, N - blk * COL_BLOCK), X, ldx, y);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(kernels_get_threads())
    for (int blk = 0; blk < blocks; blk++)
        col_sum_block(M, blk * COL_BLOCK, imin(COL_BLOCK, N - blk * COL_BLOCK), X, ldx, y);
}

static void add_bias_row(int N, float *y, const float *b) {
#pragma omp simd
    for (int j = 0; j < N; j++) y[j] += b[j];
}

void add_row_bias(int M, int N, float *Y, int ldy, const float *b) {
    if ((double)M * N < BIAS_PAR_MIN || M == 1) {
        for (int i = 0; i < M; i++) add_bias_row(N, Y + (size_t)i * ldy, b);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(kernels_get_threads())
    for (int i = 0; i < M; i++) add_bias_row(N, Y + (size_t)i * ldy, b);
}
