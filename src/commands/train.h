/* train.h: `train [flags]` (and `train train [flags]`): a whole training run. */
#ifndef COMMANDS_TRAIN_H
#define COMMANDS_TRAIN_H

int cmd_train(int argc, char **argv);

#endif
