/* inspect.h: `train inspect RUN_DIR|CKPT`: what a checkpoint holds. Per tensor (the model's,
 * then the optimizer's state where the file has it): name, shape, element count, mean, std
 * (population: divided by n), min, max, L2 norm and the share of exact zeros; then the
 * training step, the optimizer and the stored config's model/opt/lr. */
#ifndef COMMANDS_INSPECT_H
#define COMMANDS_INSPECT_H

#include "formats/safetensors.h"

typedef struct {
    long n;
    double mean, std, min, max, l2, zero_frac;
} TensorStats;

/* Statistics of t's elements, accumulated in double. */
TensorStats inspect_stats(const StTensor *t);

int cmd_inspect(int argc, char **argv);

#endif
