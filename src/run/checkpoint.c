/* checkpoint.c: the training state's mapping onto safetensors tensors and metadata. */
#include "run/checkpoint.h"
#include "util/util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT "train-checkpoint/2"
#define OPT_PREFIX "optimizer."

static void set_shape(StTensor *t, int ndim, const int *shape) {
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
}

int ckpt_save(const char *path, const Net *n, const Config *c, const TrainState *s,
              const Optim *o, char *err) {
    int n_opt = o ? o->n_states : 0, count = 0;
    StTensor *t = xcalloc((size_t)(n->n_tensors + n_opt + 1), sizeof(StTensor));
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
    StrBuf config, num[9];
    sb_init(&config);
    config_to_json(c, &config);
    for (int i = 0; i < 9; i++) sb_init(&num[i]);
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
    StrBuf noise;
    sb_init(&noise);
    sb_printf(&noise, "%.17g %.17g", s->noise.g2, s->noise.tr);
    StMeta meta[] = {
        {"format", FORMAT}, {"config", config.s}, {"step", num[0].s}, {"samples", num[1].s},
        {"sampler", num[2].s}, {"dropout_rng", num[3].s}, {"best_val_loss", num[4].s},
        {"best_step", num[5].s}, {"train_seconds", num[6].s}, {"optimizer", (char *)c->opt},
        {"skipped", num[7].s}, {"bad_evals", num[8].s}, {"noise_ema", noise.s},
    };
    /* the last entry, noise_ema, only for runs that keep it */
    int rc = st_write(path, t, count, meta, (int)(sizeof meta / sizeof meta[0]) - !c->log_noise, err);
    free(t);
    free(names);
    sb_free(&config);
    for (int i = 0; i < 9; i++) sb_free(&num[i]);
    sb_free(&noise);
    return rc;
}

static const char *need_meta(const StFile *f, const char *key, const char *path, char *err) {
    const char *v = st_meta_get(f, key);
    if (!v) errf(err, "%s: not a checkpoint of this program (no '%s' in its metadata)", path, key);
    return v;
}

int ckpt_config(const StFile *f, Config *c, char *err) {
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

int ckpt_load_model(const StFile *f, Net *n, const char *path, char *err) {
    for (int i = 0; i < n->n_tensors; i++) {
        const NetTensor *p = &n->tensors[i];
        const StTensor *t = st_find(f, p->name);
        if (check_tensor(t, p->name, p->ndim, p->shape, p->is_counter ? ST_I64 : ST_F32, path, err) != 0)
            return -1;
        if (p->is_counter) memcpy(n->counters + p->offset, t->i64, sizeof(int64_t) * (size_t)p->size);
        else memcpy(net_tensor_data(n, p), t->data, sizeof(float) * (size_t)p->size);
    }
    int model_tensors = 0;
    for (int i = 0; i < f->n_tensors; i++)
        model_tensors += strncmp(f->tensors[i].name, OPT_PREFIX, strlen(OPT_PREFIX)) != 0;
    if (model_tensors != n->n_tensors)
        return errf(err, "%s: holds %d model tensors, the model has %d (a different model?)", path,
                    model_tensors, n->n_tensors);
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
    return 0;
}

int ckpt_load_state(const StFile *f, TrainState *s, Optim *o, const char *path, char *err) {
    const char *v[7];
    static const char *keys[7] = {"step", "samples", "sampler", "dropout_rng", "best_val_loss",
                                  "best_step", "train_seconds"};
    for (int i = 0; i < 7; i++)
        if (!(v[i] = need_meta(f, keys[i], path, err))) return -1;
    int ok = sscanf(v[0], "%ld", &s->step) == 1 && sscanf(v[1], "%ld", &s->samples) == 1 &&
             sscanf(v[2], "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %ld %ld",
                    &s->sampler_epoch_rng.state, &s->sampler_epoch_rng.inc, &s->sampler_rng.state,
                    &s->sampler_rng.inc, &s->sampler_epoch, &s->sampler_pos) == 6 &&
             sscanf(v[3], "%" SCNu64 " %" SCNu64, &s->dropout_rng.state, &s->dropout_rng.inc) == 2 &&
             sscanf(v[4], "%lg", &s->best_val_loss) == 1 && sscanf(v[5], "%ld", &s->best_step) == 1 &&
             sscanf(v[6], "%lg", &s->train_seconds) == 1 &&
             s->step >= 0 && s->samples >= 0 && s->sampler_epoch >= 0 && s->sampler_pos >= 0;
    const char *skipped = st_meta_get(f, "skipped"), *bad_evals = st_meta_get(f, "bad_evals");
    s->skipped = s->bad_evals = 0;
    if (skipped && (sscanf(skipped, "%ld", &s->skipped) != 1 || s->skipped < 0)) ok = 0;
    if (bad_evals && (sscanf(bad_evals, "%ld", &s->bad_evals) != 1 || s->bad_evals < 0)) ok = 0;
    const char *noise = st_meta_get(f, "noise_ema");
    s->noise.g2 = s->noise.tr = 0;
    if (noise && sscanf(noise, "%lg %lg", &s->noise.g2, &s->noise.tr) != 2) ok = 0;
    if (!ok) return errf(err, "%s: malformed training state in its metadata", path);
    return load_optimizer(f, o, path, err);
}
