/* gradcheck.h: analytic gradients (graph_backward) against central finite differences,
 * (L(p + h) - L(p - h)) / 2h, for every op and a whole small MLP. */
#ifndef GRADCHECK_H
#define GRADCHECK_H

#include <stdio.h>

/* Runs every case, printing one line each to out (NULL: silent). analytic_scale multiplies
 * the analytic gradients before comparing (1 in real use; tests pass 1.05 to prove a wrong
 * gradient is caught). Returns the number of failing cases. */
int gradcheck_run(FILE *out, double analytic_scale);

/* `train gradcheck`: exit 0 when every case passes, 1 otherwise. */
int cmd_gradcheck(int argc, char **argv);

#endif
