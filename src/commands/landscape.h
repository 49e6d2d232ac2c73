/* landscape.h: `train landscape`: the loss of a network along a line between two
 * checkpoints, or over a plane through one. */
#ifndef COMMANDS_LANDSCAPE_H
#define COMMANDS_LANDSCAPE_H

int cmd_landscape(int argc, char **argv);

#endif
