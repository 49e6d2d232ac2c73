/* fsio.c: checked writes and atomic file replacement, see fsio.h. */
#include "util/fsio.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fsio_write_fd(int fd, const void *p, size_t n, const char *path, char *err) {
    const char *c = p;
    while (n > 0) {
        ssize_t got = write(fd, c, n > (1u << 30) ? (1u << 30) : n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return errf(err, "%s: write failed: %s", path, strerror(errno));
        if (got == 0) return errf(err, "%s: write failed: no progress", path);
        c += got;
        n -= (size_t)got;
    }
    return 0;
}

int fsio_sync_fd(int fd, const char *path, char *err) {
    if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP)   /* EINVAL: a pipe or tty */
        return errf(err, "%s: fsync failed: %s", path, strerror(errno));
    return 0;
}

int fsio_sync_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash) dir = xstrdup(".");
    else if (slash == path) dir = xstrdup("/");
    else {
        size_t n = (size_t)(slash - path);
        dir = xmalloc(n + 1);
        memcpy(dir, path, n);
        dir[n] = 0;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    /* some file systems cannot fsync a directory; that is not a failure of the write */
    if (rc != 0 && (errno == EINVAL || errno == ENOTSUP)) rc = 0;
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

int fsio_begin(FsAtomic *a, const char *path, char *err) {
    size_t n = strlen(path) + 32;
    a->path = xstrdup(path);
    a->tmp = xmalloc(n);
    snprintf(a->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (a->fd >= 0) return 0;
    int rc = errf(err, "%s: cannot create temporary file: %s", path, strerror(errno));
    free(a->path);
    free(a->tmp);
    a->path = a->tmp = NULL;
    return rc;
}

int fsio_write(FsAtomic *a, const void *p, size_t n, char *err) {
    return fsio_write_fd(a->fd, p, n, a->path, err);
}

void fsio_abort(FsAtomic *a) {
    if (!a->tmp) return;
    if (a->fd >= 0) close(a->fd);
    unlink(a->tmp);
    free(a->path);
    free(a->tmp);
    a->path = a->tmp = NULL;
    a->fd = -1;
}

int fsio_commit(FsAtomic *a, char *err) {
    if (fsio_sync_fd(a->fd, a->path, err) != 0) { fsio_abort(a); return -1; }
    int fd = a->fd;
    a->fd = -1;
    if (close(fd) != 0) {
        int rc = errf(err, "%s: close failed: %s", a->path, strerror(errno));
        fsio_abort(a);
        return rc;
    }
    if (rename(a->tmp, a->path) != 0) {
        int rc = errf(err, "%s: cannot rename the temporary file over it: %s", a->path, strerror(errno));
        fsio_abort(a);
        return rc;
    }
    int rc = 0;
    if (fsio_sync_dir(a->path) != 0)
        rc = errf(err, "%s: written, but fsync of its directory failed: %s", a->path, strerror(errno));
    free(a->path);
    free(a->tmp);
    a->path = a->tmp = NULL;
    return rc;
}

int fsio_replace(const char *path, const void *p, size_t n, char *err) {
    FsAtomic a;
    if (fsio_begin(&a, path, err) != 0) return -1;
    if (fsio_write(&a, p, n, err) != 0) { fsio_abort(&a); return -1; }
    return fsio_commit(&a, err);
}

static void check_stdout(void) {
    /* fclose, not only fflush: a close can report what delayed writes found */
    if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
        if (errno == EBADF) return;   /* stdout was closed on purpose */
        fprintf(stderr, "train: stdout: %s\n", strerror(errno));
        _exit(EXIT_FAIL);
    }
}

void fsio_check_stdout_at_exit(void) {
    atexit(check_stdout);
}
