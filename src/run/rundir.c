/* rundir.c: creating, naming and tidying a run's directory, see rundir.h. */
#include "run/rundir.h"
#include "run/dist.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
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
    FILE *f = fopen(path, "w");
    int ok = f && fputs(b.s, f) >= 0;
    if (f && fclose(f) != 0) ok = 0;
    sb_free(&b);
    return ok ? 0 : errf(err, "%s: %s", path, strerror(errno));
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

int rundir_check_new(const Config *c, char *err) {
    if (!dist_is_root()) return 0;   /* rank 0 may have made it already */
    char dir[RUN_DIR_LEN];
    snprintf(dir, sizeof dir, "%s/%s", c->runs_dir, c->run);
    if (is_dir(dir) && !c->force)
        return errf(err, "%s: run directory exists (use --resume %s to continue it, --force to "
                         "replace it, or another --run name)", dir, dir);
    return 0;
}

int rundir_create(char *dir, const Config *c, char *err) {
    snprintf(dir, RUN_DIR_LEN, "%s/%s", c->runs_dir, c->run);
    if (!dist_is_root()) return 0;   /* rank 0 writes the run directory */
    if (rundir_check_new(c, err) != 0) return -1;
    if (is_dir(dir) && clear_run_dir(dir, err) != 0) return -1;
    if (make_dirs(dir, err) != 0) return -1;
    return rundir_write_config(dir, c, err);
}

/* The rename of a "<file>.tmp.<pid>" never happened, so the file is garbage and the previous
 * checkpoint stands. */
void rundir_remove_temporaries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[PATH_LEN + 600];
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".safetensors.tmp.")) {
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
