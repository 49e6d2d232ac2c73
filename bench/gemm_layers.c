/* gemm_layers.c: the GEMMs of one training step of an MLP, timed alone, in float (sgemm) and
 * in bf16 (sgemm_bf16): per layer the forward Y = X W^T, the weight gradient dW = dY^T X and
 * the input gradient dX = dY W (none for the first layer, whose input is the data), as the
 * trainer calls them. Each product is repeated for about 0.1 s, best of 5.
 *   gemm_layers SIZES BATCH THREADS [bf16]   e.g. gemm_layers 784-1024-1024-10 128 2
 * prints one line per product (shape, microseconds, GFLOP/s) and a total line
 *   total US GFLOPS
 * in microseconds per step and GFLOP/s over the step's products.
 *   gemm_layers SIZES BATCH THREADS fused
 * times every Linear and ReLU op of a step, forward and backward, with their bias terms, two
 * ways: as separate calls (sgemm, add_row_bias, a ReLU loop; the ReLU's backward, two sgemm,
 * col_sum_add) and through gemm_run (bias and ReLU in the forward product's epilogue; the
 * backward pair in one call, the ReLU's backward as the input gradient's gate); prints
 *   separate US fused US */
#include "kernels/kernels.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 16

static double best_time(int bf16, int ta, int tb, int M, int N, int K, float beta,
                        const float *A, const float *B, float *C) {
    int lda = ta ? M : K, ldb = tb ? K : N;
    double flops = 2.0 * M * N * K, best = 1e30;
    int reps = (int)(2e10 / 200e9 / (flops / 1e9 > 1e-3 ? flops / 1e9 : 1e-3)) + 3;
    for (int r = 0; r < 5; r++) {
        double t0 = now_seconds();
        for (int i = 0; i < reps; i++)
            (bf16 ? sgemm_bf16 : sgemm)(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, N);
        double t = (now_seconds() - t0) / reps;
        if (t < best) best = t;
    }
    return best;
}

/* The layers' tensors for the fused comparison: activations a[l] (batch x sizes[l]; a[0] the
 * input), gradients g[l] likewise, weights w[l], biases b[l], their gradients dw[l], db[l]. */
typedef struct {
    int n, batch, sizes[MAX_LAYERS + 1];
    float *a[MAX_LAYERS + 1], *g[MAX_LAYERS + 1], *w[MAX_LAYERS], *b[MAX_LAYERS];
    float *dw[MAX_LAYERS], *db[MAX_LAYERS];
} Net;

static void relu(float *x, long count) {
#pragma omp simd
    for (long i = 0; i < count; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void relu_grad(float *dx, const float *y, long count) {
#pragma omp simd
    for (long i = 0; i < count; i++) dx[i] = y[i] > 0.0f ? dx[i] : 0.0f;
}

/* One step's Linear and ReLU ops (ReLU after every layer but the last), as separate calls or
 * fused; the activations after a ReLU overwrite its input, as the gate only needs them. */
static void step(Net *t, int fused) {
    int B = t->batch;
    for (int l = 0; l + 1 < t->n; l++) {
        int in = t->sizes[l], out = t->sizes[l + 1], act = l + 2 < t->n;
        if (fused) {
            Gemm f = {0, 1, B, out, in, 1.0f, t->a[l], in, t->w[l], in, 0.0f, t->a[l + 1], out,
                      .bias = t->b[l], .relu = act};
            gemm_run(1, &f);
        } else {
            sgemm(0, 1, B, out, in, 1.0f, t->a[l], in, t->w[l], in, 0.0f, t->a[l + 1], out);
            add_row_bias(B, out, t->a[l + 1], out, t->b[l]);
            if (act) relu(t->a[l + 1], (long)B * out);
        }
    }
    for (int l = t->n - 2; l >= 0; l--) {
        int in = t->sizes[l], out = t->sizes[l + 1];
        Gemm p[2] = {{1, 0, out, in, B, 1.0f, t->g[l + 1], out, t->a[l], in, 0.0f, t->dw[l], in,
                      .bf16 = 0},
                     {0, 0, B, in, out, 1.0f, t->g[l + 1], out, t->w[l], in, 0.0f, t->g[l], in,
                      .gate = fused && l > 0 ? t->a[l] : NULL, .ldg = in}};
        if (fused) {
            gemm_run(l > 0 ? 2 : 1, p);
        } else {
            gemm_run(1, &p[0]);
            if (l > 0) {
                gemm_run(1, &p[1]);
                relu_grad(t->g[l], t->a[l], (long)B * in);
            }
        }
        col_sum_add(B, out, t->g[l + 1], out, t->db[l]);
    }
}

static double best_step(Net *t, int fused) {
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        int reps = 0;
        double t0 = now_seconds(), t1;
        do {
            step(t, fused);
            reps++;
        } while ((t1 = now_seconds()) - t0 < 0.1);
        if ((t1 - t0) / reps < best) best = (t1 - t0) / reps;
    }
    return best;
}

static float *filled(size_t n) {
    float *x = xalloc_floats(n);
    for (size_t i = 0; i < n; i++) x[i] = (float)((i * 7) % 13) / 13 - 0.5f;
    return x;
}

static int fused_comparison(const int *sizes, int n, int batch) {
    Net t = {.n = n, .batch = batch};
    memcpy(t.sizes, sizes, sizeof(int) * (size_t)n);
    for (int l = 0; l < n; l++) {
        t.a[l] = filled((size_t)batch * sizes[l]);
        t.g[l] = filled((size_t)batch * sizes[l]);
        if (l + 1 == n) break;
        t.w[l] = filled((size_t)sizes[l] * sizes[l + 1]);
        t.dw[l] = filled((size_t)sizes[l] * sizes[l + 1]);
        t.b[l] = filled((size_t)sizes[l + 1]);
        t.db[l] = filled((size_t)sizes[l + 1]);
    }
    double sep = best_step(&t, 0), fus = best_step(&t, 1);
    printf("separate %.1f fused %.1f\n", sep * 1e6, fus * 1e6);
    for (int l = 0; l < n; l++) {
        free(t.a[l]), free(t.g[l]);
        if (l + 1 < n) free(t.w[l]), free(t.dw[l]), free(t.b[l]), free(t.db[l]);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: gemm_layers SIZES BATCH THREADS [bf16|fused]\n");
        return 2;
    }
    int sizes[MAX_LAYERS + 1], n = 0, batch = atoi(argv[2]);
    int bf16 = argc > 4 && !strcmp(argv[4], "bf16");
    for (char *s = argv[1]; *s && n <= MAX_LAYERS; s++) {
        sizes[n++] = (int)strtol(s, &s, 10);
        if (*s != '-') break;
    }
    kernels_set_threads(atoi(argv[3]));
    kernels_set_denormals(1);
    if (argc > 4 && !strcmp(argv[4], "fused")) return fused_comparison(sizes, n, batch);
    size_t big = 0;
    for (int l = 0; l + 1 < n; l++) {
        int wide = sizes[l] > sizes[l + 1] ? sizes[l] : sizes[l + 1];
        size_t w = (size_t)sizes[l] * sizes[l + 1], x = (size_t)batch * wide;
        if (w > big) big = w;
        if (x > big) big = x;
    }
    float *a = xalloc_floats(big), *b = xalloc_floats(big), *c = xalloc_floats(big);
    for (size_t i = 0; i < big; i++) {
        a[i] = (float)((i * 7) % 13) / 13 - 0.5f;
        b[i] = (float)((i * 5) % 11) / 11 - 0.5f;
    }
    double total = 0, flops = 0;
    for (int l = 0; l + 1 < n; l++) {
        int in = sizes[l], out = sizes[l + 1];
        struct { const char *what; int ta, tb, M, N, K; float beta; } g[3] = {
            {"forward  Y = X W^T", 0, 1, batch, out, in, 0.0f},
            {"weights dW = dY^T X", 1, 0, out, in, batch, 0.0f},
            {"input   dX = dY W", 0, 0, batch, in, out, 0.0f}};
        for (int q = 0; q < (l == 0 ? 2 : 3); q++) {
            double t = best_time(bf16, g[q].ta, g[q].tb, g[q].M, g[q].N, g[q].K, g[q].beta, a,
                                 b, c);
            double f = 2.0 * g[q].M * g[q].N * g[q].K;
            printf("layer %d %-20s %5d x %5d x %5d %9.1f us %7.1f GFLOP/s\n", l + 1, g[q].what,
                   g[q].M, g[q].N, g[q].K, t * 1e6, f / t / 1e9);
            total += t;
            flops += f;
        }
    }
    printf("total %.1f %.1f\n", total * 1e6, flops / total / 1e9);
    free(a), free(b), free(c);
    return 0;
}
