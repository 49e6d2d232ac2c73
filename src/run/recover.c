/* recover.c: a resume's repairs, see recover.h. */
#include "run/recover.h"
#include "run/loop.h"
#include "run/rundir.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The end of the last complete row of log.csv (as many cells as the header) whose step is at
 * most `step`: rows are in step order, so the log to keep is a prefix. A kill can leave half
 * a line at the end, whose cut-off step number must not pass for a real one. */
static long row_prefix(const char *text, size_t len, long step) {
    const char *end = memchr(text, '\n', len);
    if (!end) return 0;
    int cells = 1;
    for (const char *p = text; p < end; p++) cells += *p == ',';
    long keep = end + 1 - text;
    for (const char *line = end + 1; line < text + len; line = end + 1) {
        end = memchr(line, '\n', (size_t)(text + len - line));
        if (!end) break;
        char *after;
        long s = strtol(line, &after, 10);
        int n = 1;
        for (const char *p = line; p < end; p++) n += *p == ',';
        if (after == line || *after != ',' || s > step || n != cells) break;
        keep = end + 1 - text;
    }
    return keep;
}

int recover_log(const char *dir, const TrainState *st, char *err) {
    char path[RUN_DIR_LEN + 32];
    rundir_path(dir, RUN_LOG, path, sizeof path);
    size_t len;
    char *text = read_file(path, &len, err);
    if (!text) return -1;
    long keep = st->log_bytes;
    if (keep < 0 || (size_t)keep > len || keep == 0 || text[keep - 1] != '\n') {
        if (keep >= 0)   /* the log lost what it held at the checkpoint */
            warn("warning: %s: %zu bytes, not the %ld it had at step %ld (cut or edited?): keeping "
                 "its complete rows up to that step", path, len, keep, st->step);
        keep = row_prefix(text, len, st->step);
    }
    free(text);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errf(err, "%s: %s", path, strerror(errno));
    int rc = 0;
    if (ftruncate(fd, keep) != 0) rc = errf(err, "%s: cannot cut it at the checkpoint: %s", path, strerror(errno));
    else if (fsync(fd) != 0) rc = errf(err, "%s: fsync failed: %s", path, strerror(errno));
    close(fd);
    return rc;
}

/* One "key": value line of config_to_json's output, or NULL at the end. */
static const char *next_line(const char *p, char *line, size_t len) {
    if (!*p) return NULL;
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    snprintf(line, len, "%.*s", (int)n, p);
    size_t l = strlen(line);
    if (l && line[l - 1] == ',') line[l - 1] = 0;   /* the last member has no comma */
    return nl ? nl + 1 : p + n;
}

void recover_check_config(const char *dir, const Config *stored) {
    char path[RUN_DIR_LEN + 32], err[ERR_LEN];
    rundir_path(dir, RUN_CONFIG, path, sizeof path);
    char *text = read_file(path, NULL, err);
    Json j;
    Config file;
    config_defaults(&file);
    int ok = text && json_parse(text, strlen(text), &j, err) == 0;
    if (ok) {
        ok = config_from_json(&file, &j, err) == 0;
        json_free(&j);
    }
    free(text);
    if (!ok) {
        warn("warning: %s: %s; the checkpoint holds the run's options, and config.json is rewritten "
             "from them", path, err);
        return;
    }
    /* both written by config_to_json: one option per line, so the lines that differ name them */
    StrBuf a, b, diff;
    sb_init(&a); sb_init(&b); sb_init(&diff);
    config_to_json(&file, &a);
    config_to_json(stored, &b);
    char la[PATH_LEN + 64], lb[PATH_LEN + 64];
    const char *pa = a.s, *pb = b.s;
    while ((pa = next_line(pa, la, sizeof la)) && (pb = next_line(pb, lb, sizeof lb)))
        if (strcmp(la, lb)) sb_printf(&diff, "\n  config.json has %s; the checkpoint %s", la + 2, strchr(lb, ':') + 2);
    if (diff.len)
        warn("warning: %s differs from the checkpoint, whose options are the run's (config.json is "
             "rewritten from them; flags given with --resume change what may change):%s", path, diff.s);
    sb_free(&a); sb_free(&b); sb_free(&diff);
}

int recover_summary_final(const char *dir, long step) {
    char path[RUN_DIR_LEN + 32], err[ERR_LEN];
    rundir_path(dir, RUN_SUMMARY, path, sizeof path);
    size_t len;
    char *text = read_file(path, &len, err);
    if (!text) return 0;
    Json j;
    int final = 0;
    if (json_parse(text, len, &j, err) == 0) {
        const Json *steps = json_get(&j, "steps"), *stopped = json_get(&j, "stopped");
        final = steps && steps->type == JSON_NUMBER && steps->number == (double)step && stopped &&
                stopped->type == JSON_STRING && (!strcmp(stopped->string, "completed") ||
                !strcmp(stopped->string, "early-stop") || !strcmp(stopped->string, "overfit"));
        json_free(&j);
    }
    free(text);
    return final;
}

void recover_end(Run *run) {
    Trainer *t = &run->t;
    run->stopped = t->st.stopped;
    run->overfit_done = !strcmp(t->st.stopped, "overfit");
    if (run->overfit_done)   /* as overfit_reached measured it */
        run->overfit_loss = evaluate(&t->net, &t->train, t->scratch_idx, t->labels).loss;
}
