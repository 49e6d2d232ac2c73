/* train.h: `train [flags]` (and `train train [flags]`): a whole training run. */
#ifndef COMMANDS_TRAIN_H
#define COMMANDS_TRAIN_H

int cmd_train(int argc, char **argv);

/* The flags a training run reads (config_check_reads): all but the tools' */
#define TRAIN_READS "@data @model @batches @optimizer @schedule @length @run --log-curvature --log-noise --examples --tol --lanczos-iter"

#endif
