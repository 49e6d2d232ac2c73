/* eigen.c: the cyclic Jacobi eigenvalue method (Golub & Van Loan, Matrix Computations,
 * section 8.5): each rotation zeroes one off-diagonal pair (p, q); sweeps over all pairs
 * until the off-diagonal mass is negligible. Quadratic convergence once it is small; about
 * ten sweeps for the sizes used here (n up to a few hundred). */
#include "instruments/eigen.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SWEEPS 60

static double off_diagonal(const double *a, int n) {
    double s = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (i != j) s += a[i * n + j] * a[i * n + j];
    return s;
}

/* The rotation (c, s) that zeroes a[p][q]: t = tan(theta) is the smaller root of
 * t^2 + 2 tau t - 1 = 0 with tau = (a_qq - a_pp) / (2 a_pq). */
static void rotate(double *a, double *v, int n, int p, int q) {
    double apq = a[p * n + q];
    if (apq == 0) return;
    double tau = (a[q * n + q] - a[p * n + p]) / (2 * apq);
    double t = (tau >= 0 ? 1.0 : -1.0) / (fabs(tau) + sqrt(1 + tau * tau));
    double c = 1 / sqrt(1 + t * t), s = t * c;
    for (int k = 0; k < n; k++) {   /* A <- A J (columns p, q) */
        double akp = a[k * n + p], akq = a[k * n + q];
        a[k * n + p] = c * akp - s * akq;
        a[k * n + q] = s * akp + c * akq;
    }
    for (int k = 0; k < n; k++) {   /* A <- J^T A (rows p, q) */
        double apk = a[p * n + k], aqk = a[q * n + k];
        a[p * n + k] = c * apk - s * aqk;
        a[q * n + k] = s * apk + c * aqk;
    }
    a[p * n + q] = a[q * n + p] = 0;
    if (v)
        for (int k = 0; k < n; k++) {
            double vkp = v[k * n + p], vkq = v[k * n + q];
            v[k * n + p] = c * vkp - s * vkq;
            v[k * n + q] = s * vkp + c * vkq;
        }
}

int sym_eigen(double *a, int n, double *w, double *v) {
    if (v) {
        memset(v, 0, sizeof(double) * (size_t)n * (size_t)n);
        for (int i = 0; i < n; i++) v[i * n + i] = 1;
    }
    double scale = 0;
    for (int i = 0; i < n * n; i++) scale += a[i] * a[i];
    int sweep = 0;
    while (sweep < MAX_SWEEPS && off_diagonal(a, n) > 1e-30 * scale) {
        for (int p = 0; p < n - 1; p++)
            for (int q = p + 1; q < n; q++) rotate(a, v, n, p, q);
        sweep++;
    }
    /* selection sort of the diagonal, decreasing, carrying the vectors along */
    int *order = xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 0; i < n; i++) {
        int best = i;
        for (int j = i + 1; j < n; j++)
            if (a[order[j] * n + order[j]] > a[order[best] * n + order[best]]) best = j;
        int tmp = order[i]; order[i] = order[best]; order[best] = tmp;
        w[i] = a[order[i] * n + order[i]];
    }
    if (v) {
        double *copy = xmalloc(sizeof(double) * (size_t)n * (size_t)n);
        memcpy(copy, v, sizeof(double) * (size_t)n * (size_t)n);
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++) v[i * n + k] = copy[i * n + order[k]];
        free(copy);
    }
    free(order);
    return sweep;
}
