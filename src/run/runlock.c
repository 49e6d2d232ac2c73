/* runlock.c: the run directory's lock, see runlock.h. flock(2) does not say who holds a
 * lock; Linux lists every lock in /proc/locks ("1: FLOCK ADVISORY WRITE <pid>
 * <major>:<minor>:<inode> 0 EOF", device numbers in hex), where the directory's device and
 * inode find the holder's pid. */
#include "run/runlock.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static long holder_of(const struct stat *st) {
    FILE *f = fopen("/proc/locks", "r");
    if (!f) return 0;
    char line[256];
    long pid = 0;
    while (!pid && fgets(line, sizeof line, f)) {
        char kind[16];
        long p;
        unsigned maj, min;
        unsigned long long ino;
        if (sscanf(line, "%*[^:]: %15s %*s %*s %ld %x:%x:%llu", kind, &p, &maj, &min, &ino) == 5 &&
            !strcmp(kind, "FLOCK") && maj == major(st->st_dev) && min == minor(st->st_dev) &&
            ino == (unsigned long long)st->st_ino)
            pid = p;
    }
    fclose(f);
    return pid;
}

long runlock_holder(const char *dir) {
    struct stat st;
    if (stat(dir, &st) != 0) return 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return 0;
    long pid = 0;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) pid = holder_of(&st);
    close(fd);   /* a lock it took is released with it */
    return pid;
}

int runlock_hold(const char *dir, char *err) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errf(err, "%s: %s", dir, strerror(errno));
    struct stat mine, now;
    if (fstat(fd, &mine) != 0) { close(fd); return errf(err, "%s: %s", dir, strerror(errno)); }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e != EWOULDBLOCK) {   /* a file system without flock: go on, unprotected */
            warn("warning: %s: cannot lock the run directory (%s): nothing stops a second process "
                 "from writing into it", dir, strerror(e));
            return 0;
        }
        long pid = holder_of(&mine);
        if (pid > 0)
            return errf(err, "%s: in use by process %ld (a run is writing into it; wait for it to end "
                        "or stop it first)", dir, pid);
        return errf(err, "%s: in use by another process (a run is writing into it)", dir);
    }
    /* the name may have been given to another directory between open and flock */
    if (stat(dir, &now) != 0 || now.st_dev != mine.st_dev || now.st_ino != mine.st_ino) {
        close(fd);
        return errf(err, "%s: replaced by another process while being locked", dir);
    }
    return 0;   /* fd stays open, and the lock held, until the process ends */
}
