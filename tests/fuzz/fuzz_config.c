/* Fuzzes reading a stored run configuration (config.json, a checkpoint's "config"):
 * json_parse, then config_from_json (src/run/config.c) over the defaults, then the parsers of the
 * values it stored: model_parse_sizes (layer sizes) and sched_parse_milestones.
 * Property: a config read from JSON, written with config_to_json and read again, writes the
 * same JSON (what resume relies on). */
#include "fuzz.h"
#include "run/config.h"
#include "formats/json.h"
#include "nn/model.h"
#include "optim/sched.h"
#include "util/util.h"

#include <ctype.h>

static int read_config(const char *text, size_t len, Config *c, char *err) {
    Json j;
    if (json_parse(text, len, &j, err) != 0) return -1;
    config_defaults(c);
    int rc = config_from_json(c, &j, err);
    json_free(&j);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size ? size : 1);   /* exactly size bytes, no NUL after them */
    if (!text) abort();
    memcpy(text, data, size);
    Config c;
    char err[ERR_LEN];
    int rc = read_config(text, size, &c, err);
    free(text);
    if (rc != 0) return 0;

    LayerSizes ls;
    if (isdigit((unsigned char)c.model[0])) (void)model_parse_sizes(c.model, &ls, err);
    long m[SCHED_MAX_MILESTONES];
    if (c.milestones[0]) (void)sched_parse_milestones(c.milestones, m, SCHED_MAX_MILESTONES, err);

    StrBuf a;
    sb_init(&a);
    config_to_json(&c, &a);
    /* options left to config_finalize (the optimizer's lr, ...) are NaN and written as null,
     * which only a finalized config avoids: compare only configs without them */
    if (!strstr(a.s, "null")) {
        Config d;
        if (read_config(a.s, a.len, &d, err) != 0) {
            fprintf(stderr, "fuzz: config_to_json output rejected: %s\n%s\n", err, a.s);
            abort();
        }
        StrBuf b;
        sb_init(&b);
        config_to_json(&d, &b);
        if (strcmp(a.s, b.s) != 0) {
            fprintf(stderr, "fuzz: config changed on a round trip:\n%s\n---\n%s\n", a.s, b.s);
            abort();
        }
        sb_free(&b);
    }
    sb_free(&a);
    return 0;
}
