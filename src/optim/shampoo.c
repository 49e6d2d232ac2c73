/* shampoo.c: Shampoo (Gupta et al. 2018) with the blocking, grafting and periodic roots of
 * Anil et al. 2020, following their PyTorch reference (google-research scalable_shampoo):
 *
 *   a weight matrix G is cut into blocks of at most --block x --block; each block G_b keeps
 *     L_b <- L_b + G_b G_b^T,  R_b <- R_b + G_b^T G_b        (both start at matrix_eps I)
 *   every --precond-every steps:  P_L = (L_b + r I)^(-1/4),  P_R = (R_b + r I)^(-1/4),
 *     r = matrix_eps lambda_max, by a symmetric eigen-decomposition (symeig.c)
 *   S = the blocks P_L G_b P_R put together (vectors, and matrices of at most --block
 *     elements, which the reference flattens to vectors: S = g)
 *   Adagrad grafting: a <- a + g^2,  A = g / (sqrt(a) + eps);  S <- S ||A|| / (||S|| + 1e-16)
 *   d = S + wd p;  M <- mu M + d;  p <- p - lr (nesterov ? mu M + d : M)
 *
 * Statistics and roots are state (checkpointed); the roots start as I. Products go through
 * the project's GEMM; roots are computed in double, the blocks' in parallel. */
#include "optim/rows.h"
#include "optim/symeig.h"
#include "kernels/kernels.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#define ROOT_THREADS_MAX 8   /* eigen-solves in parallel, each with its own work buffer */

/* How a tensor is cut: rows into n_row blocks of `block` rows (the last one the remainder),
 * cols likewise. Not preconditioned: vectors, and matrices the reference reshapes into
 * vectors (rows * cols <= block, or a dimension of 1). */
typedef struct {
    int rows, cols, block, n_row, n_col, precondition;
    long left, right;            /* floats of all blocks' L (and of their roots), of all R */
} Blocking;

static int part(int dim, int block, int i) {
    return i < (dim - 1) / block ? block : dim - i * block;
}

static Blocking blocking(const OptimHyper *h, const OptTensor *t) {
    Blocking b = {t->shape[0], t->ndim == 2 ? t->shape[1] : 1, h->block, 1, 1, 0, 0, 0};
    b.precondition = t->ndim == 2 && b.rows > 1 && b.cols > 1 && (long)b.rows * b.cols > h->block;
    if (!b.precondition) return b;
    b.n_row = (b.rows + b.block - 1) / b.block;
    b.n_col = (b.cols + b.block - 1) / b.block;
    for (int i = 0; i < b.n_row; i++) b.left += (long)b.n_col * part(b.rows, b.block, i) * part(b.rows, b.block, i);
    for (int j = 0; j < b.n_col; j++) b.right += (long)b.n_row * part(b.cols, b.block, j) * part(b.cols, b.block, j);
    return b;
}

static int threads_for_roots(void) {
    int n = kernels_get_threads();
    return n < ROOT_THREADS_MAX ? n : ROOT_THREADS_MAX;
}

/* Every tensor: momentum and the Adagrad graft's sum of squares. Matrices: the statistics and
 * roots of all their blocks, each block's matrix row-major, blocks in row-major order.
 * Workspace: S, one block's intermediate product, and the eigen-solvers' doubles. */
int shampoo_state(const OptimHyper *h, const OptTensor *t, OptState *out) {
    Blocking b = blocking(h, t);
    state_entry(&out[0], "momentum", t->ndim, t->shape[0], t->shape[1]);
    state_entry(&out[1], "graft_statistics", t->ndim, t->shape[0], t->shape[1]);
    if (!b.precondition) return 2;
    state_entry(&out[2], "statistics_left", 1, (int)b.left, 0);
    state_entry(&out[3], "statistics_right", 1, (int)b.right, 0);
    state_entry(&out[4], "preconditioner_left", 1, (int)b.left, 0);
    state_entry(&out[5], "preconditioner_right", 1, (int)b.right, 0);
    int big = b.rows < b.block ? b.rows : b.block, big_col = b.cols < b.block ? b.cols : b.block;
    if (big_col > big) big = big_col;
    long doubles = (long)threads_for_roots() * inverse_root_work(big);
    workspace_entry(&out[6], t->size + (long)big * big + 2 + 2 * doubles);
    return 7;
}

/* Block k (row-major over the grid): its rows r0.. (nr of them), cols c0.. (nc), and where
 * its L, R (and their roots) start. Every block row but the last is `block` tall, every block
 * column but the last `block` wide, so the offsets are sums of whole rows of blocks. */
typedef struct {
    int r0, nr, c0, nc;
    long left, right;
} Block;

static Block block_at(const Blocking *b, int k) {
    int i = k / b->n_col, j = k % b->n_col;
    Block x = {i * b->block, part(b->rows, b->block, i), j * b->block, part(b->cols, b->block, j), 0, 0};
    long full = (long)b->block * b->block;
    x.left = (long)i * b->n_col * full + (long)j * x.nr * x.nr;
    x.right = (long)i * (b->right / b->n_row) + (long)j * full;
    return x;
}

static void set_identity(float *m, int n, float diag) {
    memset(m, 0, sizeof(float) * (size_t)n * n);
    for (int i = 0; i < n; i++) m[(long)i * n + i] = diag;
}

/* The inverse 4th roots of every block's L and R: 2 x blocks independent jobs. A root whose
 * eigen-solve fails (only with non-finite statistics) keeps its previous value. */
static void compute_roots(const OptimHyper *h, const Blocking *b, float *const *state, double *work,
                          long per_thread) {
    long jobs = 2L * b->n_row * b->n_col;
    #pragma omp parallel for schedule(dynamic) num_threads(threads_for_roots())
    for (long job = 0; job < jobs; job++) {
        Block k = block_at(b, (int)(job / 2));
        int right = job & 1, n = right ? k.nc : k.nr;
        long at = right ? k.right : k.left;
        inverse_root(n, state[2 + right] + at, 4, h->matrix_eps, state[4 + right] + at,
                     work + (long)omp_get_thread_num() * per_thread);
    }
}

/* S = P_L G_b P_R for every block, into s (rows x cols) */
static void precondition(const Blocking *b, const float *g, float *const *state, float *s, float *tmp) {
    for (int i = 0; i < b->n_row * b->n_col; i++) {
        Block x = block_at(b, i);
        const Block *k = &x;
        const float *gb = g + (long)k->r0 * b->cols + k->c0;
        sgemm(0, 0, k->nr, k->nc, k->nr, 1.0f, state[4] + k->left, k->nr, gb, b->cols, 0.0f, tmp, k->nc);
        sgemm(0, 0, k->nr, k->nc, k->nc, 1.0f, tmp, k->nc, state[5] + k->right, k->nc, 0.0f,
              s + (long)k->r0 * b->cols + k->c0, b->cols);
    }
}

static void add_statistics(const Blocking *b, const float *g, float *const *state, long t, double eps) {
    for (int i = 0; i < b->n_row * b->n_col; i++) {
        Block x = block_at(b, i);
        const Block *k = &x;
        float *left = state[2] + k->left, *right = state[3] + k->right;
        if (t == 1) {   /* the reference's start: statistics eps I, roots I */
            set_identity(left, k->nr, (float)eps);
            set_identity(right, k->nc, (float)eps);
            set_identity(state[4] + k->left, k->nr, 1.0f);
            set_identity(state[5] + k->right, k->nc, 1.0f);
        }
        const float *gb = g + (long)k->r0 * b->cols + k->c0;
        sgemm(0, 1, k->nr, k->nr, k->nc, 1.0f, gb, b->cols, gb, b->cols, 1.0f, left, k->nr);
        sgemm(1, 0, k->nc, k->nc, k->nr, 1.0f, gb, b->cols, gb, b->cols, 1.0f, right, k->nc);
    }
}

void shampoo_step(Optim *o, const OptimHyper *h, const OptTensor *tensor, float *p,
                  const float *g, float *const *state, long t, float lr, float wd) {
    long n = tensor->size;
    float *momentum = state[0], *graft = state[1], eps = (float)h->eps;
    double graft_sq = 0;
    for (long i = 0; i < n; i++) {
        graft[i] += g[i] * g[i];
        float a = g[i] / (sqrtf(graft[i]) + eps);
        graft_sq += (double)a * a;
    }
    Blocking b = blocking(h, tensor);
    const float *s = g;
    if (b.precondition) {
        int big = b.rows < b.block ? b.rows : b.block, big_col = b.cols < b.block ? b.cols : b.block;
        if (big_col > big) big = big_col;
        float *out = o->scratch, *tmp = out + n;
        double *work = (double *)(tmp + (long)big * big + ((n + (long)big * big) & 1));
        add_statistics(&b, g, state, t, h->matrix_eps);
        if (t % h->precond_every == 0) compute_roots(h, &b, state, work, inverse_root_work(big));
        precondition(&b, g, state, out, tmp);
        s = out;
    }
    float scale = (float)(sqrt(graft_sq) / (sqrt(sum_squares(s, n)) + 1e-16));
    float mu = (float)h->momentum;
    for (long i = 0; i < n; i++) {
        float d = s[i] * scale + wd * p[i];
        momentum[i] = momentum[i] * mu + d;
        p[i] += -lr * (h->nesterov ? momentum[i] * mu + d : momentum[i]);
    }
}
