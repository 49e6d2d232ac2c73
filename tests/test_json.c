/* The JSON writer and the strict reader: escapes, Unicode, number round trips, every
 * rejection with its message, the depth limit, reading only the given bytes, partial trees
 * freed on error, large inputs in linear time. */
#include "test.h"
#include "formats/json.h"
#include "util/util.h"

#include <stdlib.h>

static char err[ERR_LEN];

/* ---------------------------------------------------------------- helpers */

/* Parses s (exactly strlen(s) bytes, from a heap copy without a NUL so over-reads are caught
 * by sanitizers) and expects failure; returns the error text. */
static const char *json_err(const char *s, size_t len) {
    static char e[ERR_LEN];
    char *copy = xmalloc(len);
    memcpy(copy, s, len);
    Json j;
    strcpy(e, "(no error)");
    if (json_parse(copy, len, &j, e) == 0) {
        json_free(&j);
        strcpy(e, "(parsed without error)");
    }
    free(copy);
    return e;
}
#define JERR(s) json_err((s), sizeof(s) - 1)

static int json_ok(const char *s, size_t len, Json *j) {
    char *copy = xmalloc(len);
    memcpy(copy, s, len);
    int rc = json_parse(copy, len, j, err);
    if (rc != 0) fprintf(stderr, "  unexpected JSON error: %s\n", err);
    free(copy);
    return rc;
}

/* ---------------------------------------------------------------- JSON writer */

static void test_strbuf(void) {
    StrBuf b;
    sb_init(&b);
    CHECK_STR(b.s, "");
    CHECK(b.len == 0);
    sb_append(&b, "ab");
    sb_appendn(&b, "cdef", 2);
    sb_printf(&b, "-%d-%s", 42, "x");
    CHECK_STR(b.s, "abcd-42-x");
    CHECK(b.len == 9);
    for (int i = 0; i < 2000; i++) sb_printf(&b, "%05d", i);
    CHECK(b.len == 9 + 2000 * 5);
    CHECK(strlen(b.s) == b.len);
    CHECK(memcmp(b.s + 9, "0000000001", 10) == 0);
    CHECK(memcmp(b.s + b.len - 5, "01999", 5) == 0);
    char big[3000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = 0;
    sb_printf(&b, "%s!", big); /* one formatted piece larger than the free space */
    CHECK(b.len == 9 + 2000 * 5 + 3000);
    CHECK(b.s[b.len - 1] == '!' && b.s[b.len - 2] == 'z' && b.s[b.len] == 0);
    sb_free(&b);
    CHECK(b.s == NULL);
}

static void test_json_string_escapes(void) {
    StrBuf b;
    sb_init(&b);
    sb_json_string(&b, "a\"b\\c/\n\r\t\b\f\x01\x1f\x7f \xc3\xa9");
    CHECK_STR(b.s, "\"a\\\"b\\\\c/\\n\\r\\t\\b\\f\\u0001\\u001f\x7f \xc3\xa9\"");
    Json j;
    CHECK(json_ok(b.s, b.len, &j) == 0);
    CHECK(j.type == JSON_STRING);
    CHECK_STR(j.string, "a\"b\\c/\n\r\t\b\f\x01\x1f\x7f \xc3\xa9");
    json_free(&j);
    sb_free(&b);

    sb_init(&b);
    sb_json_string(&b, "");
    CHECK_STR(b.s, "\"\"");
    sb_free(&b);

    /* bytes that are not UTF-8 become U+FFFD, so the output is always valid JSON */
    sb_init(&b);
    sb_json_string(&b, "a\xff" "b\xc3" "\xe4\xb8" "c\xed\xa0\x80" "\xe2\x82\xac");
    CHECK_STR(b.s, "\"a\\ufffdb\\ufffd\\ufffd\\ufffdc\\ufffd\\ufffd\\ufffd\xe2\x82\xac\"");
    CHECK(json_ok(b.s, b.len, &j) == 0);
    CHECK_STR(j.string, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xe2\x82\xac");
    json_free(&j);
    sb_free(&b);

    /* every control character and every escape form reads back */
    char all[40];
    for (int i = 1; i < 32; i++) all[i - 1] = (char)i;
    strcpy(all + 31, "\"\\/x");
    sb_init(&b);
    sb_json_string(&b, all);
    CHECK(json_ok(b.s, b.len, &j) == 0);
    CHECK_STR(j.string, all);
    json_free(&j);
    sb_free(&b);
}

static void test_json_unicode(void) {
    Json j;
    const char *s = "\"\\u00e9\\u4E2D\\ud83d\\ude00\\u0041\\/ raw:\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\"";
    CHECK(json_ok(s, strlen(s), &j) == 0);
    CHECK_STR(j.string, "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80" "A/ raw:\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80");
    json_free(&j);
    /* the extremes: U+0001, U+07FF, U+0800, U+FFFF, U+10000, U+10FFFF */
    s = "\"\\u0001\\u07ff\\u0800\\uffff\\ud800\\udc00\\udbff\\udfff\"";
    CHECK(json_ok(s, strlen(s), &j) == 0);
    CHECK_STR(j.string, "\x01\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");
    json_free(&j);
}

static void test_json_numbers_roundtrip(void) {
    const double vals[] = {0.1, 1e-300, -0.0, 123456789012345678.0, 1.0 / 3, 5e-324, 2.2250738585072014e-308,
                           1.7976931348623157e308, 42, -1.5, 0, 1e21, 123456789, -9007199254740993.0};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        StrBuf b;
        sb_init(&b);
        sb_append(&b, "[");
        sb_json_number(&b, vals[i]);
        sb_append(&b, "]");
        Json j;
        CHECK(json_ok(b.s, b.len, &j) == 0);
        CHECK(j.type == JSON_ARRAY && j.n == 1 && j.items[0].type == JSON_NUMBER);
        if (j.n == 1) {
            CHECK(memcmp(&j.items[0].number, &vals[i], sizeof(double)) == 0);
            if (memcmp(&j.items[0].number, &vals[i], sizeof(double)) != 0)
                fprintf(stderr, "  %s -> %.17g\n", b.s, j.items[0].number);
        }
        json_free(&j);
        sb_free(&b);
    }
    StrBuf b;
    sb_init(&b);
    sb_json_number(&b, 42);
    sb_append(&b, " ");
    sb_json_number(&b, 0.1);
    sb_append(&b, " ");
    sb_json_number(&b, -0.0);
    sb_append(&b, " ");
    sb_json_number(&b, 123456789012345678.0);
    sb_append(&b, " ");
    sb_json_number(&b, NAN);
    sb_append(&b, " ");
    sb_json_number(&b, INFINITY);
    sb_append(&b, " ");
    sb_json_number(&b, -INFINITY);
    CHECK_STR(b.s, "42 0.1 -0 1.2345678901234568e+17 null null null");
    sb_free(&b);

    /* the JSON grammar's number forms */
    Json j;
    const char *s = "[0, -0, 1.5e3, 2E-2, 1e+2, -12.25, 100, 0.000001, 1e-400]";
    CHECK(json_ok(s, strlen(s), &j) == 0);
    CHECK(j.n == 9);
    if (j.n == 9) {
        CHECK(j.items[0].number == 0 && !signbit(j.items[0].number));
        CHECK(j.items[1].number == 0 && signbit(j.items[1].number));
        CHECK(j.items[2].number == 1500);
        CHECK(j.items[3].number == 0.02);
        CHECK(j.items[4].number == 100);
        CHECK(j.items[5].number == -12.25);
        CHECK(j.items[6].number == 100);
        CHECK(j.items[7].number == 1e-6);
        CHECK(j.items[8].number == 0); /* underflow rounds to zero, accepted */
    }
    json_free(&j);
}

static void test_json_tree(void) {
    const char *s = " \t\r\n{ \"a\" : [ 1 , true , false , null , \"x\" , [ ] , { } ] ,\n"
                    "\"b\":{\"c\":\"d\"}, \"\":-2 } \n\t";
    Json j;
    CHECK(json_ok(s, strlen(s), &j) == 0);
    CHECK(j.type == JSON_OBJECT && j.n == 3);
    const Json *a = json_get(&j, "a");
    CHECK(a && a->type == JSON_ARRAY && a->n == 7);
    if (a && a->n == 7) {
        CHECK(a->items[0].type == JSON_NUMBER && a->items[0].number == 1);
        CHECK(a->items[1].type == JSON_BOOL && a->items[1].number == 1);
        CHECK(a->items[2].type == JSON_BOOL && a->items[2].number == 0);
        CHECK(a->items[3].type == JSON_NULL);
        CHECK(a->items[4].type == JSON_STRING);
        CHECK_STR(a->items[4].string, "x");
        CHECK(a->items[5].type == JSON_ARRAY && a->items[5].n == 0);
        CHECK(a->items[6].type == JSON_OBJECT && a->items[6].n == 0);
        CHECK(json_get(&a->items[6], "x") == NULL);
    }
    CHECK_STR(j.keys[0], "a");
    CHECK_STR(j.keys[1], "b");
    const Json *c = json_get(json_get(&j, "b"), "c");
    CHECK(c && c->type == JSON_STRING);
    if (c) CHECK_STR(c->string, "d");
    const Json *e = json_get(&j, "");
    CHECK(e && e->number == -2);
    CHECK(json_get(&j, "missing") == NULL);
    CHECK(json_get(a, "a") == NULL);       /* not an object */
    CHECK(json_get(NULL, "a") == NULL);
    json_free(&j);
    CHECK(j.type == JSON_NULL && j.n == 0 && j.items == NULL);
    json_free(&j); /* freeing twice is harmless */

    /* scalars are documents too */
    CHECK(json_ok("7", 1, &j) == 0 && j.type == JSON_NUMBER && j.number == 7);
    CHECK(json_ok("\"s\"", 3, &j) == 0 && j.type == JSON_STRING);
    json_free(&j);
    CHECK(json_ok(" null ", 6, &j) == 0 && j.type == JSON_NULL);
}

static void test_json_rejects(void) {
    /* numbers */
    CHECK_STR(JERR("01"), "leading zero in number at byte 0");
    CHECK_STR(JERR("[-01]"), "leading zero in number at byte 1");
    CHECK_STR(JERR("00"), "leading zero in number at byte 0");
    CHECK_CONTAINS(JERR("+1"), "unexpected character '+'");
    CHECK_CONTAINS(JERR("+1"), "at byte 0");
    CHECK_CONTAINS(JERR(".5"), "unexpected character '.'");
    CHECK_STR(JERR("1."), "unexpected end of input, expected a digit after the decimal point at byte 2");
    CHECK_STR(JERR("[1.]"), "unexpected character ']', expected a digit after the decimal point at byte 3");
    CHECK_CONTAINS(JERR("1e"), "expected a digit in the exponent at byte 2");
    CHECK_CONTAINS(JERR("1e+"), "expected a digit in the exponent at byte 3");
    CHECK_CONTAINS(JERR("-"), "expected a digit in number at byte 1");
    CHECK_STR(JERR("0x10"), "unexpected character 'x', trailing characters after the JSON value at byte 1");
    CHECK_CONTAINS(JERR("NaN"), "unexpected character 'N'");
    CHECK_CONTAINS(JERR("Infinity"), "unexpected character 'I'");
    CHECK_CONTAINS(JERR("-Infinity"), "expected a digit in number at byte 1");
    CHECK_STR(JERR("1e400"), "number out of range at byte 0");
    CHECK_STR(JERR("[1, -1e309]"), "number out of range at byte 4");
    CHECK_STR(JERR("1e99999999999999999999"), "number out of range at byte 0");
    /* structure */
    CHECK_STR(JERR(""), "unexpected end of input, expected a value at byte 0");
    CHECK_STR(JERR(" \n "), "unexpected end of input, expected a value at byte 3");
    CHECK_STR(JERR("["), "unexpected end of input, expected a value at byte 1");
    CHECK_STR(JERR("[1"), "unexpected end of input, expected ',' or ']' in array at byte 2");
    CHECK_STR(JERR("[1,]"), "unexpected character ']', expected a value at byte 3");
    CHECK_STR(JERR("[1 2]"), "unexpected character '2', expected ',' or ']' in array at byte 3");
    CHECK_STR(JERR("{\"a\":1,}"), "unexpected character '}', expected a string key in object at byte 7");
    CHECK_STR(JERR("{1:2}"), "unexpected character '1', expected a string key in object at byte 1");
    CHECK_STR(JERR("{\"a\" 1}"), "unexpected character '1', expected ':' after object key at byte 5");
    CHECK_STR(JERR("{\"a\":1 \"b\":2}"), "unexpected character '\"', expected ',' or '}' in object at byte 7");
    CHECK_STR(JERR("{\"a\":"), "unexpected end of input, expected a value at byte 5");
    CHECK_STR(JERR("[1] x"), "unexpected character 'x', trailing characters after the JSON value at byte 4");
    CHECK_STR(JERR("{} {}"), "unexpected character '{', trailing characters after the JSON value at byte 3");
    CHECK_STR(JERR("[1]\x00"), "unexpected byte 0x00, trailing characters after the JSON value at byte 3");
    CHECK_STR(JERR("\xef\xbb\xbf{}"), "unexpected byte 0xef, expected a value at byte 0");
    /* literals */
    CHECK_STR(JERR("tru"), "invalid literal (expected 'true') at byte 0");
    CHECK_STR(JERR("[nul]"), "invalid literal (expected 'null') at byte 1");
    CHECK_STR(JERR("falsy"), "invalid literal (expected 'false') at byte 0");
    CHECK_CONTAINS(JERR("truex"), "trailing characters after the JSON value at byte 4");
    CHECK_CONTAINS(JERR("True"), "unexpected character 'T'");
    /* strings */
    CHECK_STR(JERR("\"abc"), "unterminated string at byte 0");
    CHECK_STR(JERR("[\"abc\\\"]"), "unterminated string at byte 1");
    CHECK_STR(JERR("\"\\"), "unterminated string at byte 0");
    CHECK_STR(JERR("\"a\x01\""), "control character 0x01 in string at byte 2");
    CHECK_STR(JERR("\"a\nb\""), "control character 0x0a in string at byte 2");
    CHECK_STR(JERR("\"a\tb\""), "control character 0x09 in string at byte 2");
    CHECK_STR(JERR("\"\\x\""), "invalid escape '\\x' in string at byte 1");
    CHECK_STR(JERR("\"\\'\""), "invalid escape '\\'' in string at byte 1");
    CHECK_STR(JERR("\"\\u12\""), "invalid \\u escape in string (needs 4 hex digits) at byte 1");
    CHECK_STR(JERR("\"\\u12g4\""), "invalid \\u escape in string (needs 4 hex digits) at byte 1");
    CHECK_STR(JERR("\"ab\\ud800\""), "unpaired UTF-16 surrogate \\ud800 in string at byte 3");
    CHECK_STR(JERR("\"\\udc00\""), "unpaired UTF-16 surrogate \\udc00 in string at byte 1");
    CHECK_STR(JERR("\"\\ud800\\u0041\""), "unpaired UTF-16 surrogate \\ud800 in string at byte 1");
    CHECK_STR(JERR("\"\\ud800\\ud800\""), "unpaired UTF-16 surrogate \\ud800 in string at byte 1");
    CHECK_STR(JERR("\"\\ud800\\n\""), "unpaired UTF-16 surrogate \\ud800 in string at byte 1");
    CHECK_STR(JERR("\"\\ud800\\udc0\""), "unpaired UTF-16 surrogate \\ud800 in string at byte 1");
    CHECK_STR(JERR("\"x\\u0000\""), "\\u0000 in string (NUL is not supported) at byte 2");
    CHECK_STR(JERR("\"\xff\""), "invalid UTF-8 in string at byte 1");
    CHECK_STR(JERR("\"a\xc0\x80\""), "invalid UTF-8 in string at byte 2");     /* overlong NUL */
    CHECK_STR(JERR("\"\xe0\x80\xaf\""), "invalid UTF-8 in string at byte 1");  /* overlong '/' */
    CHECK_STR(JERR("\"\xed\xa0\x80\""), "invalid UTF-8 in string at byte 1");  /* encoded surrogate */
    CHECK_STR(JERR("\"\xf4\x90\x80\x80\""), "invalid UTF-8 in string at byte 1"); /* > U+10FFFF */
    CHECK_STR(JERR("\"\xc3\""), "invalid UTF-8 in string at byte 1");          /* truncated */
    CHECK_STR(JERR("\"\xe4\xb8\""), "invalid UTF-8 in string at byte 1");
    CHECK_STR(JERR("\"\x80\""), "invalid UTF-8 in string at byte 1");          /* stray continuation */
    /* duplicate keys, small and large objects (the latter take the sorting path) */
    CHECK_STR(JERR("{\"x\":1,\"x\":2}"), "duplicate key 'x' at byte 7");
    CHECK_STR(JERR("{\"a\":{\"k\":1,\"j\":2,\"k\":3}}"), "duplicate key 'k' at byte 18");
    CHECK_STR(JERR("{\"\\u0078\":1,\"x\":2}"), "duplicate key 'x' at byte 12");
    StrBuf b;
    sb_init(&b);
    sb_append(&b, "{");
    for (int i = 0; i < 100; i++) sb_printf(&b, "\"k%d\":%d,", i, i);
    size_t at70 = b.len;
    sb_append(&b, "\"k70\":0,");
    sb_append(&b, "\"k10\":0}");
    char want[64];
    snprintf(want, sizeof want, "duplicate key 'k70' at byte %zu", at70);
    CHECK_STR(json_err(b.s, b.len), want);
    b.s[b.len - 1] = ',';
    b.s[at70 + 3] = '!';             /* now k7! is unique and k10 the only repeat */
    snprintf(want, sizeof want, "duplicate key 'k10' at byte %zu", b.len - 8);
    sb_append(&b, "\"z\":1}");
    CHECK_STR(json_err(b.s, b.len), want);
    sb_free(&b);
}

static void test_json_depth(void) {
    /* 100000-deep nesting fails cleanly (no stack overflow) at the 65th bracket */
    size_t n = 100000;
    char *s = xmalloc(2 * n);
    memset(s, '[', n);
    memset(s + n, ']', n);
    Json j;
    CHECK(json_parse(s, 2 * n, &j, err) != 0);
    CHECK_STR(err, "nesting deeper than 64 levels at byte 64");
    /* exactly JSON_MAX_DEPTH levels are fine, one more is not */
    memset(s, '[', JSON_MAX_DEPTH);
    memset(s + JSON_MAX_DEPTH, ']', JSON_MAX_DEPTH);
    CHECK(json_parse(s, 2 * JSON_MAX_DEPTH, &j, err) == 0);
    const Json *p = &j;
    int depth = 0;
    while (p->type == JSON_ARRAY && p->n == 1) { p = &p->items[0]; depth++; }
    CHECK(depth == JSON_MAX_DEPTH - 1 && p->type == JSON_ARRAY && p->n == 0);
    json_free(&j);
    memset(s, '[', JSON_MAX_DEPTH + 1);
    memset(s + JSON_MAX_DEPTH + 1, ']', JSON_MAX_DEPTH + 1);
    CHECK(json_parse(s, 2 * JSON_MAX_DEPTH + 2, &j, err) != 0);
    free(s);
    /* objects count too, and the partial tree is freed (checked under ASan/valgrind) */
    StrBuf b;
    sb_init(&b);
    for (int i = 0; i < 1000; i++) sb_append(&b, "{\"a\":[1,\"x\",");
    CHECK(json_parse(b.s, b.len, &j, err) != 0);
    CHECK_CONTAINS(err, "nesting deeper than 64 levels");
    sb_free(&b);
}

static void test_json_prefix_only(void) {
    /* only text[0..len) is read: the rest of the buffer is never looked at */
    Json j;
    const char *s = "[1,2] garbage";
    CHECK(json_parse(s, 5, &j, err) == 0);
    CHECK(j.type == JSON_ARRAY && j.n == 2);
    json_free(&j);
    CHECK(json_parse("123456", 3, &j, err) == 0 && j.number == 123);
    CHECK(json_parse("1.5e7", 3, &j, err) == 0 && j.number == 1.5);
    CHECK(json_parse("true", 3, &j, err) != 0);
    CHECK_STR(err, "invalid literal (expected 'true') at byte 0");
    CHECK(json_parse("\"abc\"", 4, &j, err) != 0);
    CHECK_STR(err, "unterminated string at byte 0");
    CHECK(json_parse("\"\\u0041\"", 6, &j, err) != 0);
    CHECK_STR(err, "unterminated string at byte 0");
    CHECK(json_parse("\"\\u0041\"", 7, &j, err) != 0);
    CHECK_STR(err, "unterminated string at byte 0");
    CHECK(json_parse("{\"a\":1}", 6, &j, err) != 0);
    CHECK_STR(err, "unexpected end of input, expected ',' or '}' in object at byte 6");
    CHECK(json_parse("1.", 1, &j, err) == 0 && j.number == 1);
    CHECK(json_parse("12e", 2, &j, err) == 0 && j.number == 12);
    CHECK(json_parse(NULL, 0, &j, err) != 0);
    /* every prefix of a document parses or fails without reading past len (heap copies) */
    const char *doc = "{\"k\":[1.5e-3,\"\\ud83d\\ude00\\n\xc3\xa9\",true,null,{\"z\":false}],\"m\":-0}";
    size_t dn = strlen(doc);
    int fails = 0;
    for (size_t len = 0; len <= dn; len++) {
        char *copy = xmalloc(len ? len : 1);
        memcpy(copy, doc, len);
        if (json_parse(copy, len, &j, err) == 0) json_free(&j);
        else fails++;
        free(copy);
    }
    CHECK(fails == (int)dn); /* only the full document is valid */
}

static void test_json_partial_trees_freed(void) {
    /* errors deep inside arrays/objects/strings: must not crash or leak (run under ASan) */
    const char *bad[] = {
        "[{\"a\":[1,2,{\"b\":\"x\"}]}, 01]",
        "{\"a\":\"x\",\"b\":[\"y\",{\"c\":\"\\ud800\"}]}",
        "{\"a\":[],\"b\":{},\"a\":1}",
        "[[[\"s\"],[\"t\"]],[\"u\",",
        "{\"k\":\"v\",\"w\"",
        "{\"k\":\"v\",\"w\":}",
        "{\"k\":\"v\",\"w\\x\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Json j;
        j.type = JSON_ARRAY; /* garbage in *out must not matter */
        CHECK(json_parse(bad[i], strlen(bad[i]), &j, err) != 0);
        CHECK(j.type == JSON_NULL && j.n == 0 && j.items == NULL);
        json_free(&j);
    }
}

static void test_json_big_inputs_fast(void) {
    /* 200000 array items and a 20000-key object: linear / n log n, well under a second */
    StrBuf b;
    sb_init(&b);
    sb_append(&b, "[");
    for (int i = 0; i < 200000; i++) sb_printf(&b, "%s%d", i ? "," : "", i);
    sb_append(&b, "]");
    Json j;
    double t0 = now_seconds();
    CHECK(json_parse(b.s, b.len, &j, err) == 0);
    CHECK(j.n == 200000 && j.items[199999].number == 199999);
    json_free(&j);
    sb_free(&b);
    sb_init(&b);
    sb_append(&b, "{");
    for (int i = 0; i < 20000; i++) sb_printf(&b, "%s\"key%d\":%d", i ? "," : "", i, i);
    sb_append(&b, "}");
    CHECK(json_parse(b.s, b.len, &j, err) == 0);
    CHECK(j.n == 20000);
    const Json *v = json_get(&j, "key12345");
    CHECK(v && v->number == 12345);
    json_free(&j);
    sb_free(&b);
    /* a 1 MB string and a 100000-digit number */
    size_t n = 1 << 20;
    char *s = xmalloc(n + 2);
    s[0] = '"';
    memset(s + 1, 'a', n);
    s[n + 1] = '"';
    CHECK(json_parse(s, n + 2, &j, err) == 0 && j.type == JSON_STRING && strlen(j.string) == n);
    json_free(&j);
    s[0] = '1';
    memset(s + 1, '0', 100000);
    CHECK(json_parse(s, 400, &j, err) != 0);
    CHECK_STR(err, "number out of range at byte 0");
    CHECK(json_parse(s, 100000, &j, err) != 0);
    s[1] = '.';
    CHECK(json_parse(s, 100000, &j, err) == 0 && j.number == 1);
    free(s);
    CHECK(now_seconds() - t0 < 2.0);
}

/* ---------------------------------------------------------------- safetensors */


int main(void) {
    RUN(test_strbuf);
    RUN(test_json_string_escapes);
    RUN(test_json_unicode);
    RUN(test_json_numbers_roundtrip);
    RUN(test_json_tree);
    RUN(test_json_rejects);
    RUN(test_json_depth);
    RUN(test_json_prefix_only);
    RUN(test_json_partial_trees_freed);
    RUN(test_json_big_inputs_fast);
    return test_summary();
}
