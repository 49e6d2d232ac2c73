/* resolve.h: from the options to the plain structs the layers below take, once, before any
 * work: the model (model files read, the spec built), the optimizer's hyper-parameters and
 * the schedule. Nothing below the run layer looks at a Config or at an option's name. */
#ifndef RUN_RESOLVE_H
#define RUN_RESOLVE_H

#include "nn/model.h"
#include "optim/optim.h"
#include "optim/sched.h"
#include "run/config.h"

/* The options of a command that takes run flags: defaults, the command line (from argv[1]),
 * the model resolved, defaults that depend on the optimizer and schedule filled, every
 * cross-option check. Exits with 2 and a message on a bad flag. */
void resolve_options(Config *c, int argc, char **argv);
/* Resolves c->model in place: a model file (a path, or NAME for models/NAME.model) is read
 * and its settings applied as defaults that flags given on the command line override; a
 * list-form model is written in its canonical form. Afterwards c->model holds the model
 * itself (sizes or list form), so a stored config needs no file. Refuses --act, --norm and
 * --dropout given for a model that lists its layers. Returns 0, or -1 with err. */
int resolve_model(Config *c, char *err);
/* The spec of a resolved model, its loss included. */
int resolve_model_spec(const Config *c, ModelSpec *m, char *err);
OptimHyper resolve_optim_hyper(const Config *c);
Schedule resolve_schedule(const Config *c);

#endif
