/* optim_memory.h: the size of each optimizer's state for the default model, with the row's
 * default hyper-parameters (what `train optimizers` prints). */
#ifndef RUN_OPTIM_MEMORY_H
#define RUN_OPTIM_MEMORY_H

#include "optim/optim.h"

#define OPTIM_MEMORY_MODEL "784-256-256-10"

/* Bytes of state row def keeps for OPTIM_MEMORY_MODEL, and that model's parameter count:
 * the state the optimizer really allocates (optim_init), not a formula. */
void optim_default_memory(const OptimDef *def, long *bytes, long *params);

#endif
