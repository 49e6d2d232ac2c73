/* kernels.h: dense float kernels. All matrices are row-major.
 *
 * Determinism contract: every output element is computed by exactly one thread, and the
 * reduction over the inner dimension k is done in the same order whatever the thread count,
 * so results are bit-identical for any --threads value. This holds for sgemm, sgemm_bf16,
 * gemm_run (whatever products are batched together and whatever epilogue they carry) and
 * the bias helpers. */
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

/* The same product with bfloat16 inputs and float accumulation (mixed precision): every
 * element of op(A) and op(B) is first rounded to bfloat16 by bf16_round, then
 *   C = alpha * bf16(op(A)) bf16(op(B)) + beta * C
 * with the sum over k kept in float. The order is fixed: k is taken in pairs (2p, 2p+1)
 * within chunks whose depth depends on K only, and each pair adds product 2p+1, then product
 * 2p, to the float accumulator, each addition rounded to nearest even and a result whose
 * exact value is below the normal float range flushed to a zero of its sign (whatever the
 * MXCSR says): the arithmetic of x86's vdpbf16ps. Every path does exactly this, so results
 * are bit-identical across paths and thread counts (NaN payloads aside). The arguments,
 * layouts, the beta == 0 rule and the three linear-layer calls are those of sgemm. */
void sgemm_bf16(int trans_a, int trans_b, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* x rounded to the nearest bfloat16 (8 significant bits), ties to even, returned as a float
 * whose low 16 bits are zero; values below the normal range become a zero of their sign,
 * infinities stay, NaN stays NaN (quiet): x86's vcvtne2ps2bf16. */
float bf16_round(float x);

/* The obvious triple loop with a double accumulator: the references the tests compare to
 * (the bf16 one rounds every input with bf16_round first). */
void sgemm_naive(int trans_a, int trans_b, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
void sgemm_bf16_naive(int trans_a, int trans_b, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc);

/* ---- batched products with a fused epilogue --------------------------------------------
 * One Gemm describes one product as the arguments of sgemm / sgemm_bf16 do, plus what to do
 * to each finished element of C while it is still in cache, in this order:
 *   bias: C[i][j] += bias[j]                              (add_row_bias)
 *   relu: C[i][j] = C[i][j] > 0 ? C[i][j] : 0             (a ReLU's forward)
 *   gate: C[i][j] = gate[i * ldg + j] > 0 ? C[i][j] : 0   (a ReLU's backward, gate = its output)
 * Each is exactly the separate operation it replaces, so fusing changes no bit. Zero the
 * members not used (designated initialisers do). */
typedef struct {
    int trans_a, trans_b, M, N, K;
    float alpha;
    const float *A;
    int lda;
    const float *B;
    int ldb;
    float beta;
    float *C;
    int ldc;
    int bf16;            /* 1: sgemm_bf16's arithmetic, 0: sgemm's */
    const float *bias;   /* N floats, or NULL */
    int relu;
    const float *gate;   /* M rows of N, leading dimension ldg, or NULL */
    int ldg;
} Gemm;

/* Computes n independent products in one parallel region: their tiles are dealt out to the
 * threads together, so a layer's two backward products cost one fork and one join and
 * balance each other. No product's C may overlap another's C or any product's inputs. */
void gemm_run(int n, const Gemm *g);

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

/* Forces the float GEMM path: "avx512", "avx2", "generic", or "auto"/NULL for the best the
 * CPU supports. Returns 0, or -1 (path unchanged) when the name is unknown or unsupported.
 * The environment variable TRAIN_KERNEL does the same for a whole run. */
int kernels_force_path(const char *name);

/* The same for sgemm_bf16: "avx512bf16" (AVX512-BF16 dot products) or "generic" (portable
 * C, exact emulation); environment variable TRAIN_KERNEL_BF16. */
int kernels_force_bf16_path(const char *name);

/* 0 when sgemm_bf16 runs on bf16 hardware (AVX512-BF16), or on the portable emulation because
 * it was asked for by name (TRAIN_KERNEL_BF16=generic, kernels_force_bf16_path("generic"));
 * -1 with the reason in err when the CPU lacks the instructions and the emulation would only
 * be the silent fallback (a bf16 run would be far slower than a float one). */
int kernels_bf16_check(char *err, size_t len);

/* The names of the paths sgemm and sgemm_bf16 use now (choosing them if not yet chosen). */
const char *kernels_path(void);
const char *kernels_bf16_path(void);

#endif
