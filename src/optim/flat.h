/* flat.h: arithmetic on flat float vectors (the parameters, a gradient, a direction), for the
 * gradient norm and the rules that work on the whole vector (L-BFGS). Reductions run over
 * fixed chunks, each summed in double, the chunk sums added in order: the same bits for any
 * thread count. */
#ifndef OPTIM_FLAT_H
#define OPTIM_FLAT_H

double flat_dot(const float *a, const float *b, long n);
double flat_abs_sum(const float *a, long n);
double flat_abs_max(const float *a, long n);
/* y += alpha x (alpha rounded to float, as PyTorch's add_(x, alpha=)) */
void flat_axpy(float *y, float alpha, const float *x, long n);

#endif
