/* gemm_x86.h: what the AVX-512 GEMM paths (gemm_x86.c, gemm_bf16_x86.c) share: lane masks,
 * the in-register 16 x 16 transpose, and the start and end of a 14 x 32 micro-tile, whose
 * accumulators are float in both paths. */
#ifndef GEMM_X86_H
#define GEMM_X86_H

#include <immintrin.h>
#include <stddef.h>

#define T512 __attribute__((target("avx512f")))
#define INLINE static inline __attribute__((always_inline))

#define MR512 14
#define NR512 32

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int iclamp(int x, int lo, int hi) { return x < lo ? lo : x > hi ? hi : x; }

INLINE T512 __mmask16 lanes16(int n) {
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n > 0 ? n : 0)) - 1u);
}

/* In-register 16x16 transpose: unpack pairs of rows, then pairs of pairs, then two rounds
 * of 128-bit lane shuffles. r[i] holds row i on entry and column i on exit. */
INLINE T512 void transpose16(__m512 r[16]) {
    __m512 a[16], b[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
        __m512d x0 = _mm512_castps_pd(a[4 * q]), x1 = _mm512_castps_pd(a[4 * q + 1]);
        __m512d x2 = _mm512_castps_pd(a[4 * q + 2]), x3 = _mm512_castps_pd(a[4 * q + 3]);
        b[4 * q] = _mm512_castpd_ps(_mm512_unpacklo_pd(x0, x2));
        b[4 * q + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(x0, x2));
        b[4 * q + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(x1, x3));
        b[4 * q + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(x1, x3));
    }
    /* b[4q + c], 128-bit lane l, now holds rows 4q..4q+3 of column 4l + c */
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        __m512 d0 = _mm512_shuffle_f32x4(b[c], b[4 + c], 0x44);
        __m512 d1 = _mm512_shuffle_f32x4(b[c], b[4 + c], 0xEE);
        __m512 e0 = _mm512_shuffle_f32x4(b[8 + c], b[12 + c], 0x44);
        __m512 e1 = _mm512_shuffle_f32x4(b[8 + c], b[12 + c], 0xEE);
        r[c] = _mm512_shuffle_f32x4(d0, e0, 0x88);
        r[4 + c] = _mm512_shuffle_f32x4(d0, e0, 0xDD);
        r[8 + c] = _mm512_shuffle_f32x4(d1, e1, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(d1, e1, 0xDD);
    }
}

/* Zeroes the accumulators of an mr-row tile and prefetches its rows of C. */
INLINE T512 void tile512_begin(const int mr, __m512 *acc0, __m512 *acc1, float *c, int ldc,
                               int nr) {
#pragma GCC unroll 14
    for (int r = 0; r < MR512; r++) {
        if (r >= mr) break;
        acc0[r] = _mm512_setzero_ps();
        acc1[r] = _mm512_setzero_ps();
        _mm_prefetch((const char *)(c + (size_t)r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (size_t)r * ldc + nr / 2), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (size_t)r * ldc + nr - 1), _MM_HINT_T0);
    }
}

/* c = alpha * acc (beta == 0) or fma(alpha, acc, beta * c), the nr columns of mr rows; nv
 * (1 or 2) is the number of 16-wide vectors of the tile actually computed. */
INLINE T512 void tile512_store(const int mr, const int nv, const __m512 *acc0,
                               const __m512 *acc1, float *c, int ldc, int nr, float alpha,
                               float beta) {
    __mmask16 m0 = lanes16(nr), m1 = lanes16(nr - 16);
    __m512 va = _mm512_set1_ps(alpha);
    if (beta == 0.0f) {
#pragma GCC unroll 14
        for (int r = 0; r < MR512; r++) {
            if (r >= mr) break;
            float *cr = c + (size_t)r * ldc;
            _mm512_mask_storeu_ps(cr, m0, _mm512_mul_ps(va, acc0[r]));
            if (nv > 1) _mm512_mask_storeu_ps(cr + 16, m1, _mm512_mul_ps(va, acc1[r]));
        }
    } else {
        __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 14
        for (int r = 0; r < MR512; r++) {
            if (r >= mr) break;
            float *cr = c + (size_t)r * ldc;
            __m512 c0 = _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m0, cr));
            _mm512_mask_storeu_ps(cr, m0, _mm512_fmadd_ps(va, acc0[r], c0));
            if (nv > 1) {
                __m512 c1 = _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16));
                _mm512_mask_storeu_ps(cr + 16, m1, _mm512_fmadd_ps(va, acc1[r], c1));
            }
        }
    }
}

/* The switch that instantiates a kernel body once per row count, so that both mr and nv are
 * constants inside it and the accumulators live in registers. */
#define KERNEL512_DISPATCH(body)                                                             \
    switch (mr) {                                                                            \
    case 14: KERNEL512_CASE(body, 14) case 13: KERNEL512_CASE(body, 13)                      \
    case 12: KERNEL512_CASE(body, 12) case 11: KERNEL512_CASE(body, 11)                      \
    case 10: KERNEL512_CASE(body, 10) case 9: KERNEL512_CASE(body, 9)                        \
    case 8: KERNEL512_CASE(body, 8) case 7: KERNEL512_CASE(body, 7)                          \
    case 6: KERNEL512_CASE(body, 6) case 5: KERNEL512_CASE(body, 5)                          \
    case 4: KERNEL512_CASE(body, 4) case 3: KERNEL512_CASE(body, 3)                          \
    case 2: KERNEL512_CASE(body, 2) case 1: KERNEL512_CASE(body, 1)                          \
    default: break;                                                                          \
    }
#define KERNEL512_CASE(body, n)                                                              \
    if (nr > 16) body(n, 2, kc, a, b, c, ldc, nr, alpha, beta);                              \
    else body(n, 1, kc, a, b, c, ldc, nr, alpha, beta);                                      \
    break;

#endif
