/* ckpt_open.h: what the instruments' commands (curvature, landscape) start from: a run
 * directory (its last.safetensors) or a checkpoint file, set up as its run was: the stored
 * options, the data splits (--data and --threads of the command line win), the network with
 * the checkpoint's weights, the step it was saved at and the learning rate of that step. */
#ifndef COMMANDS_CKPT_OPEN_H
#define COMMANDS_CKPT_OPEN_H

#include "run/trainer.h"

#include <stddef.h>

typedef struct {
    char path[PATH_LEN + 64];    /* the checkpoint file */
    StFile file;
    Trainer t;
    long step;                   /* optimizer steps done when it was saved */
    double lr;                   /* the rate of its last step (of the first, at step 0) */
} Opened;

/* Exits with a message (1: bad file, 2: bad argument) when arg is neither. */
void ckpt_open(Opened *o, const char *arg, const Config *flags);
void ckpt_close(Opened *o);
/* out = the directory of the checkpoint file ckpt, then "/name" */
void ckpt_sibling(const char *ckpt, const char *name, char *out, size_t len);
/* The run directory or checkpoint file arg names: dir/last.safetensors for a directory. */
void ckpt_resolve_path(const char *arg, char *out, size_t len);
/* The command line of `command` ("train curvature"): flags (defaults, then argv's) into
 * flags, positional arguments into pos/n_pos, which may stand before, between or after the
 * flags (`train curvature RUN --top 3`). A flag not in `reads` (config_check_reads) is
 * refused, so none is silently ignored. Returns the argument vector pos points into (free
 * it). */
char **command_flags(Config *flags, int argc, char **argv, const char *command, const char *reads,
                     char ***pos, int *n_pos);

#endif
