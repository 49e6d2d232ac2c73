/* gemm.c: the packed, cache-blocked, multi-threaded GEMM behind sgemm, sgemm_bf16 and
 * gemm_run, and the choice of the path that supplies its micro-kernel.
 *
 * Paths. Float: AVX-512 and AVX2+FMA (gemm_x86.c), portable C (gemm_generic.c). bf16:
 * AVX512-BF16 (gemm_bf16_x86.c), portable C emulating it exactly (gemm_generic.c). The best
 * one the CPU supports is chosen at run time on first use. TRAIN_KERNEL=avx512|avx2|generic
 * and TRAIN_KERNEL_BF16=avx512bf16|generic force one (an unsupported or unknown value is
 * reported on stderr and the automatic choice is kept); kernels_force_path() and
 * kernels_force_bf16_path() do the same from code, for the tests. Float paths may round
 * differently from each other; the bf16 paths give the same bits; within one path the
 * result is bit-identical for every thread count.
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
 * The epilogue (bias, ReLU, ReLU gate) is applied to each micro-tile right after its last
 * chunk, while it is in L1.
 *
 * Threads. A team forms only when the products' multiply-adds are many enough to pay for
 * it. Each product gets a share of the threads in proportion to its work and a grid chosen
 * for that share, so the busiest thread has the least work, counting the extra packing
 * smaller tiles cost; the tiles of all products are then dealt out as contiguous runs of
 * about equal cost, one run per thread.
 *
 * Determinism. Threads split the output only: each macro-tile is computed entirely by one
 * thread, and tiles are unions of micro-tiles on one global grid (rows cut at multiples of
 * mr, columns at multiples of nr, from 0). So whatever the thread count, each element is
 * computed by the same micro-kernel call on the same packed data: kc depends on K alone,
 * each chunk is one accumulation chain in increasing k, and chunks are folded into C in
 * increasing k as C = alpha * chunk + beta' * C (beta' = beta for the first chunk, then 1).
 * Only the assignment of calls to threads changes, so C is bit-identical for 1, 2, 3...
 * threads, and for the single-threaded small-problem route too. */
#include "kernels/kernels.h"
#include "kernels/gemm_kernels.h"
#include "util/util.h"

#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

/* Below this many multiply-adds a GEMM runs on the calling thread: forking a team costs a
 * few microseconds, about what 2^18 multiply-adds take on one core. */
#define GEMM_PAR_MIN (1 << 18)
/* Relative cost of packing one element, in multiply-adds (one packed element costs roughly
 * 0.3 cycles, in which two 16-wide FMA ports do ~10 multiply-adds); used to weigh grids. */
#define GEMM_PACK_COST 10.0
/* Products one gemm_run call takes at most (a layer's backward needs two). */
#define GEMM_RUN_MAX 8

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }
static int ceil_div(int a, int b) { return (a + b - 1) / b; }
static int round_up(int a, int b) { return ceil_div(a, b) * b; }

/* ---- path selection ---------------------------------------------------------------------- */
static int cpu_any(void) { return 1; }
#ifdef GEMM_HAVE_X86
static int cpu_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}
static int cpu_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
static int cpu_avx512bf16(void) {
    return cpu_avx512() && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
}
#endif

typedef struct {
    const gemm_path *path;
    int (*supported)(void);
} path_entry;

/* Candidates in order of preference, the portable one last. */
static const path_entry f32_paths[] = {
#ifdef GEMM_HAVE_X86
    {&gemm_path_avx512, cpu_avx512},
    {&gemm_path_avx2, cpu_avx2},
#endif
    {&gemm_path_generic, cpu_any},
};
static const path_entry bf16_paths[] = {
#ifdef GEMM_HAVE_X86
    {&gemm_path_avx512bf16, cpu_avx512bf16},
#endif
    {&gemm_path_generic_bf16, cpu_any},
};

/* One precision's choice. Atomic only so that a kernel called from inside someone else's
 * parallel region cannot race on the lazily filled value; relaxed order is enough. */
typedef struct {
    const char *env;
    const path_entry *list;
    int n;
    _Atomic(const gemm_path *) cur;
    atomic_int named;    /* cur was asked for by name (environment or kernels_force_*) */
} path_set;

static path_set f32_set = {"TRAIN_KERNEL", f32_paths, sizeof f32_paths / sizeof *f32_paths, NULL, 0};
static path_set bf16_set = {"TRAIN_KERNEL_BF16", bf16_paths,
                            sizeof bf16_paths / sizeof *bf16_paths, NULL, 0};

/* The entry named name (or NULL), and whether the CPU runs it. */
static const path_entry *set_find(const path_set *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->list[i].path->name, name) == 0) return &s->list[i];
    return NULL;
}

static const gemm_path *set_best(const path_set *s) {
    for (int i = 0; i < s->n; i++)
        if (s->list[i].supported()) return s->list[i].path;
    return s->list[s->n - 1].path;
}

static const gemm_path *set_current(path_set *s) {
    const gemm_path *p = atomic_load_explicit(&s->cur, memory_order_relaxed);
    if (p) return p;
    p = set_best(s);
    const char *env = getenv(s->env);
    if (env && *env) {
        const path_entry *e = set_find(s, env);
        if (e && e->supported()) {
            p = e->path;
            atomic_store_explicit(&s->named, 1, memory_order_relaxed);
        } else if (e) {
            warn("%s=%s: not supported by this CPU, using %s", s->env, env, p->name);
        } else {
            char names[128] = "";
            for (int i = 0; i < s->n; i++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         i == 0 ? "" : i == s->n - 1 ? " or " : ", ", s->list[i].path->name);
            warn("%s=%s: unknown (expected %s), using %s", s->env, env, names, p->name);
        }
    }
    atomic_store_explicit(&s->cur, p, memory_order_relaxed);
    return p;
}

static int set_force(path_set *s, const char *name) {
    const gemm_path *p = NULL;
    if (!name || strcmp(name, "auto") == 0) {
        p = set_best(s);
    } else {
        const path_entry *e = set_find(s, name);
        if (e && e->supported()) p = e->path;
    }
    if (!p) return -1;
    atomic_store_explicit(&s->named, name && strcmp(name, "auto") != 0, memory_order_relaxed);
    atomic_store_explicit(&s->cur, p, memory_order_relaxed);
    return 0;
}

int kernels_force_path(const char *name) { return set_force(&f32_set, name); }
int kernels_force_bf16_path(const char *name) { return set_force(&bf16_set, name); }
const char *kernels_path(void) { return set_current(&f32_set)->name; }
const char *kernels_bf16_path(void) { return set_current(&bf16_set)->name; }

int kernels_bf16_check(char *err, size_t len) {
    if (set_current(&bf16_set) != &gemm_path_generic_bf16 ||
        atomic_load_explicit(&bf16_set.named, memory_order_relaxed))
        return 0;
    snprintf(err, len, "this CPU has no AVX512-BF16 (or AMX) instructions; use --precision "
             "fp32, or TRAIN_KERNEL_BF16=generic for the exact but slow portable emulation");
    return -1;
}

/* ---- pack buffers -------------------------------------------------------------------------
 * One buffer per thread for both packed operands; OpenMP keeps its worker threads alive
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

/* ---- one product: plan and tiles ---------------------------------------------------------- */
typedef struct {
    const Gemm *g;
    const gemm_path *p;
    int kc;      /* chunk depth */
    int pm, pn;  /* micro-panels along M (of mr rows) and along N (of nr columns) */
    int mt, nt;  /* tile grid: mt x nt macro-tiles */
} gemm_plan;

/* Chunks of equal depth (at most the path's kc, a whole number of k groups): 784 becomes
 * 4 x 196 rather than 3 x 256 + 16, so no chunk is so thin that its C update dominates.
 * Depends on K and the path only. */
static int chunk_depth(const gemm_path *p, int K) {
    return round_up(ceil_div(K, ceil_div(K, p->kc)), p->kgroup);
}

/* Macro-tiles are whole numbers of micro-panels, dealt as evenly as possible: tile row r of
 * mt covers panels [r * pm / mt, (r + 1) * pm / mt). The path's mc x nc bounds (from cache
 * sizes) give the coarsest grid; with several threads the grid is refined, weighing the
 * work of the busiest thread against the extra packing smaller tiles bring (A is packed
 * once per tile column, B once per tile row). */
static void plan_tiles(gemm_plan *j, int nth) {
    const gemm_path *p = j->p;
    j->pm = ceil_div(j->g->M, p->mr);
    j->pn = ceil_div(j->g->N, p->nr);
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

/* Rows [*i0, *i1) and columns [*j0, *j1) of C that tile t covers. */
static void tile_bounds(const gemm_plan *j, int t, int *i0, int *i1, int *j0, int *j1) {
    int ti = t / j->nt, tj = t % j->nt;
    *i0 = (int)((long)ti * j->pm / j->mt) * j->p->mr;
    *i1 = imin(j->g->M, (int)((long)(ti + 1) * j->pm / j->mt) * j->p->mr);
    *j0 = (int)((long)tj * j->pn / j->nt) * j->p->nr;
    *j1 = imin(j->g->N, (int)((long)(tj + 1) * j->pn / j->nt) * j->p->nr);
}

/* The epilogue on rows [i0, i0 + rows) x columns [j0, j0 + cols) of C (see kernels.h). The
 * loops are marked simd for the reason given at kernels.c's bias helpers. */
static void epilogue(const Gemm *g, int i0, int rows, int j0, int cols) {
    const float *bias = g->bias ? g->bias + j0 : NULL;
    for (int i = i0; i < i0 + rows; i++) {
        float *c = g->C + (size_t)i * g->ldc + j0;
        if (bias)
#pragma omp simd
            for (int j = 0; j < cols; j++) c[j] += bias[j];
        if (g->relu)
#pragma omp simd
            for (int j = 0; j < cols; j++) c[j] = c[j] > 0.0f ? c[j] : 0.0f;
        if (g->gate) {
            const float *m = g->gate + (size_t)i * g->ldg + j0;
#pragma omp simd
            for (int j = 0; j < cols; j++) c[j] = m[j] > 0.0f ? c[j] : 0.0f;
        }
    }
}

static int has_epilogue(const Gemm *g) { return g->bias || g->relu || g->gate; }

static void gemm_tile(const gemm_plan *j, int t) {
    const gemm_path *p = j->p;
    const Gemm *g = j->g;
    int i0, i1, j0, j1;
    tile_bounds(j, t, &i0, &i1, &j0, &j1);
    int mc = i1 - i0, nc = j1 - j0, ep = has_epilogue(g);
    size_t a_len = gemm_panel_floats(p, round_up(mc, p->mr), j->kc);
    a_len = (a_len + 15) & ~(size_t)15; /* keeps the B panel 64-byte aligned */
    float *ap = pack_buffer(a_len + gemm_panel_floats(p, p->nr, j->kc));
    float *bp = ap + a_len;
    for (int k0 = 0; k0 < g->K; k0 += j->kc) {
        int kb = imin(j->kc, g->K - k0), last = k0 + kb >= g->K;
        const float *as = g->trans_a ? g->A + (size_t)k0 * g->lda + i0
                                     : g->A + (size_t)i0 * g->lda + k0;
        p->pack(as, g->lda, !g->trans_a, mc, kb, p->mr, ap);
        float beta = k0 == 0 ? g->beta : 1.0f;
        size_t a_panel = gemm_panel_floats(p, p->mr, kb);
        /* The A block is reused by every B panel, so it is packed whole (it lives in L2).
         * A B panel is used once per tile, so it is packed just before the sweep over the
         * A panels that uses it, and stays in L1 for the whole sweep. */
        for (int jr = 0; jr < nc; jr += p->nr) {
            int nr = imin(p->nr, nc - jr);
            const float *bs = g->trans_b ? g->B + (size_t)(j0 + jr) * g->ldb + k0
                                         : g->B + (size_t)k0 * g->ldb + j0 + jr;
            p->pack(bs, g->ldb, g->trans_b, nr, kb, p->nr, bp);
            float *c = g->C + (size_t)i0 * g->ldc + j0 + jr;
            for (int ir = 0; ir < mc; ir += p->mr) {
                int mr = imin(p->mr, mc - ir);
                p->kernel(kb, ap + (size_t)(ir / p->mr) * a_panel, bp, c + (size_t)ir * g->ldc,
                          g->ldc, mr, nr, g->alpha, beta);
                if (last && ep) epilogue(g, i0 + ir, mr, j0 + jr, nr);
            }
        }
    }
}

/* C = beta * C (beta 0: zeros, whatever C held), then the epilogue: the whole product when
 * there is nothing to multiply. */
static void scale_c(const Gemm *g) {
    for (int i = 0; i < g->M; i++) {
        float *c = g->C + (size_t)i * g->ldc;
        if (g->beta == 0.0f)
            memset(c, 0, (size_t)g->N * sizeof *c);
        else if (g->beta != 1.0f)
            for (int j = 0; j < g->N; j++) c[j] *= g->beta;
    }
    if (has_epilogue(g)) epilogue(g, 0, g->M, 0, g->N);
}

/* ---- products in one region --------------------------------------------------------------- */
static double tile_cost(const gemm_plan *j, int t) {
    int i0, i1, j0, j1;
    tile_bounds(j, t, &i0, &i1, &j0, &j1);
    double m = round_up(i1 - i0, j->p->mr), n = round_up(j1 - j0, j->p->nr);
    return (m * n + GEMM_PACK_COST * (m + n)) * j->g->K;
}

void gemm_run(int n, const Gemm *g) {
    gemm_plan plan[GEMM_RUN_MAX];
    double work[GEMM_RUN_MAX], total = 0;
    int np = 0;
    if (n > GEMM_RUN_MAX) fatal(EXIT_FAIL, "gemm_run: %d products, at most %d", n, GEMM_RUN_MAX);
    for (int i = 0; i < n; i++) {
        if (g[i].M <= 0 || g[i].N <= 0) continue;
        if (g[i].K <= 0 || g[i].alpha == 0.0f) {
            scale_c(&g[i]);
            continue;
        }
        const gemm_path *p = set_current(g[i].bf16 ? &bf16_set : &f32_set);
        plan[np] = (gemm_plan){&g[i], p, chunk_depth(p, g[i].K), 0, 0, 0, 0};
        work[np] = (double)g[i].M * g[i].N * g[i].K;
        total += work[np++];
    }
    if (np == 0) return;
    int nth = total < GEMM_PAR_MIN ? 1 : kernels_get_threads();
    /* each product's grid is planned for its share of the threads */
    int tiles = 0;
    for (int i = 0; i < np; i++) {
        int share = nth == 1 ? 1 : imax(1, imin(nth, (int)(nth * work[i] / total + 0.5)));
        plan_tiles(&plan[i], share);
        tiles += plan[i].mt * plan[i].nt;
    }
    if (nth <= 1 || tiles <= 1) {
        for (int i = 0; i < np; i++)
            for (int t = 0; t < plan[i].mt * plan[i].nt; t++) gemm_tile(&plan[i], t);
        return;
    }
    /* Tiles in product order, each thread a contiguous run: tile u goes to the thread whose
     * equal share of the total cost holds the midpoint of u's cost interval. */
    double cost_sum = 0;
    for (int i = 0; i < np; i++)
        for (int t = 0; t < plan[i].mt * plan[i].nt; t++) cost_sum += tile_cost(&plan[i], t);
#pragma omp parallel num_threads(nth)
    {
        int me = omp_get_thread_num(), team = omp_get_num_threads();
        double before = 0;
        for (int i = 0; i < np; i++)
            for (int t = 0; t < plan[i].mt * plan[i].nt; t++) {
                double c = tile_cost(&plan[i], t);
                int owner = imin(team - 1, (int)((before + 0.5 * c) / cost_sum * team));
                before += c;
                if (owner == me) gemm_tile(&plan[i], t);
            }
    }
}

void sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
           const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    Gemm g = {trans_a != 0, trans_b != 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
              0, NULL, 0, NULL, 0};
    gemm_run(1, &g);
}

void sgemm_bf16(int trans_a, int trans_b, int M, int N, int K, float alpha,
                const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    Gemm g = {trans_a != 0, trans_b != 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
              1, NULL, 0, NULL, 0};
    gemm_run(1, &g);
}
