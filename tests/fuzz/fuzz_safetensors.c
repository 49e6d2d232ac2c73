/* Fuzzes the safetensors reader (src/formats/safetensors.c st_read) and what reads a checkpoint's
 * metadata (src/run/checkpoint.c ckpt_config, ckpt_load_model, ckpt_load_state; base64): a file it accepts must have
 * tensors whose data covers their shape, names st_find finds, and must survive a round trip
 * through st_write and st_read unchanged. Also base64: decode(encode(x)) == x. */
#include "fuzz.h"
#include "nn/model.h"
#include "run/checkpoint.h"
#include "run/config.h"
#include "formats/safetensors.h"
#include "util/util.h"

#include <inttypes.h>

static char out_path[256];
static void remove_out(void) { if (out_path[0]) unlink(out_path); }

static int64_t count_of(const StTensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

static void check_base64(const uint8_t *data, size_t size) {
    if (size > 3000) size = 3000;
    char *enc = b64_encode(data, size);
    FUZZ_ASSERT(strlen(enc) == (size + 2) / 3 * 4);
    size_t cap = 3 * (strlen(enc) / 4);
    uint8_t *dec = malloc(cap ? cap : 1);
    if (!dec) abort();
    long got = b64_decode(enc, dec, cap);
    FUZZ_ASSERT(got == (long)size);
    FUZZ_ASSERT(size == 0 || memcmp(dec, data, size) == 0);
    free(dec);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_base64(data, size);
    const char *path = fuzz_file("st", data, size);
    StFile f;
    char err[ERR_LEN];
    if (st_read(path, &f, err) != 0) {
        FUZZ_ASSERT(err[0]);
        return 0;
    }
    volatile float sum = 0;
    for (int i = 0; i < f.n_tensors; i++) {
        const StTensor *t = &f.tensors[i];
        FUZZ_ASSERT(t->name && t->ndim >= 0 && t->ndim <= ST_MAX_DIMS);
        FUZZ_ASSERT(st_find(&f, t->name) == t);
        int64_t n = count_of(t);
        FUZZ_ASSERT(n >= 0);
        for (int64_t k = 0; k < n; k++) sum += t->data[k];   /* in bounds (ASan) */
    }
    (void)sum;
    for (int i = 0; i < f.n_meta; i++) {
        FUZZ_ASSERT(st_meta_get(&f, f.meta[i].key) == f.meta[i].value);
        size_t len = strlen(f.meta[i].value);
        char *buf = malloc(3 * (len / 4) + 1);
        if (!buf) abort();
        long got = b64_decode(f.meta[i].value, buf, 3 * (len / 4));
        FUZZ_ASSERT(got <= (long)(3 * (len / 4)));
        free(buf);
    }

    /* as a checkpoint: the stored config and the training state */
    Config c;
    config_defaults(&c);
    (void)ckpt_config(&f, &c, err);
    static Net net;
    static Optim opt;
    if (!net.params) {   /* a small model with a buffer, and AdamW over it */
        ModelSpec m;
        OptTensor t[16];
        if (model_spec_parse_list("input 4, linear 3, batchnorm, linear 2", &m, err) != 0) abort();
        model_spec_add_loss(&m, LAYER_CROSS_ENTROPY, 0);
        if (model_build(&net, &m, 0, err) != 0) abort();
        net_alloc(&net, 1);
        OptimHyper h = {.wd = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
        optim_init(&opt, optim_find("adamw"), &h, t, optim_net_tensors(&net, t), net.n_params);
    }
    TrainState s;
    memset(&s, 0, sizeof s);
    (void)ckpt_load_model(&f, &net, path, err);
    (void)ckpt_load_state(&f, &s, &opt, path, err);

    /* round trip: what was read, written again, reads back the same (the writer adds crc32) */
    if (!out_path[0]) {
        snprintf(out_path, sizeof out_path, "/tmp/train-fuzz-st-out-%ld", (long)getpid());
        atexit(remove_out);
    }
    StMeta *meta = malloc(sizeof(StMeta) * (size_t)(f.n_meta + 1));
    if (!meta) abort();
    int n_meta = 0;
    for (int i = 0; i < f.n_meta; i++)
        if (strcmp(f.meta[i].key, "crc32") != 0) meta[n_meta++] = f.meta[i];
    if (st_write(out_path, f.tensors, f.n_tensors, meta, n_meta, err) != 0) {
        fprintf(stderr, "fuzz: st_write refused what st_read accepted: %s\n", err);
        abort();
    }
    StFile g;
    if (st_read(out_path, &g, err) != 0) {
        fprintf(stderr, "fuzz: st_read rejects what st_write wrote: %s\n", err);
        abort();
    }
    FUZZ_ASSERT(g.n_tensors == f.n_tensors);
    for (int i = 0; i < f.n_tensors; i++) {
        const StTensor *a = &f.tensors[i], *b = st_find(&g, a->name);
        FUZZ_ASSERT(b && b->ndim == a->ndim);
        FUZZ_ASSERT(memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim) == 0);
        int64_t n = count_of(a);
        FUZZ_ASSERT(n == 0 || memcmp(a->data, b->data, sizeof(float) * (size_t)n) == 0);
    }
    for (int i = 0; i < n_meta; i++) {
        const char *v = st_meta_get(&g, meta[i].key);
        FUZZ_ASSERT(v && strcmp(v, meta[i].value) == 0);
    }
    FUZZ_ASSERT(g.n_meta == n_meta + 1 && st_meta_get(&g, "crc32"));
    st_free(&g);
    free(meta);
    st_free(&f);
    return 0;
}
