/* runlog.c: log.csv, the progress display and summary.json. */
#include "run/runlog.h"
#include "run/dist.h"
#include "run/rundir.h"
#include "util/fsio.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* pending rows are written out (without fsync) beyond this many bytes */
#define LOG_PENDING_MAX (1 << 16)

static const char *CSV_COLUMNS =
    "step,epoch,lr,loss,acc,grad_norm,val_loss,val_acc,samples_per_s,seconds,skipped";

/* A resumed run's log (already cut at its checkpoint, recover.h) must start with this run's
 * header: the rows that follow are appended to it. */
static int check_header(const char *path, const char *header, char *err) {
    char *text = read_file(path, NULL, err);
    if (!text) return -1;
    size_t header_len = strlen(header);
    int ok = strncmp(text, header, header_len) == 0 && text[header_len] == '\n';
    free(text);
    return ok ? 0 : errf(err, "%s: its header is not this run's log header (edited by hand?)", path);
}

/* Puts the pending rows into the file (fsync: durable); a failed write ends the run (exit 1)
 * before any checkpoint can claim rows the log does not have. */
static void write_pending(RunLog *r, int sync) {
    char path[sizeof r->dir + 32], err[ERR_LEN];
    rundir_path(r->dir, RUN_LOG, path, sizeof path);
    if (r->pending.len && fsio_write_fd(r->fd, r->pending.s, r->pending.len, path, err) != 0)
        fatal(EXIT_FAIL, "%s", err);
    r->bytes += (long)r->pending.len;
    r->pending.len = 0;
    r->pending.s[0] = 0;
    if (sync && fsio_sync_fd(r->fd, path, err) != 0) fatal(EXIT_FAIL, "%s", err);
}

void runlog_init(RunLog *r, const Config *c) {
    memset(r, 0, sizeof *r);
    r->fd = -1;
    r->base_step = -1;
    r->quiet = c->quiet || !dist_is_root();   /* one progress display for all ranks */
    r->tty = isatty(2);
    r->start = now_seconds();
}

int runlog_open(RunLog *r, const Config *c, long resume_step, const char *extra_columns,
                char *err) {
    char csv[sizeof r->dir + 32];
    StrBuf header;
    sb_init(&header);
    sb_printf(&header, "%s%s", CSV_COLUMNS, extra_columns);
    runlog_init(r, c);
    sb_init(&r->pending);
    int rc = 0;
    if (!dist_is_root()) {   /* rank 0 writes the run directory; the others only name it */
        if (resume_step >= 0) snprintf(r->dir, sizeof r->dir, "%s", c->resume);
        else snprintf(r->dir, sizeof r->dir, "%s/%s", c->runs_dir, c->run);
        sb_free(&header);
        return 0;
    }
    if (resume_step >= 0) {
        snprintf(r->dir, sizeof r->dir, "%s", c->resume);
        rundir_path(r->dir, RUN_LOG, csv, sizeof csv);
        rundir_remove_temporaries(r->dir);
        rc = check_header(csv, header.s, err);
        if (rc == 0) rc = rundir_write_config(r->dir, c, err);
        if (rc == 0 && (r->fd = open(csv, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
            rc = errf(err, "%s: %s", csv, strerror(errno));
        if (rc == 0) r->bytes = (long)lseek(r->fd, 0, SEEK_END);
    } else {
        rc = rundir_stage(r->dir, c, err);
        rundir_path(r->dir, RUN_LOG, csv, sizeof csv);
        if (rc == 0 && (r->fd = open(csv, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0666)) < 0)
            rc = errf(err, "%s: %s", csv, strerror(errno));
        if (rc == 0) sb_printf(&r->pending, "%s\n", header.s);   /* on disk with the first checkpoint */
    }
    sb_free(&header);
    return rc;
}

static void cell(StrBuf *b, const char *fmt, double v) {
    sb_append(b, ",");
    if (!isnan(v)) sb_printf(b, fmt, v);
}

void runlog_row(RunLog *r, const LogRow *row, const double *extra, int n_extra) {
    if (r->fd < 0) return;   /* not rank 0 */
    StrBuf *b = &r->pending;
    sb_printf(b, "%ld,%.4f,%.9g", row->step, row->epoch, row->lr);
    cell(b, "%.9g", row->loss);
    cell(b, "%.6g", row->acc);
    cell(b, "%.9g", row->grad_norm);
    cell(b, "%.9g", row->val_loss);
    cell(b, "%.6g", row->val_acc);
    cell(b, "%.1f", row->samples_per_s);
    cell(b, "%.3f", now_seconds() - r->start);
    sb_printf(b, ",%ld", row->skipped);
    for (int i = 0; i < n_extra; i++) cell(b, "%.6g", extra[i]);
    sb_append(b, "\n");
    if (b->len >= LOG_PENDING_MAX) write_pending(r, 0);
}

void runlog_flush(RunLog *r) {
    if (r->fd >= 0) write_pending(r, 1);
}

void runlog_close(RunLog *r) {
    if (r->fd < 0) { sb_free(&r->pending); return; }   /* not rank 0, or closed */
    runlog_flush(r);
    char path[sizeof r->dir + 32];
    rundir_path(r->dir, RUN_LOG, path, sizeof path);
    if (close(r->fd) != 0) fatal(EXIT_FAIL, "%s: close failed: %s", path, strerror(errno));
    r->fd = -1;
    sb_free(&r->pending);
}

static void format_duration(char *buf, size_t len, double s) {
    if (!isfinite(s) || s < 0) snprintf(buf, len, "?");
    else if (s < 60) snprintf(buf, len, "%.0fs", s);
    else if (s < 3600) snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, len, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

void progress_update(RunLog *r, long step, long total, double epoch, double lr, double loss,
                     double samples_per_s) {
    if (r->base_step < 0) r->base_step = step - 1;
    if (r->quiet) return;
    double now = now_seconds();
    int last = step == total;
    if (r->tty) {
        if (!last && now - r->last_line < 0.1) return;
    } else if (!last && step - r->last_line_step < (total + 19) / 20 && now - r->last_line < 30) {
        return;
    }
    r->last_line = now;
    r->last_line_step = step;
    /* the rate of this process's own steps: a resumed run did the first ones earlier */
    double elapsed = now - r->start, done = (double)(step - r->base_step);
    char eta[32];
    format_duration(eta, sizeof eta, done > 0 ? elapsed / done * (total - step) : NAN);
    char line[256];
    snprintf(line, sizeof line, "step %ld/%ld | epoch %.2f | lr %.3g | loss %.4f | %.0f samples/s%s | ETA %s",
             step, total, epoch, lr, loss, samples_per_s, dist_ranks_note(), eta);
    if (r->tty) {
        char bar[21];
        int filled = total > 0 ? (int)(20 * step / total) : 20;
        for (int i = 0; i < 20; i++) bar[i] = i < filled ? '#' : '.';
        bar[20] = 0;
        fprintf(stderr, "\r[%s] %s\033[K%s", bar, line, last ? "\n" : "");
    } else {
        fprintf(stderr, "%s\n", line);
    }
    fflush(stderr);
}

void progress_message(RunLog *r, const char *fmt, ...) {
    if (r->quiet) return;
    if (r->tty) fputs("\r\033[K", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    r->last_line = 0;
}

void runlog_summary(const RunLog *r, const Summary *s) {
    if (!dist_is_root()) return;
    char path[RUN_DIR_LEN + 32];
    rundir_path(r->dir, RUN_SUMMARY, path, sizeof path);
    StrBuf b;
    sb_init(&b);
    sb_printf(&b, "{\n  \"run\": ");
    sb_json_string(&b, s->run);
    sb_printf(&b, ",\n  \"steps\": %ld,\n  \"epochs\": ", s->steps);
    sb_json_number(&b, s->epochs);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    const char *keys[] = {"train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc",
                          "best_val_loss", "samples_per_s", "train_seconds", "wall_seconds",
                          "load_seconds", "peak_rss_mb"};
    double vals[] = {s->train_loss, s->train_acc, s->val_loss, s->val_acc, s->test_loss, s->test_acc,
                     s->best_val_loss, s->samples_per_s, s->train_seconds, s->wall_seconds,
                     s->load_seconds, usage.ru_maxrss / 1024.0};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        sb_printf(&b, ",\n  \"%s\": ", keys[i]);
        sb_json_number(&b, vals[i]);
    }
    const char *raw_keys[] = {"train_loss_raw", "train_acc_raw", "val_loss_raw", "val_acc_raw",
                              "test_loss_raw", "test_acc_raw"};
    double raw[] = {s->train_loss_raw, s->train_acc_raw, s->val_loss_raw, s->val_acc_raw,
                    s->test_loss_raw, s->test_acc_raw};
    for (int i = 0; s->has_raw && i < 6; i++) {
        sb_printf(&b, ",\n  \"%s\": ", raw_keys[i]);
        sb_json_number(&b, raw[i]);
    }
    sb_printf(&b, ",\n  \"best_step\": %ld,\n  \"kept_step\": %ld,\n  \"stopped\": \"%s\",\n"
              "  \"skipped_steps\": %ld,\n  \"params\": %ld,\n  \"seed\": %ld\n}\n",
              s->best_step, s->kept_step, s->stopped, s->skipped_steps, s->params, s->seed);
    char err[ERR_LEN];
    if (fsio_replace(path, b.s, b.len, err) != 0) fatal(EXIT_FAIL, "%s", err);
    sb_free(&b);
}
