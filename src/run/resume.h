/* resume.h: --resume DIR. The checkpoint DIR/last.safetensors is read once: its stored
 * options, with the flags given now laid over them (only length, cadence, lr and output
 * options may change), become the run's; after set-up its weights, buffers, optimizer state,
 * step, RNG streams and sampler position are restored. */
#ifndef RUN_RESUME_H
#define RUN_RESUME_H

#include "formats/safetensors.h"
#include "run/rundir.h"
#include "run/trainer.h"

typedef struct {
    StFile file;
    char path[RUN_DIR_LEN + 32];
    int open;
} Resume;

/* c holds the parsed command line (c->resume set); on return, the run's resolved options.
 * Exits with 2 when an option that defines the run differs, 1 on an unreadable checkpoint. */
void resume_open(Resume *r, Config *c, int argc, char **argv);
/* After trainer_setup (which loaded the model from r->file): the rest of the state. */
void resume_apply(Resume *r, Trainer *t);
void resume_close(Resume *r);

#endif
