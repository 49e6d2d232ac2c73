/* json.c: a growable string writer with JSON escaping, and a strict recursive-descent reader.
 *
 * The reader is meant for untrusted input (safetensors headers): it never reads past len
 * (the text need not be NUL-terminated), bounds nesting at JSON_MAX_DEPTH, validates UTF-8,
 * rejects everything outside the RFC 8259 grammar, and frees any partial tree on error.
 * Every step is linear in the input, except the duplicate-key check (n log n per object). */
#include "formats/json.h"
#include "util/util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- writer */

void sb_init(StrBuf *b) {
    b->cap = 64;
    b->len = 0;
    b->s = xmalloc(b->cap);
    b->s[0] = 0;
}

void sb_free(StrBuf *b) {
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

/* Makes room for extra more bytes plus the NUL. */
static void sb_reserve(StrBuf *b, size_t extra) {
    if (extra > SIZE_MAX - b->len - 1) fatal(EXIT_FAIL, "out of memory: string too long");
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    b->s = xrealloc(b->s, cap);
    b->cap = cap;
}

void sb_appendn(StrBuf *b, const char *s, size_t n) {
    sb_reserve(b, n);
    if (n) memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

void sb_append(StrBuf *b, const char *s) { sb_appendn(b, s, strlen(s)); }

void sb_printf(StrBuf *b, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    sb_reserve(b, 0);
    int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) { /* encoding error: leave the buffer as it was */
        b->s[b->len] = 0;
        va_end(ap2);
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        sb_reserve(b, (size_t)n);
        vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap2);
    }
    va_end(ap2);
    b->len += (size_t)n;
}

static size_t utf8_seq(const unsigned char *s, size_t avail);

/* Bytes that are not well-formed UTF-8 are written as \ufffd (U+FFFD, the replacement
 * character), so that the output is always valid JSON that json_parse (and Python) accept. */
void sb_json_string(StrBuf *b, const char *s) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), run = 0; /* u[run..i) is pending output that needs no escaping */
    sb_reserve(b, n + 2);
    sb_appendn(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') { i++; continue; }
        if (c >= 0x80) {
            size_t k = utf8_seq(u + i, n - i);
            if (k) { i += k; continue; }
        }
        sb_appendn(b, s + run, i - run);
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t len = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            if (c >= 0x80) memcpy(esc, "\\ufffd", 6);
            else {
                esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
                esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
            }
            len = 6;
        }
        sb_appendn(b, esc, len);
        run = ++i;
    }
    sb_appendn(b, s + run, n - run);
    sb_appendn(b, "\"", 1);
}

/* The shortest %.Ng that reads back to the same double (0.1, not 0.10000000000000001). */
void sb_json_number(StrBuf *b, double v) {
    if (!isfinite(v)) { sb_append(b, "null"); return; }
    char buf[32];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) break;
    }
    sb_append(b, buf);
}

/* ---------------------------------------------------------------- reader */

typedef struct {
    const unsigned char *s;
    size_t len, pos;
    char *err;
} Parser;

static int fail(Parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(Parser *p, size_t at, const char *fmt, ...) {
    char why[ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return errf(p->err, "%s at byte %zu", why, at);
}

/* "unexpected character 'x'" for printable ASCII, the byte value otherwise. */
static int fail_unexpected(Parser *p, const char *what) {
    if (p->pos >= p->len) return fail(p, p->pos, "unexpected end of input%s%s", *what ? ", " : "", what);
    unsigned char c = p->s[p->pos];
    if (c >= 0x20 && c < 0x7f)
        return fail(p, p->pos, "unexpected character '%c'%s%s", c, *what ? ", " : "", what);
    return fail(p, p->pos, "unexpected byte 0x%02x%s%s", c, *what ? ", " : "", what);
}

static void skip_ws(Parser *p) {
    while (p->pos < p->len) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int hex4(const unsigned char *s, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = (unsigned)(c - 'A' + 10);
        else return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Length of the well-formed UTF-8 sequence at s[0..avail), or 0 if it is not one
 * (overlong forms, UTF-16 surrogates and code points above U+10FFFF are rejected). */
static size_t utf8_seq(const unsigned char *s, size_t avail) {
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else return 0;
    if (avail < n) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return n;
}

/* Parses the string literal at p->pos (which holds '"') into a malloc'd NUL-terminated string. */
static int parse_string(Parser *p, char **out) {
    const unsigned char *s = p->s;
    size_t start = p->pos, i = start + 1;
    /* find the closing quote: the decoded string is never longer than the literal */
    while (i < p->len && s[i] != '"') i += s[i] == '\\' ? 2 : 1;
    if (i >= p->len) return fail(p, start, "unterminated string");
    size_t end = i;
    char *o = xmalloc(end - start);
    size_t n = 0;
    for (size_t j = start + 1; j < end;) {
        unsigned char c = s[j];
        if (c < 0x20) {
            free(o);
            return fail(p, j, "control character 0x%02x in string", c);
        }
        if (c >= 0x80) {
            size_t k = utf8_seq(s + j, end - j);
            if (!k) { free(o); return fail(p, j, "invalid UTF-8 in string"); }
            memcpy(o + n, s + j, k);
            n += k;
            j += k;
            continue;
        }
        if (c != '\\') { o[n++] = (char)c; j++; continue; }
        unsigned char e = s[j + 1]; /* j + 1 < end: the scan above skipped escaped bytes */
        char simple = 0;
        switch (e) {
        case '"': simple = '"'; break;
        case '\\': simple = '\\'; break;
        case '/': simple = '/'; break;
        case 'b': simple = '\b'; break;
        case 'f': simple = '\f'; break;
        case 'n': simple = '\n'; break;
        case 'r': simple = '\r'; break;
        case 't': simple = '\t'; break;
        case 'u': break;
        default:
            free(o);
            if (e >= 0x20 && e < 0x7f) return fail(p, j, "invalid escape '\\%c' in string", e);
            return fail(p, j, "invalid escape in string");
        }
        if (simple) { o[n++] = simple; j += 2; continue; }
        unsigned cp;
        if (end - j < 6 || hex4(s + j + 2, &cp) != 0) {
            free(o);
            return fail(p, j, "invalid \\u escape in string (needs 4 hex digits)");
        }
        size_t at = j;
        j += 6;
        if (cp >= 0xdc00 && cp <= 0xdfff) {
            free(o);
            return fail(p, at, "unpaired UTF-16 surrogate \\u%04x in string", cp);
        }
        if (cp >= 0xd800 && cp <= 0xdbff) {
            unsigned lo;
            if (end - j < 6 || s[j] != '\\' || s[j + 1] != 'u' || hex4(s + j + 2, &lo) != 0 ||
                lo < 0xdc00 || lo > 0xdfff) {
                free(o);
                return fail(p, at, "unpaired UTF-16 surrogate \\u%04x in string", cp);
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            j += 6;
        }
        if (cp == 0) {
            free(o);
            return fail(p, at, "\\u0000 in string (NUL is not supported)");
        }
        n += put_utf8(o + n, cp);
    }
    o[n] = 0;
    p->pos = end + 1;
    *out = o;
    return 0;
}

static int parse_number(Parser *p, double *out) {
    const unsigned char *s = p->s;
    size_t start = p->pos, i = start;
    if (i < p->len && s[i] == '-') i++;
    if (i >= p->len || !is_digit(s[i])) {
        p->pos = i;
        return fail_unexpected(p, "expected a digit in number");
    }
    if (s[i] == '0') {
        i++;
        if (i < p->len && is_digit(s[i])) return fail(p, start, "leading zero in number");
    } else {
        while (i < p->len && is_digit(s[i])) i++;
    }
    if (i < p->len && s[i] == '.') {
        i++;
        if (i >= p->len || !is_digit(s[i])) {
            p->pos = i;
            return fail_unexpected(p, "expected a digit after the decimal point");
        }
        while (i < p->len && is_digit(s[i])) i++;
    }
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < p->len && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= p->len || !is_digit(s[i])) {
            p->pos = i;
            return fail_unexpected(p, "expected a digit in the exponent");
        }
        while (i < p->len && is_digit(s[i])) i++;
    }
    /* strtod needs a NUL-terminated copy; the token is validated, so strtod reads all of it */
    size_t n = i - start;
    char small[64], *buf = n < sizeof small ? small : xmalloc(n + 1);
    memcpy(buf, s + start, n);
    buf[n] = 0;
    char *endp;
    errno = 0;
    double v = strtod(buf, &endp);
    int ok = endp == buf + n;
    if (buf != small) free(buf);
    if (!ok) return fail(p, start, "invalid number");
    if (isinf(v)) return fail(p, start, "number out of range");
    p->pos = i;
    *out = v; /* underflow rounds to a subnormal or zero, which is accepted */
    return 0;
}

static int parse_value(Parser *p, Json *out, int depth);

static void free_children(Json *items, char **keys, int n) {
    for (int i = 0; i < n; i++) {
        json_free(&items[i]);
        if (keys) free(keys[i]);
    }
    free(items);
    free(keys);
}

static int grow(Json **items, char ***keys, size_t **offs, int n, int *cap) {
    if (n < *cap) return 0;
    if (*cap > INT_MAX / 2) return -1;
    int nc = *cap ? *cap * 2 : 4;
    *items = xrealloc(*items, sizeof(Json) * (size_t)nc);
    if (keys) *keys = xrealloc(*keys, sizeof(char *) * (size_t)nc);
    if (offs) *offs = xrealloc(*offs, sizeof(size_t) * (size_t)nc);
    *cap = nc;
    return 0;
}

static int parse_array(Parser *p, Json *out, int depth) {
    size_t open = p->pos;
    if (depth >= JSON_MAX_DEPTH) return fail(p, open, "nesting deeper than %d levels", JSON_MAX_DEPTH);
    p->pos++;
    Json *items = NULL;
    int n = 0, cap = 0;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        out->type = JSON_ARRAY;
        return 0;
    }
    for (;;) {
        if (grow(&items, NULL, NULL, n, &cap) != 0) {
            free_children(items, NULL, n);
            return fail(p, p->pos, "too many array items");
        }
        if (parse_value(p, &items[n], depth + 1) != 0) {
            free_children(items, NULL, n);
            return -1;
        }
        n++;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') { p->pos++; continue; }
        if (p->pos < p->len && p->s[p->pos] == ']') { p->pos++; break; }
        free_children(items, NULL, n);
        return fail_unexpected(p, "expected ',' or ']' in array");
    }
    out->type = JSON_ARRAY;
    out->items = items;
    out->n = n;
    return 0;
}

typedef struct {
    const char *key;
    size_t off;
} KeyRef;

static int keyref_cmp(const void *a, const void *b) {
    const KeyRef *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Finds the first (by position) key that repeats an earlier one; returns its index or -1.
 * Small objects compare pairwise; larger ones sort, so the check stays O(n log n). */
static int find_duplicate(char **keys, const size_t *offs, int n) {
    int dup = -1;
    if (n <= 16) {
        for (int j = 1; j < n && dup < 0; j++)
            for (int i = 0; i < j; i++)
                if (strcmp(keys[i], keys[j]) == 0) { dup = j; break; }
        return dup;
    }
    KeyRef *r = xmalloc(sizeof(KeyRef) * (size_t)n);
    for (int i = 0; i < n; i++) r[i] = (KeyRef){keys[i], offs[i]};
    qsort(r, (size_t)n, sizeof *r, keyref_cmp);
    size_t best = SIZE_MAX;
    for (int i = 1; i < n; i++)
        if (strcmp(r[i - 1].key, r[i].key) == 0 && r[i].off < best) best = r[i].off;
    free(r);
    if (best != SIZE_MAX)
        for (int i = 0; i < n; i++)
            if (offs[i] == best) return i;
    return -1;
}

static int parse_object(Parser *p, Json *out, int depth) {
    size_t open = p->pos;
    if (depth >= JSON_MAX_DEPTH) return fail(p, open, "nesting deeper than %d levels", JSON_MAX_DEPTH);
    p->pos++;
    Json *items = NULL;
    char **keys = NULL;
    size_t *offs = NULL;
    int n = 0, cap = 0;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        out->type = JSON_OBJECT;
        return 0;
    }
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != '"') {
            fail_unexpected(p, "expected a string key in object");
            goto fail;
        }
        if (grow(&items, &keys, &offs, n, &cap) != 0) {
            fail(p, p->pos, "too many object members");
            goto fail;
        }
        offs[n] = p->pos;
        if (parse_string(p, &keys[n]) != 0) goto fail;
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':') {
            free(keys[n]);
            fail_unexpected(p, "expected ':' after object key");
            goto fail;
        }
        p->pos++;
        if (parse_value(p, &items[n], depth + 1) != 0) {
            free(keys[n]);
            goto fail;
        }
        n++;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') { p->pos++; continue; }
        if (p->pos < p->len && p->s[p->pos] == '}') { p->pos++; break; }
        fail_unexpected(p, "expected ',' or '}' in object");
        goto fail;
    }
    int d = find_duplicate(keys, offs, n);
    if (d >= 0) {
        fail(p, offs[d], "duplicate key '%.64s'", keys[d]);
        goto fail;
    }
    free(offs);
    out->type = JSON_OBJECT;
    out->items = items;
    out->keys = keys;
    out->n = n;
    return 0;
fail:
    free(offs);
    free_children(items, keys, n);
    return -1;
}

static int parse_literal(Parser *p, const char *word, size_t n) {
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return fail(p, p->pos, "invalid literal (expected '%s')", word);
    p->pos += n;
    return 0;
}

/* On failure *out is left as an empty JSON_NULL (nothing to free). */
static int parse_value(Parser *p, Json *out, int depth) {
    memset(out, 0, sizeof *out);
    out->type = JSON_NULL;
    skip_ws(p);
    if (p->pos >= p->len) return fail_unexpected(p, "expected a value");
    unsigned char c = p->s[p->pos];
    switch (c) {
    case '{': return parse_object(p, out, depth);
    case '[': return parse_array(p, out, depth);
    case '"': {
        char *str;
        if (parse_string(p, &str) != 0) return -1;
        out->type = JSON_STRING;
        out->string = str;
        return 0;
    }
    case 't':
        if (parse_literal(p, "true", 4) != 0) return -1;
        out->type = JSON_BOOL;
        out->number = 1;
        return 0;
    case 'f':
        if (parse_literal(p, "false", 5) != 0) return -1;
        out->type = JSON_BOOL;
        out->number = 0;
        return 0;
    case 'n':
        return parse_literal(p, "null", 4);
    default:
        if (c == '-' || is_digit(c)) {
            double v = 0;
            if (parse_number(p, &v) != 0) return -1;
            out->type = JSON_NUMBER;
            out->number = v;
            return 0;
        }
        return fail_unexpected(p, "expected a value");
    }
}

int json_parse(const char *text, size_t len, Json *out, char *err) {
    Parser p = {(const unsigned char *)text, len, 0, err};
    if (!text) len = p.len = 0;
    if (parse_value(&p, out, 0) != 0) return -1;
    skip_ws(&p);
    if (p.pos < p.len) {
        json_free(out);
        return fail_unexpected(&p, "trailing characters after the JSON value");
    }
    return 0;
}

void json_free(Json *j) {
    if (!j) return;
    free(j->string);
    free_children(j->items, j->keys, j->n);
    memset(j, 0, sizeof *j);
    j->type = JSON_NULL;
}

const Json *json_get(const Json *j, const char *key) {
    if (!j || j->type != JSON_OBJECT || !key) return NULL;
    for (int i = 0; i < j->n; i++)
        if (strcmp(j->keys[i], key) == 0) return &j->items[i];
    return NULL;
}
