/* kernels.h: dense float kernels. All matrices are row-major.
 *
 * Determinism contract: every output element is computed by exactly one thread, and the
 * reduction over the inner dimension k is done in the same order whatever the thread count,
 * so results are bit-identical for any --threads value. */
#ifndef KERNELS_H
#define KERNELS_H

#include <stddef.h>

/* C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C[M,N]
 * op(A) = A (A stored M x K, leading dimension lda) when trans_a == 0,
 *         A^T (A stored K x M) when trans_a == 1; likewise for B (stored K x N or N x K).
 * beta == 0 means C is overwritten (its previous contents, even NaN, are ignored).
 * The three GEMMs of a linear layer y = x W^T + b with W [out,in]:
 *   forward  Y  = X  W^T : sgemm(0,1, B,out,in, 1, X,in, W,in, 0, Y,out)
 *   grad X   dX = dY W   : sgemm(0,0, B,in,out, 1, dY,out, W,in, 0, dX,in)
 *   grad W   dW += dY^T X: sgemm(1,0, out,in,B, 1, dY,out, X,in, 1, dW,in) */
void sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
           const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* The obvious triple loop with a double accumulator: the reference the tests compare to. */
void sgemm_naive(int trans_a, int trans_b, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* y[N] += column sums of X[M,N] (the bias gradient), in a fixed order. */
void col_sum_add(int M, int N, const float *X, int ldx, float *y);

/* Y[M,N] += b[N] broadcast over rows (the bias in the forward pass). */
void add_row_bias(int M, int N, float *Y, int ldy, const float *b);

/* Sets the OpenMP thread count used by every kernel (n <= 0: all cores). */
void kernels_set_threads(int n);
int kernels_get_threads(void);

/* flush = 1: float results below the normal range (|x| < 1.2e-38) become 0 and such inputs
 * read as 0 (x86 MXCSR FTZ + DAZ), in this thread and every worker of the thread team;
 * flush = 0: IEEE gradual underflow (PyTorch's CPU default). Denormals appear in Adam's
 * moments of rarely-active weights, and each operation on one costs about 100 cycles.
 * Call before the first parallel region and after kernels_set_threads. No-op off x86. */
void kernels_set_denormals(int flush);

/* Forces the GEMM path: "avx512", "avx2", "generic", or "auto"/NULL for the best the CPU
 * supports. Returns 0, or -1 (path unchanged) when the name is unknown or unsupported.
 * The environment variable TRAIN_KERNEL does the same for a whole run. */
int kernels_force_path(const char *name);

#endif
