/* kernels.c: dense float kernels: a cache-blocked, packed, multi-threaded SGEMM and the two
 * bias helpers of a linear layer.
 *
 * Paths. The micro-kernel and packers come in three flavours: AVX-512 (gemm_x86.c), AVX2+FMA
 * (gemm_x86.c) and portable C (below). The best one the CPU supports is chosen at run time on
 * first use. The environment variable TRAIN_KERNEL=avx512|avx2|generic forces a path (an
 * unsupported or unknown value is reported on stderr and the automatic choice is kept);
 * kernels_force_path() does the same from code, for the tests. Different paths may round
 * differently; within one path the result is bit-identical for every thread count.
 *
 * Blocking (GotoBLAS/BLIS style). C is cut into a grid of macro-tiles, each a whole number
 * of mr x nr micro-tiles and at most about mc x nc. For one tile, the inner dimension is
 * walked in chunks of kc. For each chunk the mc x kc slice of op(A) is packed into mr-tall
 * panels (about 0.5 MB, resident in L2 for the whole chunk); then for each nr-wide column
 * panel of the tile, the kc x nr slice of op(B) is packed (32 KB, resident in L1) and the
 * register-blocked micro-kernel sweeps it against every A panel. Packing absorbs the
 * transposes: the micro-kernel sees one contiguous layout for all four (trans_a, trans_b)
 * combinations, and no caller ever materialises a transposed matrix. Pack buffers are per
 * thread, grown on demand and kept, so a training loop allocates nothing in steady state.
 *
 * Threads. A team forms only when the product M N K is large enough to pay for it. The
 * macro-tiles are then dealt out statically; the grid is chosen for the thread count so
 * the busiest thread has the least work, counting the extra packing smaller tiles cost.
 *
 * Determinism. Threads split the output only: each macro-tile is computed entirely by one
 * thread, and tiles are unions of micro-tiles on one global grid (rows cut at multiples of
 * mr, columns at multiples of nr, from 0). So whatever the thread count, each element is
 * computed by the same micro-kernel call on the same packed data: kc depends on K alone,
 * each chunk is one FMA chain in increasing k, and chunks are folded into C in increasing
 * k as C = alpha * chunk + beta' * C (beta' = beta for the first chunk, then 1). Only the
 * assignment of calls to threads changes, so C is bit-identical for 1, 2, 3... threads,
 * and for the single-threaded small-problem route too. */
#include "kernels/kernels.h"
#include "kernels/gemm_kernels.h"
#include "util/util.h"

#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

/* Below this many multiply-adds a GEMM runs on the calling thread: forking a team costs a
 * few microseconds, about what 2^18 multiply-adds take on one core. */
#define GEMM_PAR_MIN (1 << 18)
/* Relative cost of packing one element, in multiply-adds (one packed element costs roughly
 * 0.3 cycles, in which two 16-wide FMA ports do ~10 multiply-adds); used to weigh grids. */
#define GEMM_PACK_COST 10.0

/* Atomics only so that a kernel called from inside someone else's parallel region cannot
 * race on the lazily filled values; relaxed order is enough, each is a lone word. */
static _Atomic int g_threads; /* 0: all cores */
static _Atomic int g_procs;   /* omp_get_num_procs(), cached: it is a system call */
static _Atomic(const gemm_path *) g_path;

static int imin(int a, int b) { return a < b ? a : b; }
static int ceil_div(int a, int b) { return (a + b - 1) / b; }
static int round_up(int a, int b) { return ceil_div(a, b) * b; }

/* ---- portable path ----------------------------------------------------------------------
 * Plain C the compiler is free to vectorise: every element goes through the same statements
 * (full-width accumulation on zero-padded panels, then one store loop), so whatever the
 * compiler makes of them, it makes the same of every element. Unrolling the 8 x 16 tile
 * fully lets the compiler keep the accumulators in registers (GCC does not at -O2 without
 * the hint, and runs 2x slower). */
#define GEN_MR 8
#define GEN_NR 16

void gemm_pack_ref(const float *src, int ld, int kcontig, int rows, int kc, int w, float *dst) {
    for (int p = 0; p < rows; p += w) {
        int pr = imin(w, rows - p);
        float *d = dst + (size_t)p * kc;
        for (int i = 0; i < w; i++) {
            if (i >= pr) {
                for (int k = 0; k < kc; k++) d[(size_t)k * w + i] = 0.0f;
            } else if (kcontig) {
                const float *s = src + (size_t)(p + i) * ld;
                for (int k = 0; k < kc; k++) d[(size_t)k * w + i] = s[k];
            } else {
                const float *s = src + p + i;
                for (int k = 0; k < kc; k++) d[(size_t)k * w + i] = s[(size_t)k * ld];
            }
        }
    }
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

static const gemm_path gemm_path_generic = {"generic", GEN_MR, GEN_NR, 256, 256, 4096,
                                            gemm_pack_ref, kernel_generic};

/* ---- path selection ---------------------------------------------------------------------- */
static const gemm_path *path_lookup(const char *name) {
    if (strcmp(name, "generic") == 0) return &gemm_path_generic;
#ifdef GEMM_HAVE_X86
    __builtin_cpu_init();
    if (strcmp(name, "avx512") == 0)
        return __builtin_cpu_supports("avx512f") ? &gemm_path_avx512 : NULL;
    if (strcmp(name, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &gemm_path_avx2
                                                                               : NULL;
#endif
    return NULL;
}

static const gemm_path *path_best(void) {
    static const char *const order[] = {"avx512", "avx2"};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        const gemm_path *p = path_lookup(order[i]);
        if (p) return p;
    }
    return &gemm_path_generic;
}

static int path_known(const char *name) {
    return strcmp(name, "avx512") == 0 || strcmp(name, "avx2") == 0 ||
           strcmp(name, "generic") == 0;
}

static const gemm_path *path_current(void) {
    const gemm_path *p = atomic_load_explicit(&g_path, memory_order_relaxed);
    if (p) return p;
    p = path_best();
    const char *env = getenv("TRAIN_KERNEL");
    if (env && *env) {
        const gemm_path *forced = path_lookup(env);
        if (forced)
            p = forced;
        else if (path_known(env))
            warn("TRAIN_KERNEL=%s: not supported by this CPU, using %s", env, p->name);
        else
            warn("TRAIN_KERNEL=%s: unknown (expected avx512, avx2 or generic), using %s", env,
                 p->name);
    }
    atomic_store_explicit(&g_path, p, memory_order_relaxed);
    return p;
}

int kernels_force_path(const char *name) {
    const gemm_path *p = !name || strcmp(name, "auto") == 0 ? path_best() : path_lookup(name);
    if (!p) return -1;
    atomic_store_explicit(&g_path, p, memory_order_relaxed);
    return 0;
}

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

/* One buffer per thread for both packed operands; OpenMP keeps its worker threads alive
 * between regions of the same size, so after the first few calls this never allocates
 * again. (Every region here asks for kernels_get_threads() threads, even when it has fewer
 * tiles than that: libgomp ends surplus workers when a region asks for fewer threads than
 * the previous one, and the next larger region would start new workers with empty buffers.)
 * The buffer is also registered as the thread's C11 thread-specific value, whose destructor
 * frees it if the thread does exit. <threads.h> rather than <pthread.h>, which includes
 * <sched.h>, and that name belongs to this project's src/sched.h in builds using -Isrc. */
static _Thread_local float *tls_buf;
static _Thread_local size_t tls_cap;
static tss_t buf_key;
static once_flag buf_key_once = ONCE_FLAG_INIT;

static void buf_key_create(void) {
    if (tss_create(&buf_key, free) != thrd_success) fatal(EXIT_FAIL, "tss_create failed");
}

static float *pack_buffer(size_t n) {
    if (n > tls_cap) {
        call_once(&buf_key_once, buf_key_create);
        size_t cap = n > 2 * tls_cap ? n : 2 * tls_cap; /* few steps while warming up */
        free(tls_buf);
        tls_buf = xalloc_floats(cap);
        tls_cap = cap;
        tss_set(buf_key, tls_buf);
    }
    return tls_buf;
}

/* ---- SGEMM driver ------------------------------------------------------------------------ */
typedef struct {
    const gemm_path *p;
    int ta, tb, M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int lda, ldb, ldc;
    int kc;      /* chunk depth */
    int pm, pn;  /* micro-panels along M (of mr rows) and along N (of nr columns) */
    int mt, nt;  /* tile grid: mt x nt macro-tiles */
} gemm_job;

/* Chunks of equal depth (at most the path's kc): 784 becomes 4 x 196 rather than
 * 3 x 256 + 16, so no chunk is so thin that its C update dominates. Depends on K only. */
static int chunk_depth(const gemm_path *p, int K) {
    return ceil_div(K, ceil_div(K, p->kc));
}

/* Macro-tiles are whole numbers of micro-panels, dealt as evenly as possible: tile row r of
 * mt covers panels [r * pm / mt, (r + 1) * pm / mt). The path's mc x nc bounds (from cache
 * sizes) give the coarsest grid; with several threads the grid is refined, weighing the
 * work of the busiest thread against the extra packing smaller tiles bring (A is packed
 * once per tile column, B once per tile row). */
static void plan_tiles(gemm_job *j, int nth) {
    const gemm_path *p = j->p;
    j->pm = ceil_div(j->M, p->mr);
    j->pn = ceil_div(j->N, p->nr);
    int mt0 = ceil_div(j->pm, p->mc / p->mr), nt0 = ceil_div(j->pn, p->nc / p->nr);
    double best = -1;
    j->mt = mt0;
    j->nt = nt0;
    if (nth <= 1) return;
    for (int mt = mt0; mt <= imin(mt0 + 2 * nth, j->pm); mt++) {
        for (int nt = nt0; nt <= imin(nt0 + 2 * nth, j->pn); nt++) {
            double mc = (double)ceil_div(j->pm, mt) * p->mr, nc = (double)ceil_div(j->pn, nt) * p->nr;
            double cost = ceil_div(mt * nt, nth) * (mc * nc + GEMM_PACK_COST * (mc + nc));
            if (best < 0 || cost < best) {
                best = cost;
                j->mt = mt;
                j->nt = nt;
            }
        }
    }
}

static void gemm_tile(const gemm_job *j, int t) {
    const gemm_path *p = j->p;
    int ti = t / j->nt, tj = t % j->nt;
    int i0 = (int)((long)ti * j->pm / j->mt) * p->mr;
    int i1 = imin(j->M, (int)((long)(ti + 1) * j->pm / j->mt) * p->mr);
    int j0 = (int)((long)tj * j->pn / j->nt) * p->nr;
    int j1 = imin(j->N, (int)((long)(tj + 1) * j->pn / j->nt) * p->nr);
    int mc = i1 - i0, nc = j1 - j0;
    size_t a_len = (size_t)round_up(mc, p->mr) * j->kc;
    a_len = (a_len + 15) & ~(size_t)15; /* keeps the B panel 64-byte aligned */
    float *ap = pack_buffer(a_len + (size_t)p->nr * j->kc);
    float *bp = ap + a_len;
    for (int k0 = 0; k0 < j->K; k0 += j->kc) {
        int kb = imin(j->kc, j->K - k0);
        const float *as = j->ta ? j->A + (size_t)k0 * j->lda + i0 : j->A + (size_t)i0 * j->lda + k0;
        p->pack(as, j->lda, !j->ta, mc, kb, p->mr, ap);
        float beta = k0 == 0 ? j->beta : 1.0f;
        /* The A block is reused by every B panel, so it is packed whole (it lives in L2).
         * A B panel is used once per tile, so it is packed just before the sweep over the
         * A panels that uses it, and stays in L1 for the whole sweep. */
        for (int jr = 0; jr < nc; jr += p->nr) {
            int nr = imin(p->nr, nc - jr);
            const float *bs = j->tb ? j->B + (size_t)(j0 + jr) * j->ldb + k0
                                    : j->B + (size_t)k0 * j->ldb + j0 + jr;
            p->pack(bs, j->ldb, j->tb, nr, kb, p->nr, bp);
            float *c = j->C + (size_t)i0 * j->ldc + j0 + jr;
            for (int ir = 0; ir < mc; ir += p->mr)
                p->kernel(kb, ap + (size_t)ir * kb, bp, c + (size_t)ir * j->ldc, j->ldc,
                          imin(p->mr, mc - ir), nr, j->alpha, beta);
        }
    }
}

static void scale_c(int M, int N, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f)
            memset(c, 0, (size_t)N * sizeof *c);
        else if (beta != 1.0f)
            for (int j = 0; j < N; j++) c[j] *= beta;
    }
}

void sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
           const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    gemm_job j = {path_current(), trans_a != 0, trans_b != 0, M, N, K, alpha, beta,
                  A, B, C, lda, ldb, ldc, 0, 0, 0, 0, 0};
    j.kc = chunk_depth(j.p, K);
    int nth = (double)M * N * K < GEMM_PAR_MIN ? 1 : kernels_get_threads();
    plan_tiles(&j, nth);
    int tiles = j.mt * j.nt;
    if (nth <= 1 || tiles <= 1) {
        for (int t = 0; t < tiles; t++) gemm_tile(&j, t);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(nth)
    for (int t = 0; t < tiles; t++) gemm_tile(&j, t);
}

void sgemm_naive(int trans_a, int trans_b, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < K; k++) {
                double a = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                double b = trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += a * b;
            }
            float *c = C + (size_t)i * ldc + j;
            *c = beta == 0.0f ? (float)(alpha * s) : (float)(alpha * s + (double)beta * *c);
        }
    }
}

/* ---- bias helpers ------------------------------------------------------------------------
 * Both are threaded over disjoint output ranges only, and each column is summed top to
 * bottom, so they too are bit-identical for any thread count. */
#define BIAS_PAR_MIN (1 << 18)
#define COL_BLOCK 256

void col_sum_add(int M, int N, const float *X, int ldx, float *y) {
    int blocks = ceil_div(N, COL_BLOCK);
#pragma omp parallel for schedule(static) num_threads(kernels_get_threads()) \
    if ((double)M * N >= BIAS_PAR_MIN && blocks > 1)
    for (int blk = 0; blk < blocks; blk++) {
        int j0 = blk * COL_BLOCK, n = imin(COL_BLOCK, N - j0);
        float s[COL_BLOCK] = {0};
        for (int i = 0; i < M; i++) {
            const float *x = X + (size_t)i * ldx + j0;
            for (int j = 0; j < n; j++) s[j] += x[j];
        }
        for (int j = 0; j < n; j++) y[j0 + j] += s[j];
    }
}

void add_row_bias(int M, int N, float *Y, int ldy, const float *b) {
#pragma omp parallel for schedule(static) num_threads(kernels_get_threads()) \
    if ((double)M * N >= BIAS_PAR_MIN && M > 1)
    for (int i = 0; i < M; i++) {
        float *y = Y + (size_t)i * ldy;
        for (int j = 0; j < N; j++) y[j] += b[j];
    }
}
