/* memguard.h: a model's memory, estimated from its built (not yet allocated) network before
 * any of it is allocated, against what the machine has: a model that cannot fit is refused
 * at once with the figures, instead of allocating until the OOM killer ends the process. */
#ifndef RUN_MEMGUARD_H
#define RUN_MEMGUARD_H

#include "nn/net.h"
#include "run/config.h"

/* The network of n (built, not allocated) for `capacity` rows, and when training the state
 * of c's optimizer, plus other_bytes already in use (the dataset). Returns 0 when it fits in
 * the machine's memory, else -1 with err = "needs about X of memory (...), more than ...". */
int memguard_check(const Net *n, int capacity, const Config *c, int training, double other_bytes,
                   char *err);

#endif
