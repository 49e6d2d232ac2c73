/* machine.c: the memory a process may use, see machine.h. */
#include "util/machine.h"

#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

double machine_memory_bytes(void) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double bytes = pages > 0 && page > 0 ? (double)pages * (double)page : 1e18;
    int limits[] = {RLIMIT_AS, RLIMIT_DATA};
    for (int i = 0; i < 2; i++) {
        struct rlimit rl;
        if (getrlimit(limits[i], &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (double)rl.rlim_cur < bytes)
            bytes = (double)rl.rlim_cur;
    }
    return bytes;
}

void format_bytes(double bytes, char *buf, size_t len) {
    static const char *units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    while (bytes >= 1024 && u < 6) { bytes /= 1024; u++; }
    if (u == 0) snprintf(buf, len, "%.0f bytes", bytes);
    else snprintf(buf, len, "%.1f %s", bytes, units[u]);
}
