/* norm.c: standardisation of one vector and the derivatives of it, see norm.h. */
#include "nn/norm.h"

#include <math.h>
#include <stddef.h>

#define AT(p, k) ((p)[(long)(k) * v->stride])
#define GAIN(p, k) ((p)[(long)(k) * v->gain_stride])

/* One vector is one column of a matrix whose rows are `stride` floats apart. */
float norm_standardise(const NormVec *v, const float *x, double eps, float *xh, double *mu,
                       double *var) {
    float r;
    norm_standardise_cols(v->m, (int)v->stride, 0, 1, x, eps, xh, &r, mu, var);
    return r;
}

/* Columns: each sum of the one-vector functions, per column, in row order, so the bits are
 * theirs; the rows are walked one after another, reading NORM_BLOCK adjacent floats each. */
#define COLS(i, k) ((long)(i) * d + j0 + (k))

void norm_standardise_cols(int rows, int d, int j0, int w, const float *x, double eps,
                           float *xh, float *r, double *mu, double *var) {
    double sum[NORM_BLOCK] = {0}, sq[NORM_BLOCK] = {0}, mean[NORM_BLOCK], rd[NORM_BLOCK];
    for (int i = 0; i < rows; i++)
        for (int k = 0; k < w; k++) sum[k] += x[COLS(i, k)];
    for (int k = 0; k < w; k++) mean[k] = sum[k] / rows;
    for (int i = 0; i < rows; i++)
        for (int k = 0; k < w; k++) {
            double dev = x[COLS(i, k)] - mean[k];
            sq[k] += dev * dev;
        }
    for (int k = 0; k < w; k++) {
        var[k] = sq[k] / rows;
        rd[k] = 1.0 / sqrt(var[k] + eps);
        mu[k] = mean[k];
        r[k] = (float)rd[k];
    }
    for (int i = 0; i < rows; i++)
        for (int k = 0; k < w; k++) xh[COLS(i, k)] = (float)((x[COLS(i, k)] - mean[k]) * rd[k]);
}

void norm_project_cols(int rows, int d, int j0, int w, const float *a, const float *g,
                       const float *xh, const float *scale, float *out) {
    double su[NORM_BLOCK] = {0}, sxu[NORM_BLOCK] = {0}, mean_u[NORM_BLOCK], mean_xu[NORM_BLOCK];
    for (int i = 0; i < rows; i++)
        for (int k = 0; k < w; k++) {
            double u = (double)a[COLS(i, k)] * g[j0 + k];
            su[k] += u;
            sxu[k] += u * xh[COLS(i, k)];
        }
    for (int k = 0; k < w; k++) {
        mean_u[k] = su[k] / rows;
        mean_xu[k] = sxu[k] / rows;
    }
    for (int i = 0; i < rows; i++)
        for (int k = 0; k < w; k++) {
            double u = (double)a[COLS(i, k)] * g[j0 + k];
            out[COLS(i, k)] = (float)(scale[j0 + k] * (u - mean_u[k] - xh[COLS(i, k)] * mean_xu[k]));
        }
}

/* mean(u) and mean(xh u) of u = a ga */
static void moments(const NormVec *v, const float *a, const float *ga, const float *xh,
                    double *mean_u, double *mean_xu) {
    double su = 0, sxu = 0;
    for (int k = 0; k < v->m; k++) {
        double u = ga ? (double)AT(a, k) * GAIN(ga, k) : AT(a, k);
        su += u;
        sxu += u * AT(xh, k);
    }
    *mean_u = su / v->m;
    *mean_xu = sxu / v->m;
}

void norm_project(const NormVec *v, const float *a, const float *ga, const float *xh,
                  float scale, float *out) {
    double mean_u, mean_xu;
    moments(v, a, ga, xh, &mean_u, &mean_xu);
    for (int k = 0; k < v->m; k++) {
        double u = ga ? (double)AT(a, k) * GAIN(ga, k) : AT(a, k);
        AT(out, k) = (float)(scale * (u - mean_u - AT(xh, k) * mean_xu));
    }
}

void norm_r_backward(const NormVec *v, const float *dy, const float *rdy, const float *g,
                     const float *rg, const float *xh, const float *rxh, const float *rx,
                     float r, float *rdx) {
    double su = 0, sxu = 0, sru = 0, sxru = 0, srxu = 0, sxrx = 0;
    for (int k = 0; k < v->m; k++) {
        double u = (double)AT(dy, k) * GAIN(g, k);
        double ru = (double)AT(rdy, k) * GAIN(g, k) + (double)AT(dy, k) * GAIN(rg, k);
        su += u;
        sxu += AT(xh, k) * u;
        sru += ru;
        sxru += AT(xh, k) * ru;
        srxu += AT(rxh, k) * u;
        sxrx += (double)AT(xh, k) * AT(rx, k);
    }
    double m = v->m, mean_u = su / m, mean_xu = sxu / m, mean_ru = sru / m;
    double mean_xru = sxru / m, mean_rxu = srxu / m;
    double rr = -(double)r * r * (sxrx / m);
    for (int k = 0; k < v->m; k++) {
        double u = (double)AT(dy, k) * GAIN(g, k);
        double ru = (double)AT(rdy, k) * GAIN(g, k) + (double)AT(dy, k) * GAIN(rg, k);
        double p_u = u - mean_u - AT(xh, k) * mean_xu;
        double p_ru = ru - mean_ru - AT(xh, k) * mean_xru;
        AT(rdx, k) = (float)(rr * p_u + r * (p_ru - AT(rxh, k) * mean_xu - AT(xh, k) * mean_rxu));
    }
}

/* per feature j: dst[j] (+)= sum over rows of a c (+ a2 c2); c NULL: of a alone. Each sum
 * runs over the rows in order; the rows are read a block of columns at a time. */
static void feature_sums(int rows, int d, const float *a, const float *c, const float *a2,
                         const float *c2, float *dst, int overwrite) {
    for (int j0 = 0; j0 < d; j0 += NORM_BLOCK) {
        int w = d - j0 < NORM_BLOCK ? d - j0 : NORM_BLOCK;
        double s[NORM_BLOCK] = {0};
        for (int i = 0; i < rows; i++)
            for (int k = 0; k < w; k++) {
                long o = COLS(i, k);
                s[k] += c ? (double)a[o] * c[o] : a[o];
                if (a2) s[k] += (double)a2[o] * c2[o];
            }
        for (int k = 0; k < w; k++) dst[j0 + k] = overwrite ? (float)s[k] : dst[j0 + k] + (float)s[k];
    }
}

void norm_param_grads(int rows, int d, const float *dy, const float *xh, float *dg, float *db,
                      int overwrite) {
    feature_sums(rows, d, dy, xh, NULL, NULL, dg, overwrite);
    feature_sums(rows, d, dy, NULL, NULL, NULL, db, overwrite);
}

void norm_param_r_grads(int rows, int d, const float *dy, const float *rdy, const float *xh,
                        const float *rxh, float *rdg, float *rdb) {
    feature_sums(rows, d, rdy, xh, dy, rxh, rdg, 0);
    feature_sums(rows, d, rdy, NULL, NULL, NULL, rdb, 0);
}
