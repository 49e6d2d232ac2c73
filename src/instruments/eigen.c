/* eigen.c: symeig's eigenpairs in decreasing order, as columns, see eigen.h. */
#include "instruments/eigen.h"
#include "optim/symeig.h"
#include "util/util.h"

#include <stdlib.h>

int sym_eigen(double *a, int n, double *w, double *v) {
    double *raw = xmalloc(sizeof(double) * (size_t)n), *rows = xmalloc(sizeof(double) * (size_t)n * n + 1);
    double *work = xmalloc(sizeof(double) * (4 * (size_t)n + 1));
    int *order = xmalloc(sizeof(int) * (size_t)n + 1);
    int rc = symeig(n, a, raw, rows, work);
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 1; i < n; i++)   /* insertion sort, decreasing: n is small */
        for (int j = i; j > 0 && raw[order[j]] > raw[order[j - 1]]; j--) {
            int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
        }
    for (int k = 0; k < n; k++) {
        w[k] = raw[order[k]];
        if (v)
            for (int i = 0; i < n; i++) v[(long)i * n + k] = rows[(long)order[k] * n + i];
    }
    free(raw); free(rows); free(work); free(order);
    return rc;
}
