/* gemm_kernels.h: the instruction-set specific pieces of the packed GEMM in kernels.c.
 *
 * kernels.c owns the blocking, the threading and the choice of path; a path only supplies a
 * micro-kernel and the packing routines that lay operands out the way that micro-kernel reads
 * them. Both operands are packed into "panels" of w rows by kc columns stored k-major:
 * panel[k * w + i] = X(i, k), rows past the edge zero-filled, so the micro-kernel always runs
 * a full w-wide loop and never branches on the edge while accumulating. A is packed with
 * w = mr (rows of C), B with w = nr (columns of C, the vector direction). */
#ifndef GEMM_KERNELS_H
#define GEMM_KERNELS_H

/* Packs rows [0, rows) x columns [0, kc) of a logical matrix X into ceil(rows / w) panels of
 * w * kc floats at dst (64-byte aligned). X(i, k) is src[i * ld + k] when kcontig is 1 (rows
 * are contiguous along k: A untransposed, or B transposed) and src[k * ld + i] otherwise. */
typedef void (*gemm_pack_fn)(const float *src, int ld, int kcontig, int rows, int kc, int w,
                             float *dst);

/* c[0..mr) x [0..nr) (row stride ldc) = alpha * (a-panel x b-panel) + beta * c, over kc
 * steps; beta == 0 ignores the old contents of c. The accumulation order over k is fixed,
 * and the arithmetic applied to an element does not depend on mr, nr or the tile it falls
 * in, which is what makes the result independent of how the output is split across threads. */
typedef void (*gemm_kernel_fn)(int kc, const float *a, const float *b, float *c, int ldc,
                               int mr, int nr, float alpha, float beta);

typedef struct {
    const char *name;
    int mr, nr;          /* micro-tile: rows of C x columns of C */
    int kc, mc, nc;      /* cache blocking upper bounds (see kernels.c) */
    gemm_pack_fn pack;
    gemm_kernel_fn kernel;
} gemm_path;

/* The portable scalar packer; SIMD packers fall back to it for odd shapes. */
void gemm_pack_ref(const float *src, int ld, int kcontig, int rows, int kc, int w, float *dst);

#if defined(__x86_64__) || defined(__i386__)
#define GEMM_HAVE_X86 1
extern const gemm_path gemm_path_avx512;
extern const gemm_path gemm_path_avx2;
#endif

#endif
