/* predict.h: `train predict --ckpt FILE|RUN_DIR [--top K] [--invert] IMAGE... | -`: the most
 * probable classes of each image, with probabilities (see predict.c). */
#ifndef COMMANDS_PREDICT_H
#define COMMANDS_PREDICT_H

int cmd_predict(int argc, char **argv);

#endif
