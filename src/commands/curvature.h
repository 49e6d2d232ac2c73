/* curvature.h: `train curvature RUN|CKPT`: Hessian eigenvalues and trace of a checkpoint's
 * training loss. */
#ifndef COMMANDS_CURVATURE_H
#define COMMANDS_CURVATURE_H

int cmd_curvature(int argc, char **argv);

#endif
