/* runlog.c: log.csv, the progress display and summary.json. */
#include "run/runlog.h"
#include "run/dist.h"
#include "run/rundir.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char *CSV_COLUMNS =
    "step,epoch,lr,loss,acc,grad_norm,val_loss,val_acc,samples_per_s,seconds,skipped";

/* Keeps the header and the rows up to resume_step; later rows belong to steps that the
 * resumed run is about to redo, and would otherwise appear twice. */
static int truncate_log(const char *path, const char *header, long resume_step, char *err) {
    char *text = read_file(path, NULL, err);
    if (!text) return -1;
    size_t header_len = strlen(header);
    if (strncmp(text, header, header_len) != 0 || text[header_len] != '\n') {
        free(text);
        return errf(err, "%s: its header is not this run's log header (edited by hand?)", path);
    }
    FILE *f = fopen(path, "w");
    if (!f) { free(text); return errf(err, "%s: %s", path, strerror(errno)); }
    fprintf(f, "%s\n", header);
    /* A row survives only if it is complete (as many cells as the header): a kill can
     * leave half a line at the end, whose cut-off step number must not pass for a real one. */
    int cells = 1;
    for (const char *p = header; *p; p++) cells += *p == ',';
    char *save = NULL;
    for (char *line = strtok_r(text + header_len + 1, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *end;
        long step = strtol(line, &end, 10);
        int n = 1;
        for (const char *p = line; *p; p++) n += *p == ',';
        if (end != line && *end == ',' && step <= resume_step && n == cells) fprintf(f, "%s\n", line);
    }
    free(text);
    return fclose(f) == 0 ? 0 : errf(err, "%s: %s", path, strerror(errno));
}

void runlog_init(RunLog *r, const Config *c) {
    memset(r, 0, sizeof *r);
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
        int rc = truncate_log(csv, header.s, resume_step, err);
        sb_free(&header);
        if (rc != 0 || rundir_write_config(r->dir, c, err) != 0) return -1;
    } else {
        if (rundir_create(r->dir, c, err) != 0) { sb_free(&header); return -1; }
        rundir_path(r->dir, RUN_LOG, csv, sizeof csv);
        FILE *f = fopen(csv, "w");
        int ok = f && fprintf(f, "%s\n", header.s) > 0;
        if (f && fclose(f) != 0) ok = 0;
        sb_free(&header);
        if (!ok) return errf(err, "%s: %s", csv, strerror(errno));
    }
    r->csv = fopen(csv, "a");
    if (!r->csv) return errf(err, "%s: %s", csv, strerror(errno));
    return 0;
}

static void cell(FILE *f, const char *fmt, double v) {
    fputc(',', f);
    if (!isnan(v)) fprintf(f, fmt, v);
}

void runlog_row(RunLog *r, const LogRow *row, const double *extra, int n_extra) {
    if (!r->csv) return;   /* not rank 0 */
    fprintf(r->csv, "%ld,%.4f,%.9g", row->step, row->epoch, row->lr);
    cell(r->csv, "%.9g", row->loss);
    cell(r->csv, "%.6g", row->acc);
    cell(r->csv, "%.9g", row->grad_norm);
    cell(r->csv, "%.9g", row->val_loss);
    cell(r->csv, "%.6g", row->val_acc);
    cell(r->csv, "%.1f", row->samples_per_s);
    cell(r->csv, "%.3f", now_seconds() - r->start);
    fprintf(r->csv, ",%ld", row->skipped);
    for (int i = 0; i < n_extra; i++) cell(r->csv, "%.6g", extra[i]);
    fputc('\n', r->csv);
}

void runlog_flush(RunLog *r) {
    if (r->csv && fflush(r->csv) == 0) fsync(fileno(r->csv));
}

void runlog_close(RunLog *r) {
    if (r->csv) fclose(r->csv);
    r->csv = NULL;
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
    sb_printf(&b, ",\n  \"best_step\": %ld,\n  \"kept_step\": %ld,\n  \"stopped\": \"%s\",\n"
              "  \"skipped_steps\": %ld,\n  \"params\": %ld,\n  \"seed\": %ld\n}\n",
              s->best_step, s->kept_step, s->stopped, s->skipped_steps, s->params, s->seed);
    FILE *f = fopen(path, "w");
    if (!f || fputs(b.s, f) < 0 || fclose(f) != 0) fatal(EXIT_FAIL, "%s: cannot write", path);
    sb_free(&b);
}
