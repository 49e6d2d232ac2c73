/* test_bf16.c: the bf16 GEMM (sgemm_bf16). The rounding against hand-derived values; every
 * path this CPU has (avx512bf16, generic) against the naive reference on bf16-rounded inputs
 * for all transposes, odd shapes, alpha/beta and padding; the paths against each other bit
 * for bit, with values whose products fall below the normal range, under both denormal
 * modes; bit-identity across thread counts; path forcing by name and by TRAIN_KERNEL_BF16. */
#include "test.h"
#include "gemm_check.h"

#include <float.h>
#include <sys/wait.h>
#include <unistd.h>

static uint32_t bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static void test_round(void) {
    CHECK(bf16_round(1.0f) == 1.0f);
    CHECK(bf16_round(-2.5f) == -2.5f);
    /* 8 significant bits: 1 + 2^-8 is halfway between 1 and 1 + 2^-7, ties go to the even 1;
     * 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6, ties go to the even 1 + 2^-6 */
    CHECK(bf16_round(1.0f + 0x1p-8f) == 1.0f);
    CHECK(bf16_round(1.0f + 3 * 0x1p-8f) == 1.0f + 0x1p-6f);
    CHECK(bf16_round(1.0f + 0x1p-8f + 0x1p-20f) == 1.0f + 0x1p-7f);
    CHECK(bf16_round(1.0f + 0x1p-8f - 0x1p-20f) == 1.0f);
    CHECK(bf16_round(3.14159265f) == 3.140625f);      /* 0x4049 */
    CHECK(bf16_round(0.1f) == 0.10009765625f);         /* 0x3dcd */
    CHECK(bits(bf16_round(-0.0f)) == 0x80000000u);
    /* below the normal range: a zero of the same sign */
    CHECK(bits(bf16_round(1e-40f)) == 0x00000000u);
    CHECK(bits(bf16_round(-1e-40f)) == 0x80000000u);
    CHECK(bf16_round(FLT_MIN) == FLT_MIN);
    /* the largest float rounds up past the largest bf16 (0x7f7f), to infinity */
    CHECK(isinf(bf16_round(FLT_MAX)) && bf16_round(FLT_MAX) > 0);
    CHECK(bf16_round(0x1.fep127f) == 0x1.fep127f);
    CHECK(isinf(bf16_round(-INFINITY)) && bf16_round(-INFINITY) < 0);
    CHECK(isnan(bf16_round(NAN)));
    CHECK(isnan(bf16_round(-NAN)));
    /* a signalling NaN whose payload sits only in the dropped bits stays a NaN */
    uint32_t snan = 0x7f800001u;
    float s;
    memcpy(&s, &snan, sizeof s);
    CHECK(isnan(bf16_round(s)));
    for (int i = 0; i < 10000; i++) { /* low 16 bits zero, within half an ulp (2^-8 relative) */
        float x = frand() * 1000.0f, r = bf16_round(x);
        CHECK((bits(r) & 0xffffu) == 0);
        CHECK(fabsf(r - x) <= fabsf(x) * 0x1p-8f);
    }
}

/* Inputs that are not bf16 values: the product must follow the bf16 reference, not the float
 * one (their gap, about 2^-9 of each term, is far above the check's tolerance). */
static void test_inputs_are_rounded(void) {
    float A[3] = {1.0f + 0x1p-8f + 0x1p-12f, 3.0f, 0.1f}, B[3] = {1.0f, 1.0f + 0x1p-10f, 10.0f};
    float C = 0, R = 0;
    sgemm_bf16(0, 0, 1, 1, 3, 1.0f, A, 3, B, 1, 0.0f, &C, 1);
    /* bf16: 1 + 2^-7, 3, 0.10009765625 times 1, 1, 10 */
    R = (1.0f + 0x1p-7f) + 3.0f + 1.0009765625f;
    CHECK(C == R);
    float F = 0;
    sgemm(0, 0, 1, 1, 3, 1.0f, A, 3, B, 1, 0.0f, &F, 1);
    CHECK(F != C);
}

static void test_avx512bf16_small(void) { suite_small_shapes(&bf16_kind, "avx512bf16"); }
static void test_generic_small(void) { suite_small_shapes(&bf16_kind, "generic"); }
static void test_avx512bf16_large(void) { suite_large_shapes(&bf16_kind, "avx512bf16"); }
static void test_generic_large(void) { suite_large_shapes(&bf16_kind, "generic"); }
static void test_avx512bf16_threads(void) { suite_thread_invariance(&bf16_kind, "avx512bf16"); }
static void test_generic_threads(void) { suite_thread_invariance(&bf16_kind, "generic"); }

/* Values over a wide range of magnitudes, with a fraction so small that their products and
 * partial sums fall below the normal range, exactly at its edge, or cancel. */
static void fill_wide(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = frand();
        switch (i % 8) {
        case 0: x[i] = v * 0x1p-63f; break;           /* products near 2^-126 */
        case 1: x[i] = v * 0x1p-70f; break;           /* products below it */
        case 2: x[i] = i % 16 < 8 ? 0x1p-63f : -0x1p-63f; break;
        case 3: x[i] = v * 1e20f; break;
        default: x[i] = v; break;
        }
    }
}

/* The emulation is exact: the generic path gives the AVX512-BF16 path's bits, for every
 * transpose, shapes with odd K and several chunks, with and without flushing denormals. */
static void test_paths_agree(void) {
    static const int shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {64, 256, 784}, {33, 17, 1025},
                                    {14, 32, 512}, {15, 33, 513}, {100, 10, 64}};
    if (kernels_force_bf16_path("avx512bf16") != 0) {
        printf("  avx512bf16: not supported by this CPU, skipped\n");
        return;
    }
    int bad = 0;
    for (int flush = 0; flush <= 1; flush++) {
        kernels_set_denormals(flush);
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (int t = 0; t < 4; t++) {
                int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], ta = t >> 1, tb = t & 1;
                size_t na = (size_t)M * K, nb = (size_t)K * N, nc = (size_t)M * N;
                float *A = xalloc_floats(na), *B = xalloc_floats(nb);
                float *C0 = xalloc_floats(nc), *C1 = xalloc_floats(nc), *C2 = xalloc_floats(nc);
                fill_wide(A, na), fill_wide(B, nb), fill(C0, nc);
                float alpha = t == 3 ? -0.75f : 1.0f, beta = (float)(t & 1);
                memcpy(C1, C0, nc * sizeof *C0);
                memcpy(C2, C0, nc * sizeof *C0);
                kernels_force_bf16_path("avx512bf16");
                sgemm_bf16(ta, tb, M, N, K, alpha, A, ta ? M : K, B, tb ? K : N, beta, C1, N);
                kernels_force_bf16_path("generic");
                sgemm_bf16(ta, tb, M, N, K, alpha, A, ta ? M : K, B, tb ? K : N, beta, C2, N);
                for (size_t i = 0; i < nc; i++)
                    if (bits(C1[i]) != bits(C2[i]) && !(isnan(C1[i]) && isnan(C2[i]))) {
                        if (bad < 5)
                            fprintf(stderr, "  %dx%dx%d trans %d%d flush %d: [%zu] %a vs %a\n",
                                    M, N, K, ta, tb, flush, i, C1[i], C2[i]);
                        bad++;
                    }
                free(A), free(B), free(C0), free(C1), free(C2);
            }
    }
    kernels_set_denormals(0);
    kernels_force_bf16_path("auto");
    CHECK(bad == 0);
}

/* The accumulator's steps as vdpbf16ps takes them, by hand: product 2p+1 first, each sum
 * rounded, a sum below the normal range (even one that rounds up to FLT_MIN) flushed. */
static void test_accumulation_order(void) {
    static const char *paths[] = {"avx512bf16", "generic"};
    for (int p = 0; p < 2; p++) {
        if (kernels_force_bf16_path(paths[p]) != 0) continue;
        /* pairs (k0, k1), (k2, k3), each odd k first; adding half an ulp of 1 (2^-24) ties
         * and goes to the even neighbour: 1 + 2^-24 -> 1, 1 + 2^-23 + 2^-24 -> 1 + 2^-22 */
        float a[4] = {1.0f, 0.0f, 0x1p-23f, 0x1p-24f}, b[4] = {1, 1, 1, 1}, c = 0;
        sgemm_bf16(0, 0, 1, 1, 4, 1.0f, a, 4, b, 1, 0.0f, &c, 1);
        CHECK(c == 1.0f + 0x1p-23f);   /* in k order, or even k first: 1 + 2^-22 */
        float a2[4] = {0.0f, 1.0f, 0x1p-24f, 0x1p-23f};
        sgemm_bf16(0, 0, 1, 1, 4, 1.0f, a2, 4, b, 1, 0.0f, &c, 1);
        CHECK(c == 1.0f + 0x1p-22f);   /* in k order: 1 + 2^-23 */
        /* FLT_MIN - 2^-150 - 2^-150: the first sum's exact value is below the normal
         * range (rounded it would be FLT_MIN), so it is flushed to +0, and 0 - 2^-150 to -0 */
        float x[4] = {-0x1p-75f, -0x1p-75f, 0x1p-63f, 0}, y[4] = {0x1p-75f, 0x1p-75f, 0x1p-63f, 0};
        sgemm_bf16(0, 0, 1, 1, 2, 1.0f, x, 4, y, 1, 0.0f, &c, 1);
        CHECK(bits(c) == 0x80000000u);   /* two tiny products: -0 */
        x[0] = 0x1p-63f, x[1] = -0x1p-75f;
        y[0] = 0x1p-63f, y[1] = 0x1p-75f;
        /* k = 1 first: 0 - 2^-150 -> -0, then -0 + 2^-126 = FLT_MIN */
        sgemm_bf16(0, 0, 1, 1, 2, 1.0f, x, 4, y, 1, 0.0f, &c, 1);
        CHECK(c == FLT_MIN);
        float u[4] = {-0x1p-75f, 0x1p-63f, -0x1p-75f, 0}, v[4] = {0x1p-75f, 0x1p-63f, 0x1p-75f, 0};
        /* pairs (k0, k1) = (-2^-150, 2^-126): 0 + 2^-126 = FLT_MIN, then - 2^-150 is below
         * the normal range before rounding: +0; pair (k2, k3): -2^-150 then 0: -0 */
        sgemm_bf16(0, 0, 1, 1, 3, 1.0f, u, 4, v, 1, 0.0f, &c, 1);
        CHECK(bits(c) == 0x80000000u);
    }
    kernels_force_bf16_path("auto");
}

/* The naive triple loop written in the kernels' order, compared bit for bit: inputs rounded
 * to bf16, k in chunks of the depth gemm.c derives from K alone (at most 512, even),
 * within a chunk the pairs (2p, 2p + 1) in increasing p, product 2p + 1 added first, each sum
 * rounded to float; chunks folded as C = alpha * chunk + beta' * C in one rounding (beta' =
 * beta for the first chunk, then 1; alpha * chunk alone when beta' is 0). The values are
 * those of fill (multiples of 2^-23 in [-1, 1)), so no product or sum nears the bottom of
 * the normal range, where the flush rule (test_accumulation_order) would apply. */
static float ref_in_order(int ta, int tb, int i, int j, int K, float alpha, const float *A,
                          int lda, const float *B, int ldb, float beta, float c) {
    int depth = (K + (K + 511) / 512 - 1) / ((K + 511) / 512);
    depth += depth & 1;
    for (int k0 = 0; k0 < K; k0 += depth) {
        float acc = 0.0f;
        for (int k = k0; k < k0 + depth && k < K; k += 2)
            for (int q = k + 1; q >= k; q--) {
                if (q >= K || q >= k0 + depth) continue;
                float a = bf16_round(ta ? A[(size_t)q * lda + i] : A[(size_t)i * lda + q]);
                float b = bf16_round(tb ? B[(size_t)j * ldb + q] : B[(size_t)q * ldb + j]);
                acc += a * b;   /* a b is exact in float: 8 + 8 significant bits */
            }
        float bk = k0 == 0 ? beta : 1.0f;
        c = bk == 0.0f ? alpha * acc : fmaf(alpha, acc, bk * c);
    }
    return c;
}

static void test_naive_in_kernel_order(void) {
    static const int shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {33, 17, 1025}, {15, 33, 513},
                                    {64, 40, 784}, {3, 70, 1100}};
    static const char *paths[] = {"avx512bf16", "generic"};
    for (int p = 0; p < 2; p++) {
        if (!use_path(&bf16_kind, paths[p])) continue;
        int bad = 0;
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (int t = 0; t < 4; t++) {
                int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], ta = t >> 1, tb = t & 1;
                int lda = ta ? M : K, ldb = tb ? K : N;
                float *A = xalloc_floats((size_t)M * K), *B = xalloc_floats((size_t)K * N);
                float *C = xalloc_floats((size_t)M * N), *C0 = xalloc_floats((size_t)M * N);
                fill(A, (size_t)M * K), fill(B, (size_t)K * N), fill(C0, (size_t)M * N);
                float alpha = t == 2 ? -0.75f : 1.0f, beta = t == 1 ? 0.5f : t == 3 ? 1.0f : 0.0f;
                memcpy(C, C0, sizeof(float) * (size_t)M * N);
                sgemm_bf16(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, N);
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++) {
                        float want = ref_in_order(ta, tb, i, j, K, alpha, A, lda, B, ldb, beta,
                                                  C0[(size_t)i * N + j]);
                        if (bits(want) != bits(C[(size_t)i * N + j]) && bad++ < 5)
                            fprintf(stderr, "  %s %dx%dx%d trans %d%d [%d,%d]: %a, naive %a\n",
                                    paths[p], M, N, K, ta, tb, i, j, C[(size_t)i * N + j], want);
                    }
                free(A), free(B), free(C), free(C0);
            }
        CHECK(bad == 0);
    }
    kernels_force_bf16_path("auto");
}

/* Names: unknown and unsupported refused, generic always there; TRAIN_KERNEL_BF16 read on
 * first use (checked in a child, which starts with no path chosen). */
static void test_force_and_env(void) {
    CHECK(kernels_force_bf16_path("no-such-path") == -1);
    CHECK(kernels_force_bf16_path("avx2") == -1);
    CHECK(kernels_force_bf16_path("generic") == 0);
    CHECK_STR(kernels_bf16_path(), "generic");
    CHECK(kernels_force_bf16_path("auto") == 0);
    __builtin_cpu_init();
    CHECK_STR(kernels_bf16_path(), __builtin_cpu_supports("avx512bf16") ? "avx512bf16" : "generic");
}

static int child_path_is(const char *env, const char *want) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("TRAIN_KERNEL_BF16", env, 1);
        _exit(strcmp(kernels_bf16_path(), want) == 0 ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(void) {
    kernels_set_threads(1);
    /* before anything chooses a path in this process, so the children inherit none */
    __builtin_cpu_init();
    const char *best = __builtin_cpu_supports("avx512bf16") ? "avx512bf16" : "generic";
    int env_generic = child_path_is("generic", "generic");
    int env_unknown = child_path_is("tiles", best);   /* warns, keeps the automatic choice */
    RUN(test_round);
    RUN(test_inputs_are_rounded);
    RUN(test_avx512bf16_small);
    RUN(test_generic_small);
    RUN(test_avx512bf16_large);
    RUN(test_generic_large);
    RUN(test_avx512bf16_threads);
    RUN(test_generic_threads);
    RUN(test_paths_agree);
    RUN(test_accumulation_order);
    RUN(test_naive_in_kernel_order);
    RUN(test_force_and_env);
    test_current_name = "test_env_variable";
    test_current_failed = 0;
    CHECK(env_generic);
    CHECK(env_unknown);
    if (test_current_failed) test_failed++, fprintf(stderr, "FAIL test_env_variable\n");
    else test_passed++, fprintf(stderr, "ok   test_env_variable\n");
    return test_summary();
}
