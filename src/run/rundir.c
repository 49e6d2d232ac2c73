/* rundir.c: creating, naming and tidying a run's directory, see rundir.h. */
#include "run/rundir.h"
#include "run/dist.h"
#include "run/runlock.h"
#include "util/fsio.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void rundir_path(const char *dir, const char *file, char *out, size_t len) {
    snprintf(out, len, "%s/%s", dir, file);
}

/* mkdir -p */
static int make_dirs(const char *path, char *err) {
    char buf[PATH_LEN + 300];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == 0) {
            char saved = *p;
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) return errf(err, "%s: %s", buf, strerror(errno));
            if (!is_dir(buf)) return errf(err, "%s: exists and is not a directory", buf);
            *p = saved;
            if (!saved) break;
        }
    }
    return 0;
}

/* Empties a run directory for --force: only regular files (what a run writes) are removed. */
static int clear_run_dir(const char *dir, char *err) {
    DIR *d = opendir(dir);
    if (!d) return errf(err, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    char path[PATH_LEN + 600];
    int rc = 0;
    while ((e = readdir(d)) && rc == 0) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (!is_file(path)) rc = errf(err, "%s: not a run directory (holds %s)", dir, e->d_name);
        else if (unlink(path) != 0) rc = errf(err, "%s: %s", path, strerror(errno));
    }
    closedir(d);
    return rc;
}

int rundir_write_config(const char *dir, const Config *c, char *err) {
    char path[RUN_DIR_LEN + 32];
    rundir_path(dir, RUN_CONFIG, path, sizeof path);
    StrBuf b;
    sb_init(&b);
    config_to_json(c, &b);
    int rc = fsio_replace(path, b.s, b.len, err);
    sb_free(&b);
    return rc;
}

void rundir_default_name(Config *c, const char *kind) {
    if (c->run[0]) return;
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(c->run, sizeof c->run, "%s-%.200s", stamp, kind);
}

/* 1 if dir is a directory with no entries (a run never published into it: nothing to lose). */
static int is_empty_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d))) empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    closedir(d);
    return empty;
}

int rundir_check_new(const Config *c, char *err) {
    if (!dist_is_root()) return 0;   /* rank 0 may have made it already */
    char dir[RUN_DIR_LEN];
    snprintf(dir, sizeof dir, "%s/%s", c->runs_dir, c->run);
    if (!is_dir(dir) || is_empty_dir(dir)) return 0;
    long pid = runlock_holder(dir);
    if (pid > 0) return errf(err, "%s: in use by process %ld (a run is writing into it)", dir, pid);
    if (!c->force)
        return errf(err, "%s: run directory exists (use --resume %s to continue it, --force to "
                         "replace it, or another --run name)", dir, dir);
    return 0;
}

/* ---- a new run directory appears whole: it is built as runs_dir/.NAME.tmp.<pid> and renamed
 * to runs_dir/NAME once it holds config.json, the log's header and the initial checkpoint.
 * rename(2) does not replace a directory that has entries, so of two runs started with one
 * name at once the second fails instead of mixing its files into the first's. */
static char staged[RUN_DIR_LEN];   /* a staging directory not yet published */

/* Removes a directory holding only regular files (a run's own). */
static void remove_run_dir(const char *dir) {
    char err[ERR_LEN];
    if (clear_run_dir(dir, err) == 0) rmdir(dir);
}

static void remove_unpublished(void) {
    if (staged[0]) remove_run_dir(staged);
}

/* Staging directories of this run name left by processes that were killed. */
static void remove_stale_stages(const char *runs_dir, const char *run) {
    DIR *d = opendir(runs_dir);
    if (!d) return;
    char prefix[300], path[RUN_DIR_LEN + 300];
    snprintf(prefix, sizeof prefix, ".%s.tmp.", run);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix))) continue;
        long pid = atol(e->d_name + strlen(prefix));
        if (pid <= 0 || pid == (long)getpid() || (kill((pid_t)pid, 0) != 0 && errno == ESRCH)) {
            snprintf(path, sizeof path, "%s/%s", runs_dir, e->d_name);
            remove_run_dir(path);
        }
    }
    closedir(d);
}

int rundir_stage(char *dir, const Config *c, char *err) {
    char final[RUN_DIR_LEN];
    snprintf(final, sizeof final, "%s/%s", c->runs_dir, c->run);
    if (rundir_check_new(c, err) != 0 || make_dirs(c->runs_dir, err) != 0) return -1;
    remove_stale_stages(c->runs_dir, c->run);
    if (is_dir(final) && !is_empty_dir(final)) {   /* --force: held while it is emptied */
        if (runlock_hold(final, err) != 0 || clear_run_dir(final, err) != 0) return -1;
    }
    snprintf(dir, RUN_DIR_LEN, "%s/.%s.tmp.%ld", c->runs_dir, c->run, (long)getpid());
    if (mkdir(dir, 0777) != 0) return errf(err, "%s: cannot create a run directory there: %s", c->runs_dir, strerror(errno));
    if (!staged[0]) atexit(remove_unpublished);
    snprintf(staged, sizeof staged, "%s", dir);
    if (runlock_hold(dir, err) != 0) return -1;
    return rundir_write_config(dir, c, err);
}

int rundir_publish(char *dir, const Config *c, char *err) {
    char final[RUN_DIR_LEN];
    snprintf(final, sizeof final, "%s/%s", c->runs_dir, c->run);
    if (rename(dir, final) != 0) {
        int e = errno;
        long pid = runlock_holder(final);
        if (pid > 0) return errf(err, "%s: in use by process %ld (it created the run while this one started)", final, pid);
        if (e == ENOTEMPTY || e == EEXIST)
            return errf(err, "%s: run directory exists (another process created it while this run "
                        "started; use another --run name)", final);
        return errf(err, "%s: cannot create it: %s", final, strerror(e));
    }
    staged[0] = 0;
    snprintf(dir, RUN_DIR_LEN, "%s", final);
    if (fsio_sync_dir(final) != 0) return errf(err, "%s: fsync of %s failed: %s", final, c->runs_dir, strerror(errno));
    return 0;
}

int rundir_create(char *dir, const Config *c, char *err) {
    return rundir_stage(dir, c, err) != 0 ? -1 : rundir_publish(dir, c, err);
}

/* The rename of a "<file>.tmp.<pid>" never happened, so the file is garbage and the previous
 * file (a checkpoint, summary.json, a plot) stands. Called only under the run's lock, when no
 * other process can be writing one. */
void rundir_remove_temporaries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[PATH_LEN + 600];
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
}

/* Names sort by step, so the oldest are the first in name order. */
static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void rundir_keep_newest(const char *dir, long keep) {
    DIR *d = opendir(dir);
    if (!d) return;
    char **names = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "step-", 5) || len < 12 || strcmp(e->d_name + len - 12, ".safetensors")) continue;
        names = xrealloc(names, sizeof(char *) * (size_t)(n + 1));
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    if (n > 1) qsort(names, (size_t)n, sizeof *names, by_name);
    for (int i = 0; i < n; i++) {
        if (i < n - keep) {
            char path[RUN_DIR_LEN + 300];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            if (unlink(path) != 0) warn("%s: cannot remove: %s", path, strerror(errno));
        }
        free(names[i]);
    }
    free(names);
}
