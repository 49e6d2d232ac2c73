/* gradcheck.h: `train gradcheck`: exit 0 when every layer's gradient and Hessian-vector
 * product match finite differences, 1 otherwise. */
#ifndef COMMANDS_GRADCHECK_H
#define COMMANDS_GRADCHECK_H

int cmd_gradcheck(int argc, char **argv);

#endif
