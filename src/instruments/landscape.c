/* landscape.c: directions, planes and lines through a network's weights, see landscape.h. */
#include "instruments/landscape.h"
#include "instruments/eigen.h"
#include "instruments/vec.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void landscape_random_direction(const Net *n, const float *theta, float *d, Rng *rng) {
    vec_gaussian(d, n->n_params, rng);
    for (int i = 0; i < n->n_tensors; i++) {
        const NetTensor *t = &n->tensors[i];
        if (t->role == ROLE_BUFFER || t->is_counter) continue;
        if (t->ndim < 2) {
            memset(d + t->offset, 0, sizeof(float) * (size_t)t->size);
            continue;
        }
        long cols = t->shape[1];
        for (long r = 0; r < t->shape[0]; r++) {
            float *dr = d + t->offset + r * cols;
            const float *wr = theta + t->offset + r * cols;
            vec_scale(dr, vec_norm(wr, cols) / (vec_norm(dr, cols) + 1e-10), cols);
        }
    }
}

int landscape_pca(const float *const *points, int k, long n, float *d1, float *d2,
                  double explained[2]) {
    if (k < 3) return -1;
    /* the Gram matrix G_ij = m_i . m_j of the centred points m_i = points[i] - mean: its
     * eigenvectors u_c give the principal directions sum_i u_ic m_i (the k x k problem in
     * place of the n x n covariance) */
    float *mean = xalloc_floats((size_t)n), *mi = xalloc_floats((size_t)n), *mj = xalloc_floats((size_t)n);
    for (int i = 0; i < k; i++) vec_axpy(mean, 1.0 / k, points[i], n);
    double *gram = xmalloc(sizeof(double) * (size_t)k * k), *w = xmalloc(sizeof(double) * (size_t)k);
    double *v = xmalloc(sizeof(double) * (size_t)k * k);
    for (int i = 0; i < k; i++) {
        memcpy(mi, points[i], sizeof(float) * (size_t)n);
        vec_axpy(mi, -1, mean, n);
        for (int j = 0; j <= i; j++) {
            memcpy(mj, points[j], sizeof(float) * (size_t)n);
            vec_axpy(mj, -1, mean, n);
            gram[i * k + j] = gram[j * k + i] = vec_dot(mi, mj, n);
        }
    }
    sym_eigen(gram, k, w, v);
    double total = 0;
    for (int i = 0; i < k; i++) total += w[i] > 0 ? w[i] : 0;
    int rc = -1;
    if (w[1] > 1e-12 * w[0] && total > 0) {
        /* d_c = sum_i u_ic m_i / sqrt(lambda_c): unit, and orthogonal to the other one */
        float *dirs[2] = {d1, d2};
        for (int c = 0; c < 2; c++) {
            memset(dirs[c], 0, sizeof(float) * (size_t)n);
            for (int i = 0; i < k; i++) {
                memcpy(mi, points[i], sizeof(float) * (size_t)n);
                vec_axpy(mi, -1, mean, n);
                vec_axpy(dirs[c], v[i * k + c] / sqrt(w[c]), mi, n);
            }
            vec_scale(dirs[c], 1 / vec_norm(dirs[c], n), n);   /* exact unit length in float */
            explained[c] = w[c] / total;
        }
        rc = 0;
    }
    free(mean); free(mi); free(mj); free(gram); free(w); free(v);
    return rc;
}

void landscape_plane_point(const float *c, const float *d1, const float *d2, double a, double b,
                           float *out, long n) {
    for (long i = 0; i < n; i++) out[i] = (float)(c[i] + a * d1[i] + b * d2[i]);
}

void landscape_plane_coords(const float *x, const float *c, const float *d1, const float *d2,
                            long n, double *a, double *b) {
    double g11 = 0, g12 = 0, g22 = 0, r1 = 0, r2 = 0;
    for (long i = 0; i < n; i++) {
        double e = (double)x[i] - c[i];
        g11 += (double)d1[i] * d1[i];
        g12 += (double)d1[i] * d2[i];
        g22 += (double)d2[i] * d2[i];
        r1 += e * d1[i];
        r2 += e * d2[i];
    }
    double det = g11 * g22 - g12 * g12;
    *a = det != 0 ? (g22 * r1 - g12 * r2) / det : NAN;
    *b = det != 0 ? (g11 * r2 - g12 * r1) / det : NAN;
}

void landscape_lerp(const float *A, const float *B, double alpha, float *out, long n) {
    for (long i = 0; i < n; i++) out[i] = (float)((1 - alpha) * A[i] + alpha * B[i]);
}
