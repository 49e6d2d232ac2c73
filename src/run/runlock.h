/* runlock.h: one process per run directory. A process that writes into a run directory
 * (training, resuming, lr-find) holds an exclusive flock(2) on the directory itself for as
 * long as it lives (the kernel drops it when the process ends, however it ends), so a
 * second `--resume` of the same run, or a `--force` over a run in progress, is refused with
 * the first process's pid instead of both writing the same files. */
#ifndef RUN_RUNLOCK_H
#define RUN_RUNLOCK_H

/* Locks dir until the process exits. Returns 0, or -1 with err = "<dir>: in use by process
 * <pid> ..." when another process holds it (or "<dir>: <why>" when it cannot be opened). */
int runlock_hold(const char *dir, char *err);
/* The pid of the process holding dir's lock, 0 when none (or unknown), without taking it. */
long runlock_holder(const char *dir);

#endif
