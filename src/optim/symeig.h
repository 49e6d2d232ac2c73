/* symeig.h: the symmetric eigenvalue problem in double precision, and the inverse p-th root of
 * a symmetric positive semi-definite matrix built on it (Shampoo's preconditioners). */
#ifndef OPTIM_SYMEIG_H
#define OPTIM_SYMEIG_H

/* Eigen-decomposition of the symmetric n x n matrix a (row-major; a is overwritten):
 * a = sum_i w[i] v_i v_i^T with v_i row i of v (n x n, orthonormal rows). Householder
 * reduction to tridiagonal form, then the implicit symmetric QR iteration with Wilkinson
 * shifts (Golub & Van Loan, Algorithms 8.3.1 and 8.3.3). work: 4 n doubles. Returns 0, or -1
 * when the iteration has not converged after 30 n sweeps (a NaN in a, say). */
int symeig(int n, double *a, double *w, double *v, double *work);

/* The doubles inverse_root needs as work for an n x n matrix. */
long inverse_root_work(int n);
/* root = (s + r I)^(-1/p) for the symmetric PSD n x n float matrix s (its symmetric part is
 * used), r = ridge_eps * lambda_max(s): by its eigen-decomposition, with eigenvalues below 0
 * (rounding) taken as 0; a matrix with lambda_max <= 0 gives the identity. Returns 0, or -1
 * (root untouched) when the eigen-solver fails. */
int inverse_root(int n, const float *s, int p, double ridge_eps, float *root, double *work);

#endif
