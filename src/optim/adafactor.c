/* adafactor.c: Adafactor (Shazeer & Stern 2018) as torch.optim.Adafactor (PyTorch 2.5+)
 * computes it. A matrix keeps only the running means of g^2 over its rows and over its
 * columns (rows + cols floats instead of rows x cols); vectors keep the full second moment.
 *
 *   beta2_t = 1 - t^beta2_decay;  rho_t = min(lr, 1 / sqrt(t))
 *   alpha_t = max(eps2, RMS(p)) rho_t                     (p before the decay)
 *   p <- p (1 - lr wd)
 *   matrix: R <- lerp(R, mean_j g_ij^2, 1 - beta2_t),  C <- lerp(C, mean_i g_ij^2, 1 - beta2_t)
 *           V_ij = R_i C_j / max(mean_i R_i, eps1)
 *   vector: V <- lerp(V, g^2, 1 - beta2_t)
 *   U = g / sqrt(max(V, eps1^2));  p <- p - alpha_t / max(1, RMS(U) / d) U
 * eps1 is --eps (PyTorch's None: float32's machine epsilon), d is --clip-threshold. */
#include "optim/rows.h"

#include <math.h>

/* matrices: row_var [rows, 1] and col_var [1, cols] (PyTorch's shapes); vectors: variance.
 * Workspace: the update U, and cols doubles of column sums. */
int adafactor_state(const OptimHyper *h, const OptTensor *t, OptState *out) {
    (void)h;
    if (t->ndim == 2) {
        state_entry(&out[0], "row_var", 2, t->shape[0], 1);
        state_entry(&out[1], "col_var", 2, 1, t->shape[1]);
        workspace_entry(&out[2], t->size + 2 + 2L * t->shape[1]);
        return 3;
    }
    state_entry(&out[0], "variance", 1, t->shape[0], 0);
    workspace_entry(&out[1], t->size);
    return 2;
}

/* U of a matrix: the factored second moment, its rows and columns updated first */
static void factored_update(const OptimHyper *h, int rows, int cols, const float *g, float *row_var,
                            float *col_var, float w, float *u, double *col_sum) {
    float eps1 = (float)h->eps, floor = (float)(h->eps * h->eps);
    for (int j = 0; j < cols; j++) col_sum[j] = 0;
    for (int i = 0; i < rows; i++) {
        const float *gi = g + (long)i * cols;
        /* ||g_i||^2 / cols, as PyTorch: the norm rounded to float, squared, divided */
        float norm = (float)sqrt(sum_squares(gi, cols));
        row_var[i] = torch_lerp(row_var[i], norm * norm / (float)cols, w);
        for (int j = 0; j < cols; j++) col_sum[j] += (double)gi[j] * gi[j];
    }
    double row_total = 0;
    for (int j = 0; j < cols; j++) {
        float norm = (float)sqrt(col_sum[j]);
        col_var[j] = torch_lerp(col_var[j], norm * norm / (float)rows, w);
    }
    for (int i = 0; i < rows; i++) row_total += row_var[i];
    float mean = (float)(row_total / rows);
    if (mean < eps1) mean = eps1;
    for (int i = 0; i < rows; i++) {
        const float *gi = g + (long)i * cols;
        float *ui = u + (long)i * cols;
        for (int j = 0; j < cols; j++) {
            float v = row_var[i] * col_var[j] / mean;
            ui[j] = 1.0f / sqrtf(v > floor ? v : floor) * gi[j];
        }
    }
}

void adafactor_step(Optim *o, const OptimHyper *h, const OptTensor *tensor, float *p,
                    const float *g, float *const *state, long t, float lr, float wd) {
    long n = tensor->size;
    double rho_t = fmin((double)lr, 1.0 / sqrt((double)t));
    double alpha = fmax(h->eps2, sqrt(sum_squares(p, n) / (double)n)) * rho_t;
    float w = (float)pow((double)t, h->beta2_decay);   /* 1 - beta2_t, the lerp weight */
    if (wd != 0) {
        float keep = (float)(1.0 - (double)lr * wd);
        for (long i = 0; i < n; i++) p[i] *= keep;
    }
    float *u = o->scratch;
    if (tensor->ndim == 2) {
        double *col_sum = (double *)(o->scratch + n + (n & 1));   /* 8-byte aligned */
        factored_update(h, tensor->shape[0], tensor->shape[1], g, state[0], state[1], w, u, col_sum);
    } else {
        float *v = state[0], floor = (float)(h->eps * h->eps);
        for (long i = 0; i < n; i++) {
            v[i] = torch_lerp(v[i], g[i] * g[i], w);
            u[i] = 1.0f / sqrtf(v[i] > floor ? v[i] : floor) * g[i];
        }
    }
    double denom = fmax(1.0, sqrt(sum_squares(u, n)) / (sqrt((double)n) * h->clip_threshold));
    float step = (float)(-alpha / denom);
    for (long i = 0; i < n; i++) p[i] += step * u[i];
}
