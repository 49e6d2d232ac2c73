/* machine.h: how much memory this process may use, for refusing up front (with the figure)
 * work that cannot fit, instead of allocating until the kernel's OOM killer ends the process. */
#ifndef UTIL_MACHINE_H
#define UTIL_MACHINE_H

#include <stddef.h>

/* The machine's physical memory, or the process's address-space or data limit (ulimit -v,
 * ulimit -d) when one is set lower. */
double machine_memory_bytes(void);
/* "23.5 GiB", "812.0 MiB", "7.3 TiB": bytes in binary units, one decimal. */
void format_bytes(double bytes, char *buf, size_t len);

#endif
