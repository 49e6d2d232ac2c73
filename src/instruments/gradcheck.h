/* gradcheck.h: analytic gradients (net_backward) and Hessian-vector products (hvp.h) against
 * central finite differences, for every layer and for whole small networks. */
#ifndef INSTRUMENTS_GRADCHECK_H
#define INSTRUMENTS_GRADCHECK_H

#include <stdio.h>

/* Runs every case, printing one line each to out (NULL: silent). analytic_scale multiplies
 * the analytic gradients and products before comparing (1 in real use; tests pass 1.05 to
 * prove a wrong one is caught). Returns the number of failing cases. */
int gradcheck_run(FILE *out, double analytic_scale);

#endif
