/* checkpoint.c: the training state's mapping onto safetensors tensors and metadata. */
#include "run/checkpoint.h"
#include "util/util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT "train-checkpoint/1"

int ckpt_save(const char *path, const Graph *g, const Config *c, const TrainState *s,
              const float *opt_state, long n_opt_state, char *err) {
    StTensor t[2 * GRAPH_MAX_NODES];
    for (int i = 0; i < g->n_tensors; i++) {
        const ParamTensor *p = &g->tensors[i];
        t[i].name = (char *)p->name;
        t[i].ndim = p->ndim;
        t[i].shape[0] = p->shape[0];
        t[i].shape[1] = p->shape[1];
        t[i].data = g->params + p->offset;
    }
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
    sb_printf(&num[7], "%ld", n_opt_state);
    sb_printf(&num[8], "%ld", s->skipped);
    sb_printf(&num[9], "%ld", s->bad_evals);
    char *opt_b64 = b64_encode(opt_state ? (const void *)opt_state : "", opt_state ? sizeof(float) * (size_t)n_opt_state : 0);
    StMeta meta[] = {
        {"format", FORMAT}, {"config", config.s}, {"step", num[0].s}, {"samples", num[1].s},
        {"sampler", num[2].s}, {"dropout_rng", num[3].s}, {"best_val_loss", num[4].s},
        {"best_step", num[5].s}, {"train_seconds", num[6].s}, {"optimizer", (char *)c->opt},
        {"optimizer_floats", num[7].s}, {"optimizer_state", opt_b64}, {"skipped", num[8].s},
        {"bad_evals", num[9].s},
    };
    int rc = st_write(path, t, g->n_tensors, meta, (int)(sizeof meta / sizeof meta[0]), err);
    free(opt_b64);
    sb_free(&config);
    for (int i = 0; i < 10; i++) sb_free(&num[i]);
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

int ckpt_weights(const StFile *f, Graph *g, const char *path, char *err) {
    for (int i = 0; i < g->n_tensors; i++) {
        const ParamTensor *p = &g->tensors[i];
        const StTensor *t = st_find(f, p->name);
        if (!t) return errf(err, "%s: has no tensor '%s' (a different model?)", path, p->name);
        int same = t->ndim == p->ndim && t->shape[0] == p->shape[0] &&
                   (p->ndim == 1 || t->shape[1] == p->shape[1]);
        if (!same) {
            if (p->ndim == 2)
                return errf(err, "%s: tensor '%s' has shape [%" PRId64 ", %" PRId64 "], the model needs [%d, %d]",
                            path, p->name, t->shape[0], t->ndim > 1 ? t->shape[1] : 0, p->shape[0], p->shape[1]);
            return errf(err, "%s: tensor '%s' has %d dims / %" PRId64 " rows, the model needs [%d]", path,
                        p->name, t->ndim, t->shape[0], p->shape[0]);
        }
        memcpy(g->params + p->offset, t->data, sizeof(float) * (size_t)p->size);
    }
    if (f->n_tensors != g->n_tensors)
        return errf(err, "%s: holds %d tensors, the model has %d (a different model?)", path,
                    f->n_tensors, g->n_tensors);
    return 0;
}

int ckpt_state(const StFile *f, TrainState *s, float *opt_state, long n_opt_state,
               const char *path, char *err) {
    const char *v[9];
    static const char *keys[9] = {"step", "samples", "sampler", "dropout_rng", "best_val_loss",
                                  "best_step", "train_seconds", "optimizer_floats", "optimizer_state"};
    for (int i = 0; i < 9; i++)
        if (!(v[i] = need_meta(f, keys[i], path, err))) return -1;
    long stored_floats = -1;
    int ok = sscanf(v[0], "%ld", &s->step) == 1 && sscanf(v[1], "%ld", &s->samples) == 1 &&
             sscanf(v[2], "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %ld %ld",
                    &s->sampler_epoch_rng.state, &s->sampler_epoch_rng.inc, &s->sampler_rng.state,
                    &s->sampler_rng.inc, &s->sampler_epoch, &s->sampler_pos) == 6 &&
             sscanf(v[3], "%" SCNu64 " %" SCNu64, &s->dropout_rng.state, &s->dropout_rng.inc) == 2 &&
             sscanf(v[4], "%lg", &s->best_val_loss) == 1 && sscanf(v[5], "%ld", &s->best_step) == 1 &&
             sscanf(v[6], "%lg", &s->train_seconds) == 1 && sscanf(v[7], "%ld", &stored_floats) == 1 &&
             s->step >= 0 && s->samples >= 0 && s->sampler_epoch >= 0 && s->sampler_pos >= 0;
    const char *skipped = st_meta_get(f, "skipped"), *bad_evals = st_meta_get(f, "bad_evals");
    s->skipped = s->bad_evals = 0;
    if (skipped && (sscanf(skipped, "%ld", &s->skipped) != 1 || s->skipped < 0)) ok = 0;
    if (bad_evals && (sscanf(bad_evals, "%ld", &s->bad_evals) != 1 || s->bad_evals < 0)) ok = 0;
    if (!ok) return errf(err, "%s: malformed training state in its metadata", path);
    if (stored_floats != n_opt_state)
        return errf(err, "%s: optimizer state holds %ld floats, this run needs %ld", path,
                    stored_floats, n_opt_state);
    size_t len = strlen(v[8]);
    char *buf = xmalloc(len / 4 * 3 + 3);
    long got = b64_decode(v[8], buf, len / 4 * 3 + 3);
    if (got != (long)(sizeof(float) * (size_t)n_opt_state)) {
        free(buf);
        return errf(err, "%s: optimizer state is corrupt (%ld bytes, expected %zu)", path, got,
                    sizeof(float) * (size_t)n_opt_state);
    }
    if (n_opt_state) memcpy(opt_state, buf, (size_t)got);
    free(buf);
    return 0;
}
