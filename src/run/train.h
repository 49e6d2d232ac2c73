/* train.h: the train subcommand. */
#ifndef TRAIN_H
#define TRAIN_H

/* `train [flags]`: a whole run; returns the exit code. */
int cmd_train(int argc, char **argv);

#endif
