/* fault_inject.c: an LD_PRELOAD shim that counts the file-system operations a process makes
 * under one directory and, at the Nth of them, kills the process, fails the operation with
 * ENOSPC, or sends the process SIGTERM. Used by tests/test_reliability.c to put a kill (or a
 * full disk) exactly where a window is too small to hit by chance: mid-write of a checkpoint,
 * between a write and its rename, inside the cut of log.csv, ...
 *
 * The operations: write (of a file; a kill there first writes half the bytes, so the file is
 * cut mid-buffer), fsync, ftruncate, rename, unlink, mkdir, rmdir. The environment says what
 * to do:
 *   FAULT_DIR     count only operations on paths under this directory (required)
 *   FAULT_FILE    ... and only on files whose name contains this string (optional)
 *   FAULT_OPS     ... and only these operations, comma-separated (default: all of the above)
 *   FAULT_AT      the 1-based number of the operation to act at (0 or absent: never)
 *   FAULT_ACTION  kill (SIGKILL, the default) | enospc (that operation and every later counted
 *                 write fail with ENOSPC) | term (SIGTERM to itself, then the operation runs) |
 *                 stop (SIGSTOP: the process waits there until it gets SIGCONT)
 *   FAULT_COUNT   a file that receives the number of counted operations at exit
 *   FAULT_NOSYNC  when set, counted fsyncs return at once without syncing: a kill test needs
 *                 the kill points, not the durability against power loss, and runs much faster
 *   FAULT_TRACE   when set, one line per counted operation on stderr: "<n> <op> <path>" */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static char dir[PATH_MAX];
static const char *file_part, *ops, *action = "kill";
static long at, count;
static int ready, failing;

static void setup(void) {
    if (ready) return;
    ready = 1;
    const char *d = getenv("FAULT_DIR");
    if (!d || !realpath(d, dir)) dir[0] = 0;
    file_part = getenv("FAULT_FILE");
    ops = getenv("FAULT_OPS");
    if (getenv("FAULT_ACTION")) action = getenv("FAULT_ACTION");
    at = getenv("FAULT_AT") ? atol(getenv("FAULT_AT")) : 0;
}

static int wanted_op(const char *op) {
    if (!ops) return 1;
    size_t n = strlen(op);
    for (const char *p = ops; (p = strstr(p, op)); p += n)
        if ((p == ops || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return 1;
    return 0;
}

/* The canonical path of an existing file's fd, or of a path whose directory exists. */
static int path_of_fd(int fd, char *out) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, PATH_MAX - 1);
    if (n <= 0) return -1;
    out[n] = 0;
    return 0;
}

static int path_of_name(const char *path, char *out) {
    char parent[PATH_MAX], real[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash == parent) snprintf(parent, sizeof parent, "/");
    else if (slash) *slash = 0;
    else snprintf(parent, sizeof parent, ".");
    if (!realpath(parent, real)) return -1;
    return snprintf(out, PATH_MAX, "%s/%s", real, base) < PATH_MAX ? 0 : -1;
}

/* Counts the operation when it is one of ours; returns what to do: 0 go on, 1 fail with
 * ENOSPC, 2 kill (after writing half, for a write). */
static int decide(const char *op, const char *path) {
    setup();
    if (!dir[0] || !wanted_op(op)) return 0;
    size_t n = strlen(dir);
    if (strncmp(path, dir, n) != 0 || (path[n] != '/' && path[n] != 0)) return 0;
    const char *base = strrchr(path, '/');
    if (file_part && !strstr(base ? base + 1 : path, file_part)) return 0;
    count++;
    if (getenv("FAULT_TRACE")) fprintf(stderr, "fault: %ld %s %s\n", count, op, path);
    if (failing && !strcmp(op, "write")) return 1;
    if (at <= 0 || count != at) return 0;
    if (!strcmp(action, "enospc")) { failing = 1; return 1; }
    if (!strcmp(action, "term")) { kill(getpid(), SIGTERM); return 0; }
    if (!strcmp(action, "stop")) { kill(getpid(), SIGSTOP); return 0; }
    return 2;
}

static void die(void) {
    kill(getpid(), SIGKILL);
    _exit(137);
}

/* real_<name>: the function this one stands in front of */
#define REAL(name, ret, args) static ret(*real_##name) args; \
    if (!real_##name) real_##name = (ret(*) args)dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t n) {
    REAL(write, ssize_t, (int, const void *, size_t));
    char path[PATH_MAX];
    struct stat st;
    int what = fd > 2 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && path_of_fd(fd, path) == 0
             ? decide("write", path) : 0;
    if (what == 1) { errno = ENOSPC; return -1; }
    if (what == 2) {
        if (n > 1) real_write(fd, buf, n / 2);
        die();
    }
    return real_write(fd, buf, n);
}

static int fd_op(const char *op, int fd) {
    char path[PATH_MAX];
    int what = path_of_fd(fd, path) == 0 ? decide(op, path) : 0;
    if (what == 2) die();
    if (what == 1) { errno = ENOSPC; return -1; }
    return 0;
}

static int name_op(const char *op, const char *name) {
    char path[PATH_MAX];
    int what = path_of_name(name, path) == 0 ? decide(op, path) : 0;
    if (what == 2) die();
    if (what == 1) { errno = ENOSPC; return -1; }
    return 0;
}

int fsync(int fd) {
    REAL(fsync, int, (int));
    long before = count;
    if (fd_op("fsync", fd) != 0) return -1;
    return count > before && getenv("FAULT_NOSYNC") ? 0 : real_fsync(fd);
}

int ftruncate(int fd, off_t len) {
    REAL(ftruncate, int, (int, off_t));
    return fd_op("ftruncate", fd) != 0 ? -1 : real_ftruncate(fd, len);
}

int rename(const char *from, const char *to) {
    REAL(rename, int, (const char *, const char *));
    return name_op("rename", to) != 0 ? -1 : real_rename(from, to);
}

int unlink(const char *path) {
    REAL(unlink, int, (const char *));
    return name_op("unlink", path) != 0 ? -1 : real_unlink(path);
}

int mkdir(const char *path, mode_t mode) {
    REAL(mkdir, int, (const char *, mode_t));
    return name_op("mkdir", path) != 0 ? -1 : real_mkdir(path, mode);
}

int rmdir(const char *path) {
    REAL(rmdir, int, (const char *));
    return name_op("rmdir", path) != 0 ? -1 : real_rmdir(path);
}

__attribute__((destructor)) static void report(void) {
    const char *path = getenv("FAULT_COUNT");
    if (!path) return;
    FILE *f = fopen(path, "w");
    if (f) { fprintf(f, "%ld\n", count); fclose(f); }
}
