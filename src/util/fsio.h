/* fsio.h: checked file output. Every write, flush, sync, close and rename is checked, and a
 * failure is reported as "<path>: <what failed>: <strerror(errno)>" (the errno text says why:
 * "No space left on device", "Input/output error", ...).
 *
 * Whole files are replaced atomically: written to "<path>.tmp.<pid>" in the same directory,
 * fsynced, renamed over path, and the directory fsynced, so a reader (or a process killed at
 * any instruction) sees the old file or the new one, never a mix; on failure the temporary
 * file is removed and the old file is untouched. Everything goes through write(2), so a
 * test can interpose it (tests/fault_inject.c). */
#ifndef UTIL_FSIO_H
#define UTIL_FSIO_H

#include <stddef.h>

/* A file being replaced atomically. */
typedef struct {
    int fd;
    char *path, *tmp;
} FsAtomic;

/* Opens "<path>.tmp.<pid>" for writing. Returns 0, or -1 with err. */
int fsio_begin(FsAtomic *a, const char *path, char *err);
/* Appends n bytes. Returns 0, or -1 with err (the file is then abandoned: fsio_abort). */
int fsio_write(FsAtomic *a, const void *p, size_t n, char *err);
/* fsync, close, rename over the target, fsync of the directory. Returns 0, or -1 with err;
 * either way the FsAtomic is finished (nothing left to abort). */
int fsio_commit(FsAtomic *a, char *err);
/* Closes and removes the temporary file; the target is untouched. */
void fsio_abort(FsAtomic *a);
/* The three in one: path's new content is p[0..n). */
int fsio_replace(const char *path, const void *p, size_t n, char *err);

/* write(2) until all n bytes are written (retrying short writes and EINTR). Returns 0, or -1
 * with err = "<path>: write failed: <why>". */
int fsio_write_fd(int fd, const void *p, size_t n, const char *path, char *err);
/* fsync(2) with the same reporting. */
int fsio_sync_fd(int fd, const char *path, char *err);
/* fsync of the directory holding path, so that a rename in it is durable. File systems that
 * cannot sync a directory are not an error. Returns 0, or -1 with errno set. */
int fsio_sync_dir(const char *path);

/* At exit, stdout is flushed and checked: output lost to a full disk or a closed pipe turns
 * the exit status into 1 with "train: stdout: <why>". Call once, early. */
void fsio_check_stdout_at_exit(void);

#endif
