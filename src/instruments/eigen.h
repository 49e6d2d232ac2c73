/* eigen.h: the eigenpairs of a small dense symmetric matrix, largest first (the Lanczos
 * tridiagonal matrix of the curvature estimates, the Gram matrix of the checkpoints'
 * principal components), from the optimizer layer's symmetric eigen-solver (optim/symeig.h). */
#ifndef INSTRUMENTS_EIGEN_H
#define INSTRUMENTS_EIGEN_H

/* a: n x n symmetric, row-major (destroyed). Writes the eigenvalues in decreasing order into
 * w[n] and, when v is not NULL, the unit eigenvectors as the columns of v (n x n, row-major:
 * v[i * n + k] is component i of the k-th vector). Returns 0, or -1 when the solver does not
 * converge (a NaN in a). */
int sym_eigen(double *a, int n, double *w, double *v);

#endif
