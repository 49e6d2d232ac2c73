/* memguard.h: a model's memory, estimated from its built (not yet allocated) network before
 * any of it is allocated, against what the machine has: a model that cannot fit is refused
 * at once with the figures, instead of allocating until the OOM killer ends the process. */
#ifndef RUN_MEMGUARD_H
#define RUN_MEMGUARD_H

#include "formats/safetensors.h"
#include "nn/net.h"
#include "run/config.h"

/* The network of n (built, not allocated) for `capacity` rows, and when training the state
 * of c's optimizer, plus other_bytes already in use (the dataset), must fit in the machine's
 * memory; and the weights file, when given, must hold n's tensors (ckpt_check_model).
 * Returns 0, or -1 with err = "--model M: needs about X of memory (...), more than ..." or
 * the file's mismatch. */
int memguard_check(const Net *n, int capacity, const Config *c, int training, double other_bytes,
                   const StFile *weights, const char *weights_path, char *err);

#endif
