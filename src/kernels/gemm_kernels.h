/* gemm_kernels.h: the instruction-set specific pieces of the packed GEMM in gemm.c.
 *
 * gemm.c owns the blocking, the threading and the choice of path; a path only supplies a
 * micro-kernel and the packing routine that lays operands out the way that micro-kernel
 * reads them. Both operands are packed into "panels" of w rows by kc columns stored k-major,
 * rows past the edge zero-filled, so the micro-kernel always runs a full w-wide loop and
 * never branches on the edge while accumulating. A is packed with w = mr (rows of C), B with
 * w = nr (columns of C, the vector direction).
 *
 * Float paths store one float per (row, k): panel[k * w + i] = X(i, k). bf16 paths take k in
 * groups of two, k = 2g and 2g + 1, rounded to bfloat16: the AVX512-BF16 path as one 4-byte
 * word per (row, group), even k in the low half (what vdpbf16ps reads); the portable
 * emulation as the float layout with k padded to even (two floats per row and group). A
 * missing odd k reads as zero. */
#ifndef GEMM_KERNELS_H
#define GEMM_KERNELS_H

#include <stddef.h>

/* Packs rows [0, rows) x columns [0, kc) of a logical matrix X into ceil(rows / w) panels at
 * dst (64-byte aligned). X(i, k) is src[i * ld + k] when kcontig is 1 (rows are contiguous
 * along k: A untransposed, or B transposed) and src[k * ld + i] otherwise. */
typedef void (*gemm_pack_fn)(const float *src, int ld, int kcontig, int rows, int kc, int w,
                             float *dst);

/* c[0..mr) x [0..nr) (row stride ldc) = alpha * (a-panel x b-panel) + beta * c, over kc
 * values of k; beta == 0 ignores the old contents of c. The accumulation order over k is
 * fixed, and the arithmetic applied to an element does not depend on mr, nr or the tile it
 * falls in, which is what makes the result independent of how the output is split across
 * threads. The final step is alpha * acc when beta == 0, else fma(alpha, acc, beta * c). */
typedef void (*gemm_kernel_fn)(int kc, const float *a, const float *b, float *c, int ldc,
                               int mr, int nr, float alpha, float beta);

typedef struct {
    const char *name;
    int mr, nr;          /* micro-tile: rows of C x columns of C */
    int kc, mc, nc;      /* cache blocking upper bounds (see gemm.c) */
    int kgroup;          /* k values per packed group: 1 (float) or 2 (bf16 pairs) */
    int gwords;          /* 4-byte words one row's group takes in a panel */
    gemm_pack_fn pack;
    gemm_kernel_fn kernel;
} gemm_path;

/* Floats taken by a panel of w rows over kc values of k. */
static inline size_t gemm_panel_floats(const gemm_path *p, int w, int kc) {
    return (size_t)w * (size_t)((kc + p->kgroup - 1) / p->kgroup) * (size_t)p->gwords;
}

/* The portable paths (gemm_generic.c): float, and the exact bf16 emulation. */
extern const gemm_path gemm_path_generic;
extern const gemm_path gemm_path_generic_bf16;

#if defined(__x86_64__) || defined(__i386__)
#define GEMM_HAVE_X86 1
extern const gemm_path gemm_path_avx512;
extern const gemm_path gemm_path_avx2;
extern const gemm_path gemm_path_avx512bf16;
#endif

#endif
