/* json.h: the little JSON this program needs: a writer that appends to a growable string
 * (config.json, summary.json, safetensors headers) and a strict reader that parses a
 * document into a tree (safetensors headers, stored configs).
 *
 * The reader bounds nesting depth and rejects trailing junk, control characters in strings,
 * invalid escapes and numbers it cannot represent; it never reads past the given length. */
#ifndef JSON_H
#define JSON_H

#include <stddef.h>

/* ---- writer ---- */
typedef struct {
    char *s;      /* NUL-terminated contents */
    size_t len, cap;
} StrBuf;

void sb_init(StrBuf *b);
void sb_free(StrBuf *b);
void sb_append(StrBuf *b, const char *s);
void sb_appendn(StrBuf *b, const char *s, size_t n);
void sb_printf(StrBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quoted and escaped. */
void sb_json_string(StrBuf *b, const char *s);
/* Appends a double in the fewest digits (15 to 17) that read back to the same value;
 * NaN/inf as null. */
void sb_json_number(StrBuf *b, double v);

/* ---- reader ---- */
typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } JsonType;

typedef struct Json Json;
struct Json {
    JsonType type;
    double number;     /* JSON_NUMBER, JSON_BOOL (0/1) */
    char *string;      /* JSON_STRING: decoded, NUL-terminated (may not contain NUL) */
    char **keys;       /* JSON_OBJECT: keys[i] names items[i] */
    Json *items;       /* JSON_ARRAY / JSON_OBJECT children */
    int n;             /* number of children */
};

#define JSON_MAX_DEPTH 64

/* Parses text[0..len). Returns 0 and fills *out, or -1 with err = "<why> at byte N". */
int json_parse(const char *text, size_t len, Json *out, char *err);
void json_free(Json *j);
/* Object member by key, or NULL (also NULL when j is not an object). */
const Json *json_get(const Json *j, const char *key);

#endif
