/* gemm_x86.c: the AVX-512 and AVX2/FMA micro-kernels and packers for gemm.c.
 *
 * Every function carries its own target attribute, so this file compiles for any x86-64
 * baseline; gemm.c only calls into a path after __builtin_cpu_supports said yes.
 *
 * Micro-kernels are register-blocked outer products: per k step one row of the packed B
 * panel (nr floats = 2 vectors) is loaded, each of the mr packed A values is broadcast, and
 * mr x 2 vector accumulators take one FMA each. AVX-512: 14 x 32 uses 28 of the 32 zmm
 * registers for accumulators, leaving 2 for B and 1 for the broadcast; per k step that is 28
 * FMAs against 16 loads, so the two FMA ports, not the load ports, set the pace. AVX2: 6 x 16
 * (12 of 16 ymm registers), the same shape of argument.
 *
 * Edges: the packers zero-fill the missing rows of a panel, so a kernel always accumulates a
 * full-width tile; a short tile (mr below the maximum) uses a copy of the kernel specialised
 * for that mr, and a narrow tile (nr below the maximum) masks its loads and stores of C. The
 * FMA sequence applied to any one element is the same in every variant. */
#include "kernels/gemm_kernels.h"

#ifdef GEMM_HAVE_X86
#include "kernels/gemm_x86.h"

#include <stdint.h>

#define T256 __attribute__((target("avx2,fma")))

/* ------------------------------------------------------------------------------------------
 * AVX-512 */
/* Masked loads never touch memory outside the matrix and read zeros for missing rows or k,
 * so one loop handles full and edge panels alike. Panels are at most 32 wide (mr 14, nr 32).
 * The k-contiguous case transposes 16 x 16 blocks in registers. The other case copies one
 * panel row per k from rows ld apart, a stride the hardware prefetchers do not follow across
 * pages, hence the software prefetch a few rows ahead. */
static T512 void pack512(const float *src, int ld, int kcontig, int rows, int kc, int w,
                         float *dst) {
    for (int p = 0; p < rows; p += w) {
        int pr = imin(w, rows - p);
        float *d = dst + (size_t)p * kc;
        if (!kcontig) {
            /* w <= 32: one row of the panel is at most two vectors, read side by side */
            __mmask16 st0 = lanes16(w), st1 = lanes16(w - 16);
            __mmask16 ld0 = lanes16(pr), ld1 = lanes16(pr - 16);
            const float *s = src + p;
            for (int k = 0; k < kc; k++, s += ld, d += w) {
                if (k + 8 < kc) _mm_prefetch((const char *)(s + 8 * (size_t)ld), _MM_HINT_T0);
                _mm512_mask_storeu_ps(d, st0, _mm512_maskz_loadu_ps(ld0, s));
                if (w > 16) _mm512_mask_storeu_ps(d + 16, st1, _mm512_maskz_loadu_ps(ld1, s + 16));
            }
            continue;
        }
        for (int g = 0; g < w; g += 16) {
            __mmask16 st = lanes16(w - g);
            int valid = iclamp(pr - g, 0, 16);
            const float *s = src + (size_t)(p + g) * ld;
            for (int k0 = 0; k0 < kc; k0 += 16) {
                int kl = imin(16, kc - k0);
                __mmask16 km = lanes16(kl);
                __m512 r[16];
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++)
                    r[i] = i < valid ? _mm512_maskz_loadu_ps(km, s + (size_t)i * ld + k0)
                                     : _mm512_setzero_ps();
                transpose16(r);
#pragma GCC unroll 16
                for (int k = 0; k < kl; k++)
                    _mm512_mask_storeu_ps(d + (size_t)(k0 + k) * w + g, st, r[k]);
            }
        }
    }
}

/* Instantiated once per (mr, nv) with both constant, so the accumulators live in registers.
 * The row loops run to the fixed MR512 and break at mr: written that way both GCC and clang
 * unroll them completely (clang leaves a loop bounded by mr itself rolled, accumulators in
 * memory). nv (1 or 2) is the number of 16-wide vectors of the tile actually needed: a
 * tile at most 16 wide (the N = 10 output layer) skips the second half instead of
 * computing zeros. */
INLINE T512 void kern512_body(const int mr, const int nv, int kc, const float *a, const float *b,
                              float *c, int ldc, int nr, float alpha, float beta) {
    __m512 acc0[MR512], acc1[MR512];
    tile512_begin(mr, acc0, acc1, c, ldc, nr);
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b), b1 = nv > 1 ? _mm512_load_ps(b + 16) : b0;
#pragma GCC unroll 14
        for (int r = 0; r < MR512; r++) {
            if (r >= mr) break;
            __m512 av = _mm512_set1_ps(a[r]);
            acc0[r] = _mm512_fmadd_ps(av, b0, acc0[r]);
            if (nv > 1) acc1[r] = _mm512_fmadd_ps(av, b1, acc1[r]);
        }
        a += MR512;
        b += NR512;
    }
    tile512_store(mr, nv, acc0, acc1, c, ldc, nr, alpha, beta);
}

static T512 void kernel512(int kc, const float *a, const float *b, float *c, int ldc, int mr,
                           int nr, float alpha, float beta) {
    KERNEL512_DISPATCH(kern512_body)
}

/* kc 256: a 32-wide B micro-panel (32 KB) stays in the 48 KB L1 while the A micro-panels
 * stream past it; mc 512 (36 panels of 14): the packed A block, 504 x 256 floats = 504 KB,
 * stays in the 2 MB L2 while every B panel of the tile sweeps it. nc only bounds the tile
 * width: B is packed one micro-panel at a time. */
const gemm_path gemm_path_avx512 = {"avx512", MR512, NR512, 256, 512, 4096, 1, 1, pack512,
                                    kernel512};

/* ------------------------------------------------------------------------------------------
 * AVX2 + FMA */
#define MR256 6
#define NR256 16

INLINE T256 __m256i lanes8(int n) {
    static const int32_t tab[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(tab + 8 - iclamp(n, 0, 8)));
}

INLINE T256 void transpose8(__m256 r[8]) {
    __m256 a[8], b[8];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        a[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        a[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 2
    for (int q = 0; q < 2; q++) {
        __m256d x0 = _mm256_castps_pd(a[4 * q]), x1 = _mm256_castps_pd(a[4 * q + 1]);
        __m256d x2 = _mm256_castps_pd(a[4 * q + 2]), x3 = _mm256_castps_pd(a[4 * q + 3]);
        b[4 * q] = _mm256_castpd_ps(_mm256_unpacklo_pd(x0, x2));
        b[4 * q + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(x0, x2));
        b[4 * q + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(x1, x3));
        b[4 * q + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(x1, x3));
    }
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        r[c] = _mm256_permute2f128_ps(b[c], b[4 + c], 0x20);
        r[4 + c] = _mm256_permute2f128_ps(b[c], b[4 + c], 0x31);
    }
}

/* As pack512, with the AVX2 mask load/store pair in the part of AVX-512's masked moves, and
 * 8 x 8 transposes; panels are at most 16 wide (mr 6, nr 16). */
static T256 void pack256(const float *src, int ld, int kcontig, int rows, int kc, int w,
                         float *dst) {
    for (int p = 0; p < rows; p += w) {
        int pr = imin(w, rows - p);
        float *d = dst + (size_t)p * kc;
        if (!kcontig) {
            __m256i st0 = lanes8(w), st1 = lanes8(w - 8);
            __m256i ld0 = lanes8(pr), ld1 = lanes8(pr - 8);
            const float *s = src + p;
            for (int k = 0; k < kc; k++, s += ld, d += w) {
                if (k + 8 < kc) _mm_prefetch((const char *)(s + 8 * (size_t)ld), _MM_HINT_T0);
                if (pr == 16 && w == 16) {
                    _mm256_storeu_ps(d, _mm256_loadu_ps(s));
                    _mm256_storeu_ps(d + 8, _mm256_loadu_ps(s + 8));
                    continue;
                }
                _mm256_maskstore_ps(d, st0, _mm256_maskload_ps(s, ld0));
                if (w > 8) _mm256_maskstore_ps(d + 8, st1, _mm256_maskload_ps(s + 8, ld1));
            }
            continue;
        }
        for (int g = 0; g < w; g += 8) {
            __m256i st = lanes8(w - g);
            int valid = iclamp(pr - g, 0, 8);
            const float *s = src + (size_t)(p + g) * ld;
            for (int k0 = 0; k0 < kc; k0 += 8) {
                int kl = imin(8, kc - k0);
                __m256i km = lanes8(kl);
                __m256 r[8];
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++)
                    r[i] = i < valid ? _mm256_maskload_ps(s + (size_t)i * ld + k0, km)
                                     : _mm256_setzero_ps();
                transpose8(r);
#pragma GCC unroll 8
                for (int k = 0; k < kl; k++)
                    _mm256_maskstore_ps(d + (size_t)(k0 + k) * w + g, st, r[k]);
            }
        }
    }
}

INLINE T256 void kern256_body(const int mr, int kc, const float *a, const float *b, float *c,
                              int ldc, int nr, float alpha, float beta) {
    __m256 acc0[MR256], acc1[MR256];
#pragma GCC unroll 6
    for (int r = 0; r < MR256; r++) {
        if (r >= mr) break;
        acc0[r] = _mm256_setzero_ps();
        acc1[r] = _mm256_setzero_ps();
        _mm_prefetch((const char *)(c + (size_t)r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (size_t)r * ldc + nr - 1), _MM_HINT_T0);
    }
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
        for (int r = 0; r < MR256; r++) {
            if (r >= mr) break;
            __m256 av = _mm256_broadcast_ss(a + r);
            acc0[r] = _mm256_fmadd_ps(av, b0, acc0[r]);
            acc1[r] = _mm256_fmadd_ps(av, b1, acc1[r]);
        }
        a += MR256;
        b += NR256;
    }
    __m256i m0 = lanes8(nr), m1 = lanes8(nr - 8);
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
    for (int r = 0; r < MR256; r++) {
        if (r >= mr) break;
        float *cr = c + (size_t)r * ldc;
        __m256 o0, o1;
        if (beta == 0.0f) {
            o0 = _mm256_mul_ps(va, acc0[r]);
            o1 = _mm256_mul_ps(va, acc1[r]);
        } else if (nr == NR256) {
            o0 = _mm256_fmadd_ps(va, acc0[r], _mm256_mul_ps(vb, _mm256_loadu_ps(cr)));
            o1 = _mm256_fmadd_ps(va, acc1[r], _mm256_mul_ps(vb, _mm256_loadu_ps(cr + 8)));
        } else {
            o0 = _mm256_fmadd_ps(va, acc0[r], _mm256_mul_ps(vb, _mm256_maskload_ps(cr, m0)));
            o1 = _mm256_fmadd_ps(va, acc1[r], _mm256_mul_ps(vb, _mm256_maskload_ps(cr + 8, m1)));
        }
        if (nr == NR256) {
            _mm256_storeu_ps(cr, o0);
            _mm256_storeu_ps(cr + 8, o1);
        } else {
            _mm256_maskstore_ps(cr, m0, o0);
            _mm256_maskstore_ps(cr + 8, m1, o1);
        }
    }
}

static T256 void kernel256(int kc, const float *a, const float *b, float *c, int ldc, int mr,
                           int nr, float alpha, float beta) {
#define CASE(n) case n: kern256_body(n, kc, a, b, c, ldc, nr, alpha, beta); break;
    switch (mr) {
        CASE(6) CASE(5) CASE(4) CASE(3) CASE(2) CASE(1)
        default: break;
    }
#undef CASE
}

/* A 16-wide B micro-panel of 256 rows is 16 KB, half of a typical 32 KB L1; the 384 x 256
 * A block (384 KB) is sized for a 512 KB-1 MB L2. */
const gemm_path gemm_path_avx2 = {"avx2", MR256, NR256, 256, 384, 4096, 1, 1, pack256,
                                  kernel256};

#else
typedef int gemm_x86_unused; /* ISO C wants a non-empty translation unit */
#endif
