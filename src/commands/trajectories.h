/* trajectories.h: `train trajectories`: optimizers on 2-D test functions (SVG, CSV, table). */
#ifndef COMMANDS_TRAJECTORIES_H
#define COMMANDS_TRAJECTORIES_H

int cmd_trajectories(int argc, char **argv);

#endif
