/* symeig.c: symmetric eigen-decomposition (Householder tridiagonalisation + implicit QR with
 * Wilkinson shifts) and inverse p-th roots. Everything in double: Shampoo's statistics span
 * many orders of magnitude (the ridge is 1e-12 of the largest eigenvalue). Serial and in a
 * fixed order, so a matrix's result does not depend on which thread computes it. */
#include "optim/symeig.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* a -> Q T Q^T with T tridiagonal (diagonal d, off-diagonal e[0..n-2]); v <- Q^T.
 * Step k reflects x = a[k+1.., k] onto alpha e_1 with H = I - beta u u^T. */
static void tridiagonalise(int n, double *a, double *d, double *e, double *v, double *u, double *p,
                           double *row) {
    memset(v, 0, sizeof(double) * (size_t)n * n);
    for (int i = 0; i < n; i++) v[(long)i * n + i] = 1;
    for (int k = 0; k + 2 < n; k++) {
        int m = n - k - 1, o = k + 1;
        double norm2 = 0;
        for (int i = 0; i < m; i++) {
            u[i] = a[(long)(o + i) * n + k];
            norm2 += u[i] * u[i];
        }
        d[k] = a[(long)k * n + k];
        if (norm2 == 0) { e[k] = 0; continue; }
        double alpha = u[0] > 0 ? -sqrt(norm2) : sqrt(norm2);
        u[0] -= alpha;
        double utu = 0;
        for (int i = 0; i < m; i++) utu += u[i] * u[i];
        double beta = 2 / utu;
        e[k] = alpha;
        /* trailing block A22 <- H A22 H = A22 - u w^T - w u^T, p = beta A22 u,
         * w = p - (beta p.u / 2) u */
        double pu = 0;
        for (int i = 0; i < m; i++) {
            const double *ai = a + (long)(o + i) * n + o;
            double s = 0;
            _Pragma("omp simd reduction(+:s)")
            for (int j = 0; j < m; j++) s += ai[j] * u[j];
            p[i] = beta * s;
            pu += p[i] * u[i];
        }
        double half = beta * pu / 2;
        for (int i = 0; i < m; i++) p[i] -= half * u[i];
        for (int i = 0; i < m; i++) {
            double *ai = a + (long)(o + i) * n + o, ui = u[i], pi = p[i];
            _Pragma("omp simd")
            for (int j = 0; j < m; j++) ai[j] -= ui * p[j] + pi * u[j];
        }
        /* v <- H v: rows o.. of v less beta u (u^T v) */
        memset(row, 0, sizeof(double) * (size_t)n);
        for (int i = 0; i < m; i++) {
            const double *vi = v + (long)(o + i) * n;
            double ui = u[i];
            _Pragma("omp simd")
            for (int j = 0; j < n; j++) row[j] += ui * vi[j];
        }
        for (int i = 0; i < m; i++) {
            double *vi = v + (long)(o + i) * n, f = beta * u[i];
            _Pragma("omp simd")
            for (int j = 0; j < n; j++) vi[j] -= f * row[j];
        }
    }
    if (n >= 2) {
        d[n - 2] = a[(long)(n - 2) * n + n - 2];
        e[n - 2] = a[(long)(n - 1) * n + n - 2];
    }
    d[n - 1] = a[(long)(n - 1) * n + n - 1];
}

static int negligible(double e, double d0, double d1, double tiny) {
    return fabs(e) <= DBL_EPSILON * (fabs(d0) + fabs(d1)) + tiny;
}

int symeig(int n, double *a, double *w, double *v, double *work) {
    double *e = work, *u = work + n, *p = work + 2 * n, *row = work + 3 * n;
    if (n <= 0) return 0;
    tridiagonalise(n, a, w, e, v, u, p, row);
    double norm = 0;
    for (int i = 0; i < n; i++) norm = fmax(norm, fabs(w[i]) + (i + 1 < n ? fabs(e[i]) : 0));
    double tiny = DBL_EPSILON * DBL_EPSILON * norm;
    long sweeps = 0;
    int hi = n - 1;
    while (hi > 0) {
        if (negligible(e[hi - 1], w[hi - 1], w[hi], tiny)) { e[hi - 1] = 0; hi--; continue; }
        if (++sweeps > 30L * n || !isfinite(e[hi - 1])) return -1;
        int lo = hi - 1;
        while (lo > 0 && !negligible(e[lo - 1], w[lo - 1], w[lo], tiny)) lo--;
        /* Wilkinson's shift: the eigenvalue of the trailing 2 x 2 block nearer w[hi] */
        double delta = (w[hi - 1] - w[hi]) / 2, b = e[hi - 1];
        double mu = w[hi] - b * b / (delta + (delta >= 0 ? 1 : -1) * hypot(delta, b));
        /* chase the bulge down the block with rotations on coordinates (k, k+1): the first
         * one's direction is that of T - mu I's first column, each next one zeroes the bulge
         * T[k-1][k+1] the previous one made */
        double x = w[lo] - mu, z = e[lo];
        for (int k = lo; k < hi; k++) {
            double r = hypot(x, z), c = 1, s = 0;
            if (r > 0) { c = x / r; s = -z / r; }
            if (k > lo) e[k - 1] = r;
            double a0 = w[k], a1 = w[k + 1], ek = e[k];
            w[k] = c * c * a0 - 2 * c * s * ek + s * s * a1;
            w[k + 1] = s * s * a0 + 2 * c * s * ek + c * c * a1;
            e[k] = c * s * (a0 - a1) + (c * c - s * s) * ek;
            if (k + 1 < hi) {
                z = -s * e[k + 1];
                e[k + 1] *= c;
                x = e[k];
            }
            double *vk = v + (long)k * n, *vk1 = vk + n;
            _Pragma("omp simd")
            for (int j = 0; j < n; j++) {
                double f = vk[j], g = vk1[j];
                vk[j] = c * f - s * g;
                vk1[j] = s * f + c * g;
            }
        }
    }
    return 0;
}

long inverse_root_work(int n) {
    return 2L * n * n + 5L * n;
}

int inverse_root(int n, const float *s, int p, double ridge_eps, float *root, double *work) {
    double *a = work, *v = a + (long)n * n, *w = v + (long)n * n, *rest = w + n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            a[(long)i * n + j] = 0.5 * ((double)s[(long)i * n + j] + s[(long)j * n + i]);
    if (symeig(n, a, w, v, rest) != 0) return -1;
    double top = -INFINITY;
    for (int i = 0; i < n; i++) top = fmax(top, w[i]);
    memset(a, 0, sizeof(double) * (size_t)n * n);
    if (!(top > 0)) {
        for (int i = 0; i < n; i++) a[(long)i * n + i] = 1;
    } else {
        double ridge = ridge_eps * top;
        for (int i = 0; i < n; i++) {   /* a += f(w_i) v_i v_i^T */
            double base = fmax(w[i], 0) + ridge, f = base > 0 ? pow(base, -1.0 / p) : 0;
            const double *vi = v + (long)i * n;
            for (int r = 0; r < n; r++) {
                double fr = f * vi[r];
                double *ar = a + (long)r * n;
                _Pragma("omp simd")
                for (int c = 0; c < n; c++) ar[c] += fr * vi[c];
            }
        }
    }
    for (long i = 0; i < (long)n * n; i++) root[i] = (float)a[i];
    return 0;
}
