/* Fuzzes the JSON reader and writer (src/formats/json.c): json_parse on the raw bytes (not
 * NUL-terminated, so ASan catches any read past len), and two round trips:
 *   parse(write(parse(x))) == parse(x)   for every document the reader accepts, and
 *   parse(sb_json_string(s)) succeeds    for every string s (the writer always emits valid
 *                                         JSON), giving back s itself when s is valid UTF-8. */
#include "fuzz.h"
#include "formats/json.h"
#include "util/util.h"

static void write_json(StrBuf *b, const Json *j) {
    switch (j->type) {
    case JSON_NULL: sb_append(b, "null"); break;
    case JSON_BOOL: sb_append(b, j->number ? "true" : "false"); break;
    case JSON_NUMBER: sb_json_number(b, j->number); break;
    case JSON_STRING: sb_json_string(b, j->string); break;
    case JSON_ARRAY:
        sb_append(b, "[");
        for (int i = 0; i < j->n; i++) {
            if (i) sb_append(b, ",");
            write_json(b, &j->items[i]);
        }
        sb_append(b, "]");
        break;
    case JSON_OBJECT:
        sb_append(b, "{");
        for (int i = 0; i < j->n; i++) {
            if (i) sb_append(b, ",");
            sb_json_string(b, j->keys[i]);
            sb_append(b, ":");
            write_json(b, &j->items[i]);
        }
        sb_append(b, "}");
        break;
    }
}

static int same(const Json *a, const Json *b) {
    if (a->type != b->type) return 0;
    switch (a->type) {
    case JSON_NULL: return 1;
    case JSON_BOOL: case JSON_NUMBER: return a->number == b->number;
    case JSON_STRING: return strcmp(a->string, b->string) == 0;
    case JSON_ARRAY: case JSON_OBJECT:
        if (a->n != b->n) return 0;
        for (int i = 0; i < a->n; i++) {
            if (a->type == JSON_OBJECT && strcmp(a->keys[i], b->keys[i]) != 0) return 0;
            if (!same(&a->items[i], &b->items[i])) return 0;
        }
        return 1;
    }
    return 0;
}

/* walks the tree the way callers do: json_get on every key must find that member */
static void walk(const Json *j) {
    for (int i = 0; i < j->n; i++) {
        if (j->type == JSON_OBJECT) FUZZ_ASSERT(json_get(j, j->keys[i]) == &j->items[i]);
        walk(&j->items[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size ? size : 1); /* exactly size bytes: no NUL after the input */
    if (!text) abort();
    memcpy(text, data, size);
    Json j;
    char err[ERR_LEN];
    if (json_parse(text, size, &j, err) == 0) {
        walk(&j);
        StrBuf b;
        sb_init(&b);
        write_json(&b, &j);
        Json k;
        if (json_parse(b.s, b.len, &k, err) != 0) {
            fprintf(stderr, "fuzz: rewritten document rejected: %s\n%s\n", err, b.s);
            abort();
        }
        FUZZ_ASSERT(same(&j, &k));
        json_free(&k);
        sb_free(&b);
        json_free(&j);
    } else {
        FUZZ_ASSERT(err[0]);
    }
    free(text);

    char *s = fuzz_string(data, size);
    StrBuf b;
    sb_init(&b);
    sb_json_string(&b, s);
    if (json_parse(b.s, b.len, &j, err) != 0) {
        fprintf(stderr, "fuzz: sb_json_string output rejected: %s\n%s\n", err, b.s);
        abort();
    }
    FUZZ_ASSERT(j.type == JSON_STRING);
    /* the writer replaces ill-formed UTF-8 by U+FFFD: where it did not, the text is back */
    if (!strstr(b.s, "\\ufffd")) FUZZ_ASSERT(strcmp(j.string, s) == 0);
    json_free(&j);
    sb_free(&b);
    free(s);
    return 0;
}
