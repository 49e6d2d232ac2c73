/* eval.h: `train eval --ckpt FILE [--data D] [--threads N]`: test-set loss and accuracy. */
#ifndef COMMANDS_EVAL_H
#define COMMANDS_EVAL_H

int cmd_eval(int argc, char **argv);

#endif
