/* checkpoint.c: the training state's mapping onto safetensors tensors and metadata. */
#include "run/checkpoint.h"
#include "optim/closure.h"
#include "util/util.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT "train-checkpoint/3"
#define FORMAT_PREFIX "train-checkpoint/"
#define OPT_PREFIX "optimizer."

static void set_shape(StTensor *t, int ndim, const int *shape) {
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
}

int ckpt_save(const char *path, const Net *n, const Config *c, const TrainState *s,
              const Optim *o, char *err) {
    int n_opt = o ? o->n_states : 0, count = 0;
    StTensor *t = xcalloc((size_t)(n->n_tensors + n_opt + s->n_extra + 1), sizeof(StTensor));
    char (*names)[80] = xcalloc((size_t)(n_opt + 1), sizeof *names);
    for (int i = 0; i < n->n_tensors; i++) {
        const NetTensor *p = &n->tensors[i];
        StTensor *x = &t[count++];
        x->name = (char *)p->name;
        set_shape(x, p->ndim, p->shape);
        if (p->is_counter) { x->dtype = ST_I64; x->i64 = n->counters + p->offset; }
        else x->data = net_tensor_data(n, p);
    }
    for (int i = 0; i < n_opt; i++) {
        const OptState *st = &o->states[i];
        snprintf(names[i], sizeof names[i], OPT_PREFIX "%s.%s", o->tensors[st->tensor].name, st->name);
        StTensor *x = &t[count++];
        x->name = names[i];
        set_shape(x, st->ndim, st->shape);
        x->data = o->state + st->offset;
    }
    for (int i = 0; i < s->n_extra; i++) t[count++] = s->extra[i];
    StrBuf config, num[10];
    sb_init(&config);
    config_to_json(c, &config);
    for (int i = 0; i < 10; i++) sb_init(&num[i]);
    sb_printf(&num[0], "%ld", s->step);
    sb_printf(&num[1], "%ld", s->samples);
    sb_printf(&num[2], "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %ld %ld",
              s->sampler_epoch_rng.state, s->sampler_epoch_rng.inc, s->sampler_rng.state,
              s->sampler_rng.inc, s->sampler_epoch, s->sampler_pos);
    sb_printf(&num[3], "%" PRIu64 " %" PRIu64, s->dropout_rng.state, s->dropout_rng.inc);
    sb_printf(&num[4], "%.17g", s->best_val_loss);
    sb_printf(&num[5], "%ld", s->best_step);
    sb_printf(&num[6], "%.17g", s->train_seconds);
    sb_printf(&num[7], "%ld", s->skipped);
    sb_printf(&num[8], "%ld", s->bad_evals);
    sb_printf(&num[9], "%ld", s->log_bytes);
    char scalars[512] = "", stream[64] = "";
    if (o) {
        optim_scalars_text(o, scalars, sizeof scalars);
        optim_rng_text(o, stream, sizeof stream);
    }
    StrBuf noise;
    sb_init(&noise);
    sb_printf(&noise, "%.17g %.17g", s->noise.g2, s->noise.tr);
    StMeta meta[17] = {
        {"format", FORMAT}, {"config", config.s}, {"step", num[0].s}, {"samples", num[1].s},
        {"sampler", num[2].s}, {"dropout_rng", num[3].s}, {"best_val_loss", num[4].s},
        {"best_step", num[5].s}, {"train_seconds", num[6].s}, {"optimizer", (char *)c->opt},
        {"skipped", num[7].s}, {"bad_evals", num[8].s}, {"log_bytes", num[9].s},
        {"stopped", (char *)s->stopped},
    };
    int n_meta = 14;
    if (scalars[0]) meta[n_meta++] = (StMeta){"optimizer_scalars", scalars};
    if (stream[0]) meta[n_meta++] = (StMeta){"optimizer_rng", stream};
    if (c->log_noise) meta[n_meta++] = (StMeta){"noise_ema", noise.s};   /* only runs that keep it */
    int rc = st_write(path, t, count, meta, n_meta, err);
    free(t);
    free(names);
    sb_free(&config);
    for (int i = 0; i < 10; i++) sb_free(&num[i]);
    sb_free(&noise);
    return rc;
}

static const char *need_meta(const StFile *f, const char *key, const char *path, char *err) {
    const char *v = st_meta_get(f, key);
    if (!v) errf(err, "%s: not a checkpoint of this program (no '%s' in its metadata)", path, key);
    return v;
}

int ckpt_check_origin(const StFile *f, const char *path, char *err) {
    const char *sep = path ? ": " : "", *format = st_meta_get(f, "format");
    path = path ? path : "";
    if (!format || strncmp(format, FORMAT_PREFIX, strlen(FORMAT_PREFIX)) != 0) {
        /* keys only this program writes: a file with them but without its format was edited */
        static const char *ours[] = {"config", "sampler", "dropout_rng", "train_seconds"};
        for (size_t i = 0; i < sizeof ours / sizeof *ours; i++)
            if (st_meta_get(f, ours[i]))
                return errf(err, "%s%sholds training state ('%s') but no '" FORMAT_PREFIX "N' format: "
                            "edited or damaged, refused", path, sep, ours[i]);
        return 0;   /* a file from elsewhere: weights only */
    }
    const char *version = format + strlen(FORMAT_PREFIX);
    if (strcmp(version, "1") && strcmp(version, "2") && strcmp(version, "3"))
        return errf(err, "%s%sformat '%.40s' is not one this program reads (" FORMAT_PREFIX "1 to 3)",
                    path, sep, format);
    if (f->checksum == ST_CRC_NONE)
        return errf(err, "%s%sno crc32 in its metadata, which every file train writes has: edited "
                    "or damaged, refused", path, sep);
    if (f->checksum != ST_CRC_FILE && !strcmp(version, "3"))
        return errf(err, "%s%sits crc32 does not cover the metadata, as format 3's does: edited or "
                    "damaged, refused", path, sep);
    return 0;
}

int ckpt_config(const StFile *f, Config *c, char *err) {
    if (ckpt_check_origin(f, NULL, err) != 0) return -1;
    const char *text = st_meta_get(f, "config");
    if (!text) return errf(err, "no 'config' in its metadata (not written by train)");
    Json j;
    char why[ERR_LEN];
    if (json_parse(text, strlen(text), &j, why) != 0) return errf(err, "stored config: %s", why);
    int rc = config_from_json(c, &j, err);
    json_free(&j);
    return rc;
}

static void shape_text(char *buf, size_t len, int ndim, const int64_t *shape) {
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < ndim && used < len; d++)
        used += (size_t)snprintf(buf + used, len - used, "%s%" PRId64, d ? ", " : "", shape[d]);
    if (used < len) snprintf(buf + used, len - used, "]");
}

/* 1 when the file's tensor has exactly the shape (ndim, shape) */
static int same_shape(const StTensor *t, int ndim, const int *shape) {
    if (t->ndim != ndim) return 0;
    for (int d = 0; d < ndim; d++)
        if (t->shape[d] != shape[d]) return 0;
    return 1;
}

static int check_tensor(const StTensor *t, const char *name, int ndim, const int *shape, int dtype,
                        const char *path, char *err) {
    if (!t) return errf(err, "%s: has no tensor '%s' (a different model?)", path, name);
    if (!same_shape(t, ndim, shape)) {
        char have[96], want[96];
        int64_t w[2] = {shape[0], shape[1]};
        shape_text(have, sizeof have, t->ndim, t->shape);
        shape_text(want, sizeof want, ndim, w);
        return errf(err, "%s: tensor '%s' has shape %s, the model needs %s", path, name, have, want);
    }
    if (t->dtype != dtype)
        return errf(err, "%s: tensor '%s' is %s, expected %s", path, name,
                    t->dtype == ST_I64 ? "I64" : "F32", dtype == ST_I64 ? "I64" : "F32");
    return 0;
}

int ckpt_check_model(const StFile *f, const Net *n, const char *path, char *err) {
    if (ckpt_check_origin(f, path, err) != 0) return -1;
    for (int i = 0; i < n->n_tensors; i++) {
        const NetTensor *p = &n->tensors[i];
        if (check_tensor(st_find(f, p->name), p->name, p->ndim, p->shape,
                         p->is_counter ? ST_I64 : ST_F32, path, err) != 0)
            return -1;
    }
    int model_tensors = 0;
    for (int i = 0; i < f->n_tensors; i++) {   /* not the optimizer's, nor weight averaging's */
        const char *name = f->tensors[i].name;
        model_tensors += strncmp(name, OPT_PREFIX, strlen(OPT_PREFIX)) && strncmp(name, "raw.", 4) &&
                         strcmp(name, "n_averaged");
    }
    if (model_tensors != n->n_tensors)
        return errf(err, "%s: holds %d model tensors, the model has %d (a different model?)", path,
                    model_tensors, n->n_tensors);
    return 0;
}

int ckpt_load_model(const StFile *f, Net *n, const char *path, char *err) {
    if (ckpt_check_model(f, n, path, err) != 0) return -1;
    for (int i = 0; i < n->n_tensors; i++) {
        const NetTensor *p = &n->tensors[i];
        const StTensor *t = st_find(f, p->name);
        if (p->is_counter) memcpy(n->counters + p->offset, t->i64, sizeof(int64_t) * (size_t)p->size);
        else memcpy(net_tensor_data(n, p), t->data, sizeof(float) * (size_t)p->size);
    }
    return 0;
}

/* Format 1: every state slot of the row for all n_params parameters, slot-major, base64. */
static int load_legacy_optimizer(const StFile *f, Optim *o, const char *path, char *err) {
    const char *floats = need_meta(f, "optimizer_floats", path, err);
    const char *b64 = floats ? need_meta(f, "optimizer_state", path, err) : NULL;
    if (!b64) return -1;
    long stored = -1, slots = 0;
    for (const char *p = o->def->slots; p && *p; p++) slots += (p == o->def->slots || p[-1] == ' ') && *p != ' ';
    if (sscanf(floats, "%ld", &stored) != 1 || stored != slots * o->n_params)
        return errf(err, "%s: optimizer state holds %s floats, this run needs %ld", path, floats,
                    slots * o->n_params);
    size_t len = strlen(b64), cap = len / 4 * 3 + 3;
    float *buf = xmalloc(cap > 4 ? cap : 4);
    long got = b64_decode(b64, buf, cap);
    int rc = 0;
    if (got != (long)(sizeof(float) * (size_t)stored)) {
        rc = errf(err, "%s: optimizer state is corrupt (%ld bytes, expected %zu)", path, got,
                  sizeof(float) * (size_t)stored);
    } else {
        for (int i = 0; i < o->n_states; i++) {
            const OptState *st = &o->states[i];
            const OptTensor *t = &o->tensors[st->tensor];
            memcpy(o->state + st->offset, buf + (long)st->slot * o->n_params + t->offset,
                   sizeof(float) * (size_t)st->size);
        }
    }
    free(buf);
    return rc;
}

static int load_optimizer(const StFile *f, Optim *o, const char *path, char *err) {
    const char *format = st_meta_get(f, "format");
    if (format && !strcmp(format, "train-checkpoint/1")) return load_legacy_optimizer(f, o, path, err);
    for (int i = 0; i < o->n_states; i++) {
        const OptState *st = &o->states[i];
        char name[80];
        snprintf(name, sizeof name, OPT_PREFIX "%s.%s", o->tensors[st->tensor].name, st->name);
        const StTensor *t = st_find(f, name);
        if (check_tensor(t, name, st->ndim, st->shape, ST_F32, path, err) != 0) return -1;
        memcpy(o->state + st->offset, t->data, sizeof(float) * (size_t)st->size);
    }
    int stored = 0;
    for (int i = 0; i < f->n_tensors; i++)
        stored += strncmp(f->tensors[i].name, OPT_PREFIX, strlen(OPT_PREFIX)) == 0;
    if (stored != o->n_states)
        return errf(err, "%s: holds %d optimizer state tensors, --opt %s here keeps %d", path,
                    stored, o->def->name, o->n_states);
    char why[ERR_LEN];
    if (optim_scalars_parse(o, st_meta_get(f, "optimizer_scalars"), why) != 0 ||
        optim_rng_parse(o, st_meta_get(f, "optimizer_rng"), why) != 0)
        return errf(err, "%s: %s", path, why);
    return 0;
}

/* ---- reading the training state: every field strictly, as ckpt_save writes it. */

/* A whole decimal integer in [lo, hi]: digits (after an optional '-'), nothing else. */
static int parse_long(const char *text, long lo, long hi, long *out) {
    const char *p = text + (*text == '-');
    if (!*p || strspn(p, "0123456789") != strlen(p)) return -1;
    errno = 0;
    char *end;
    long v = strtol(text, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* An unsigned 64-bit decimal: digits only. */
static int parse_u64(const char *text, uint64_t *out) {
    if (!*text || strspn(text, "0123456789") != strlen(text)) return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

/* A PCG32 state "<state> <inc>": the increment selects the stream and must be odd (an even
 * one, 0 above all, makes a degenerate generator that can stall the sampler forever). */
static int parse_rng(char **words, Rng *r) {
    return parse_u64(words[0], &r->state) == 0 && parse_u64(words[1], &r->inc) == 0 && (r->inc & 1) ? 0 : -1;
}

/* Splits text at single spaces into exactly n words (copied into buf). */
static int split_words(const char *text, char *buf, size_t len, char **words, int n) {
    if (strlen(text) >= len) return -1;
    strcpy(buf, text);
    int k = 0;
    for (char *p = buf; k < n; k++) {
        words[k] = p;
        char *space = strchr(p, ' ');
        if (!space) { k++; break; }
        *space = 0;
        p = space + 1;
    }
    return k == n && !strchr(words[n - 1], ' ') ? 0 : -1;
}

static int parse_seconds(const char *text, double *out) {
    char *end;
    *out = strtod(text, &end);
    return end != text && !*end && isfinite(*out) && *out >= 0 ? 0 : -1;
}

/* a finite number (the noise averages, which may be negative) */
static int parse_finite(const char *text, double *out) {
    char *end;
    *out = strtod(text, &end);
    return end != text && !*end && isfinite(*out) ? 0 : -1;
}

/* lowest validation loss: a loss is never negative; inf until the first evaluation */
static int parse_loss(const char *text, double *out) {
    char *end;
    *out = strtod(text, &end);
    return end != text && !*end && *out >= 0 ? 0 : -1;   /* NaN fails >= */
}

#define BAD(key, why) return errf(err, "%s: training state: %s '%.40s' %s", path, key, st_meta_get(f, key), why)

int ckpt_load_state(const StFile *f, TrainState *s, Optim *o, const char *path, char *err) {
    static const char *keys[] = {"format", "step", "samples", "sampler", "dropout_rng", "best_val_loss",
                                 "best_step", "train_seconds"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!need_meta(f, keys[i], path, err)) return -1;
    if (ckpt_check_origin(f, path, err) != 0) return -1;
    const long MAX = 1L << 62;
    if (parse_long(st_meta_get(f, "step"), 0, MAX, &s->step) != 0) BAD("step", "is not a whole number >= 0");
    if (parse_long(st_meta_get(f, "samples"), 0, MAX, &s->samples) != 0)
        BAD("samples", "is not a whole number >= 0");
    char buf[200], *w[6];
    if (split_words(st_meta_get(f, "sampler"), buf, sizeof buf, w, 6) != 0 ||
        parse_rng(w, &s->sampler_epoch_rng) != 0 || parse_rng(w + 2, &s->sampler_rng) != 0 ||
        parse_long(w[4], 0, s->step, &s->sampler_epoch) != 0 || parse_long(w[5], 0, MAX, &s->sampler_pos) != 0)
        BAD("sampler", "is not '<state> <odd inc> <state> <odd inc> <epoch <= step> <position>'");
    if (split_words(st_meta_get(f, "dropout_rng"), buf, sizeof buf, w, 2) != 0 || parse_rng(w, &s->dropout_rng) != 0)
        BAD("dropout_rng", "is not '<state> <odd inc>'");
    if (parse_loss(st_meta_get(f, "best_val_loss"), &s->best_val_loss) != 0)
        BAD("best_val_loss", "is not a loss (a number >= 0, or inf)");
    if (parse_long(st_meta_get(f, "best_step"), -1, s->step, &s->best_step) != 0)
        BAD("best_step", "is not a step in [-1, step]");
    if (parse_seconds(st_meta_get(f, "train_seconds"), &s->train_seconds) != 0)
        BAD("train_seconds", "is not a finite number >= 0");
    /* written from format 2 (skipped, bad_evals) or 3 (log_bytes, stopped) on */
    s->skipped = s->bad_evals = 0;
    s->log_bytes = -1;
    s->stopped[0] = 0;
    if (st_meta_get(f, "skipped") && parse_long(st_meta_get(f, "skipped"), 0, s->step, &s->skipped) != 0)
        BAD("skipped", "is not a count in [0, step]");
    if (st_meta_get(f, "bad_evals") && parse_long(st_meta_get(f, "bad_evals"), 0, s->step, &s->bad_evals) != 0)
        BAD("bad_evals", "is not a count in [0, step]");
    if (st_meta_get(f, "log_bytes") && parse_long(st_meta_get(f, "log_bytes"), 0, MAX, &s->log_bytes) != 0)
        BAD("log_bytes", "is not a whole number >= 0");
    const char *stopped = st_meta_get(f, "stopped");
    if (stopped && strcmp(stopped, "") && strcmp(stopped, "completed") && strcmp(stopped, "early-stop") &&
        strcmp(stopped, "overfit"))
        BAD("stopped", "is not one of '', completed, early-stop, overfit");
    if (stopped) snprintf(s->stopped, sizeof s->stopped, "%s", stopped);
    const char *noise = st_meta_get(f, "noise_ema");
    s->noise.g2 = s->noise.tr = 0;
    if (noise && (split_words(noise, buf, sizeof buf, w, 2) != 0 || parse_finite(w[0], &s->noise.g2) != 0 ||
                  parse_finite(w[1], &s->noise.tr) != 0))
        BAD("noise_ema", "is not '<|G|^2 average> <tr(Sigma) average>' (finite numbers)");
    return load_optimizer(f, o, path, err);
}
