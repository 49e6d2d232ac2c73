/* weights.h: the trained network a --ckpt argument names, for the commands that use one
 * (eval, predict, export). The argument is
 *   a checkpoint file   written by train (its model and data description are in its metadata),
 *                       or a safetensors file from elsewhere (PyTorch's save_file of an
 *                       nn.Sequential's state_dict), whose network --model (with --act,
 *                       --norm, --loss) must describe
 *   a run directory     the weights its final report evaluated: best.safetensors after an
 *                       early stop, else last.safetensors (also for an unfinished run) */
#ifndef RUN_WEIGHTS_H
#define RUN_WEIGHTS_H

#include "formats/safetensors.h"
#include "nn/net.h"
#include "run/config.h"
#include "run/rundir.h"

typedef struct {
    char path[RUN_DIR_LEN + 32];   /* the file read */
    StFile file;
    Config c;                      /* the run's options: stored, or from the flags */
    int foreign;                   /* the file holds no config of train's */
} Weights;

/* Opens flags->ckpt (which must be given) for `command`. Exits with 2 on a missing or
 * contradictory flag, 1 on an unreadable file. */
void weights_open(Weights *w, const Config *flags, const char *command);
/* Builds the network the options describe, without any data (a model without an input width
 * takes it from the file's first weight), for `capacity` rows, in evaluation mode, with the
 * file's weights. Exits with 1 when they do not fit. */
void weights_build_net(const Weights *w, Net *n, int capacity);
void weights_close(Weights *w);

#endif
