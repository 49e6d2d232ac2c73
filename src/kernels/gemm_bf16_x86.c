/* gemm_bf16_x86.c: the AVX512-BF16 micro-kernel and packer for gemm.c's bf16 path.
 *
 * Packing rounds each float to bfloat16 with vcvtne2ps2bf16 (nearest even, below-normal
 * values to zero: bf16_round) and lays k out in pairs, one 4-byte word per (row, pair), even
 * k in the low half: the operand layout of vdpbf16ps, which multiplies the two pairs of each
 * 32-bit lane and adds both products to that lane's float accumulator. The micro-kernel is
 * the float one (14 x 32, 28 accumulators, gemm_x86.c) with the pair of k in the place of
 * one k: per pair one 32-wide row of B (two vectors of pairs) is loaded, each of the 14 A
 * pairs is broadcast, and 28 vdpbf16ps do 896 multiply-adds, twice the float FMA's work per
 * instruction. kc counts values of k: 512 (256 pairs), so a B micro-panel is 32 KB, as the
 * float path's.
 *
 * Every function carries its own target attribute; gemm.c calls into this path only after
 * __builtin_cpu_supports said the CPU has AVX512-BF16 (and the OS the AVX-512 state). */
#include "kernels/gemm_kernels.h"

#ifdef GEMM_HAVE_X86
#include "kernels/gemm_x86.h"

#include <stdint.h>

#define TBF __attribute__((target("avx512f,avx512bw,avx512bf16")))

/* 16 words (bf16(e[j]), bf16(o[j])): the pairs of two rows of k, column by column */
INLINE TBF __m512i pairs_of(__m512 e, __m512 o) {
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10,
                                                25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19,
                                                3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(o, e));
}

/* As pack512 (gemm_x86.c): masked loads read zeros past the matrix, so full and edge panels
 * share one loop. Not k-contiguous: the two rows of a pair are read side by side and
 * interleaved. k-contiguous: 32 values of k of a row convert to 16 pair words in order, and
 * a 16 x 16 transpose of words turns 16 rows of them into 16 panel rows. */
static TBF void packbf512(const float *src, int ld, int kcontig, int rows, int kc, int w,
                          float *dstf) {
    int kg = (kc + 1) / 2;
    for (int p = 0; p < rows; p += w) {
        int pr = imin(w, rows - p);
        int32_t *d = (int32_t *)dstf + (size_t)p * kg;
        if (!kcontig) {
            __mmask16 st0 = lanes16(w), st1 = lanes16(w - 16);
            __mmask16 ld0 = lanes16(pr), ld1 = lanes16(pr - 16);
            const float *s = src + p;
            for (int g = 0; g < kg; g++, s += 2 * (size_t)ld, d += w) {
                int odd = 2 * g + 1 < kc;
                if (2 * g + 8 < kc) _mm_prefetch((const char *)(s + 8 * (size_t)ld), _MM_HINT_T0);
                __m512 e = _mm512_maskz_loadu_ps(ld0, s);
                __m512 o = odd ? _mm512_maskz_loadu_ps(ld0, s + ld) : _mm512_setzero_ps();
                _mm512_mask_storeu_epi32(d, st0, pairs_of(e, o));
                if (w > 16) {
                    e = _mm512_maskz_loadu_ps(ld1, s + 16);
                    o = odd ? _mm512_maskz_loadu_ps(ld1, s + ld + 16) : _mm512_setzero_ps();
                    _mm512_mask_storeu_epi32(d + 16, st1, pairs_of(e, o));
                }
            }
            continue;
        }
        for (int q = 0; q < w; q += 16) {
            __mmask16 st = lanes16(w - q);
            int valid = iclamp(pr - q, 0, 16);
            const float *s = src + (size_t)(p + q) * ld;
            for (int k0 = 0; k0 < kc; k0 += 32) {
                __mmask16 km0 = lanes16(kc - k0), km1 = lanes16(kc - k0 - 16);
                __m512 r[16];
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++) {
                    const float *row = s + (size_t)i * ld + k0;
                    __m512 lo = i < valid ? _mm512_maskz_loadu_ps(km0, row) : _mm512_setzero_ps();
                    __m512 hi = i < valid ? _mm512_maskz_loadu_ps(km1, row + 16) : _mm512_setzero_ps();
                    r[i] = (__m512)_mm512_cvtne2ps_pbh(hi, lo);
                }
                transpose16(r);
                int gl = imin(16, kg - k0 / 2);
#pragma GCC unroll 16
                for (int t = 0; t < gl; t++)
                    _mm512_mask_storeu_ps((float *)(d + (size_t)(k0 / 2 + t) * w + q), st, r[t]);
            }
        }
    }
}

INLINE TBF void kernbf_body(const int mr, const int nv, int kc, const float *a, const float *b,
                            float *c, int ldc, int nr, float alpha, float beta) {
    __m512 acc0[MR512], acc1[MR512];
    tile512_begin(mr, acc0, acc1, c, ldc, nr);
    const int32_t *ap = (const int32_t *)a;
    const int32_t *bp = (const int32_t *)b;
    for (int g = 0; g < (kc + 1) / 2; g++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(bp);
        __m512bh b1 = nv > 1 ? (__m512bh)_mm512_load_si512(bp + 16) : b0;
#pragma GCC unroll 14
        for (int r = 0; r < MR512; r++) {
            if (r >= mr) break;
            __m512bh av = (__m512bh)_mm512_set1_epi32(ap[r]);
            acc0[r] = _mm512_dpbf16_ps(acc0[r], av, b0);
            if (nv > 1) acc1[r] = _mm512_dpbf16_ps(acc1[r], av, b1);
        }
        ap += MR512;
        bp += NR512;
    }
    tile512_store(mr, nv, acc0, acc1, c, ldc, nr, alpha, beta);
}

static TBF void kernelbf512(int kc, const float *a, const float *b, float *c, int ldc, int mr,
                            int nr, float alpha, float beta) {
    KERNEL512_DISPATCH(kernbf_body)
}

const gemm_path gemm_path_avx512bf16 = {"avx512bf16", MR512, NR512, 512, 512, 4096, 2, 1,
                                        packbf512, kernelbf512};

#else
typedef int gemm_bf16_x86_unused; /* ISO C wants a non-empty translation unit */
#endif
