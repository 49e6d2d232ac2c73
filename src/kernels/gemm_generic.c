/* gemm_generic.c: the portable GEMM paths, in plain C the compiler is free to vectorise:
 * float, and bf16 as an exact emulation of the AVX512-BF16 arithmetic (for CPUs without
 * those instructions, and as the tests' second opinion on the hardware path).
 *
 * Every element goes through the same statements (full-width accumulation on zero-padded
 * panels, then one store loop), so whatever the compiler makes of them, it makes the same of
 * every element. Unrolling the 8 x 16 tile fully lets the compiler keep the accumulators in
 * registers (GCC does not at -O2 without the hint, and runs 2x slower). */
#include "kernels/gemm_kernels.h"
#include "kernels/kernels.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define GEN_MR 8
#define GEN_NR 16

static int imin(int a, int b) { return a < b ? a : b; }

/* The layout both packers write: panel[k * w + i] = X(i, k) for k in [0, kpad), zeros past
 * the edges (rows past the matrix, k from kc on); round: bf16_round each value. */
static inline void pack_walk(const float *src, int ld, int kcontig, int rows, int kc, int kpad,
                             int w, float *dst, int round) {
    for (int p = 0; p < rows; p += w) {
        int pr = imin(w, rows - p);
        float *d = dst + (size_t)p * kpad;
        for (int i = 0; i < w; i++)
            for (int k = 0; k < kpad; k++) {
                float v = 0.0f;
                if (i < pr && k < kc) {
                    v = kcontig ? src[(size_t)(p + i) * ld + k] : src[(size_t)k * ld + p + i];
                    if (round) v = bf16_round(v);
                }
                d[(size_t)k * w + i] = v;
            }
    }
}

static void pack_ref(const float *src, int ld, int kcontig, int rows, int kc, int w, float *dst) {
    pack_walk(src, ld, kcontig, rows, kc, kc, w, dst, 0);
}

static void kernel_generic(int kc, const float *a, const float *b, float *c, int ldc, int mr,
                           int nr, float alpha, float beta) {
    float acc[GEN_MR][GEN_NR];
    memset(acc, 0, sizeof acc);
    for (int k = 0; k < kc; k++, a += GEN_MR, b += GEN_NR)
#pragma GCC unroll 8
        for (int i = 0; i < GEN_MR; i++)
#pragma GCC unroll 16
            for (int j = 0; j < GEN_NR; j++) acc[i][j] += a[i] * b[j];
    for (int i = 0; i < mr; i++) {
        float *cr = c + (size_t)i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < nr; j++) cr[j] = alpha * acc[i][j];
        else
            for (int j = 0; j < nr; j++) cr[j] = alpha * acc[i][j] + beta * cr[j];
    }
}

const gemm_path gemm_path_generic = {"generic", GEN_MR, GEN_NR, 256, 256, 4096, 1, 1,
                                     pack_ref, kernel_generic};

/* ---- bf16 ---------------------------------------------------------------------------- */
float bf16_round(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7f800000u) == 0)
        u &= 0x80000000u;                         /* zero or below the normal range */
    else if ((u & 0x7fffffffu) > 0x7f800000u)
        u = (u | 0x00400000u) & 0xffff0000u;      /* NaN: quiet, payload truncated */
    else
        u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u; /* to nearest, ties to even */
    memcpy(&x, &u, sizeof x);
    return x;
}

/* The float layout with k padded to even: group g is k = 2g (w floats), then k = 2g + 1. */
static void pack_bf16_ref(const float *src, int ld, int kcontig, int rows, int kc, int w,
                          float *dst) {
    pack_walk(src, ld, kcontig, rows, kc, kc + (kc & 1), w, dst, 1);
}

/* acc + a b rounded to nearest even, flushed to a zero of its sign when the exact value is
 * below the normal range. a and b are bf16 values, so a b is exact in float unless it
 * underflows, and fmaf rounds acc + a b once, with gradual underflow (or with the MXCSR's
 * flush, which decides on the exact value too). Only a result of exactly +-FLT_MIN can hide
 * an exact value just below it; the sign of the residual, exact in double there, tells. */
static float dot_step(float acc, float a, float b) {
    float r = fmaf(a, b, acc);
    float m = fabsf(r);
    if (m > FLT_MIN || m != m) return r;
    if (m < FLT_MIN) return copysignf(0.0f, r);
    double residual = ((double)acc - (double)r) + (double)a * (double)b;
    return (r > 0 ? residual < 0 : residual > 0) ? copysignf(0.0f, r) : r;
}

/* One k of the tile: acc[i][j] = dot_step(acc[i][j], a[i], b[j]). The plain fmaf is the
 * answer unless some result is nonzero and at most FLT_MIN in magnitude (rare); the tile is
 * then redone step by step from the old values. */
static void tile_step(float acc[GEN_MR][GEN_NR], const float *a, const float *b) {
    float next[GEN_MR][GEN_NR];
    int tiny = 0;
    for (int i = 0; i < GEN_MR; i++)
        for (int j = 0; j < GEN_NR; j++) {
            float r = fmaf(a[i], b[j], acc[i][j]);
            tiny |= (fabsf(r) <= FLT_MIN) & (r != 0.0f);
            next[i][j] = r;
        }
    if (tiny)
        for (int i = 0; i < GEN_MR; i++)
            for (int j = 0; j < GEN_NR; j++) next[i][j] = dot_step(acc[i][j], a[i], b[j]);
    memcpy(acc, next, sizeof next);
}

static void kernel_bf16_generic(int kc, const float *a, const float *b, float *c, int ldc,
                                int mr, int nr, float alpha, float beta) {
    float acc[GEN_MR][GEN_NR];
    memset(acc, 0, sizeof acc);
    for (int g = 0; g < (kc + 1) / 2; g++, a += 2 * GEN_MR, b += 2 * GEN_NR) {
        tile_step(acc, a + GEN_MR, b + GEN_NR);   /* k = 2g + 1 first, as vdpbf16ps */
        tile_step(acc, a, b);
    }
    for (int i = 0; i < mr; i++) {
        float *cr = c + (size_t)i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < nr; j++) cr[j] = alpha * acc[i][j];
        else
            for (int j = 0; j < nr; j++) cr[j] = fmaf(alpha, acc[i][j], beta * cr[j]);
    }
}

/* kc and kgroup as the AVX512-BF16 path: the chunking, and so the bits, are the same. */
const gemm_path gemm_path_generic_bf16 = {"generic", GEN_MR, GEN_NR, 512, 256, 4096, 2, 2,
                                          pack_bf16_ref, kernel_bf16_generic};
