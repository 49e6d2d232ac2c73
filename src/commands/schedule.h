/* schedule.h: `train schedule [flags]`: lr (and cycled momentum) of every step as CSV,
 * plus an SVG. */
#ifndef COMMANDS_SCHEDULE_H
#define COMMANDS_SCHEDULE_H

int cmd_schedule(int argc, char **argv);

#endif
