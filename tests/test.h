/* test.h: a tiny test harness. Each test file defines main() that calls its tests through
 * RUN(name), then returns test_summary(), which prints the closing line "N passed, N failed".
 * A check failure prints file:line and the values, and marks the current test failed. */
#ifndef TEST_H
#define TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int test_passed, test_failed, test_current_failed;
static const char *test_current_name;

#define CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "  FAIL %s:%d [%s]: %s\n", __FILE__, __LINE__, test_current_name, #cond); \
    test_current_failed = 1; } } while (0)

/* |a - b| <= tol, printing both values on failure */
#define CHECK_NEAR(a, b, tol) do { double a_ = (double)(a), b_ = (double)(b); \
    if (!(fabs(a_ - b_) <= (tol)) || a_ != a_ || b_ != b_) { \
    fprintf(stderr, "  FAIL %s:%d [%s]: %s = %.9g, %s = %.9g, tol %g\n", __FILE__, __LINE__, \
            test_current_name, #a, a_, #b, b_, (double)(tol)); test_current_failed = 1; } } while (0)

/* relative closeness: |a-b| <= rtol * max(1, |a|, |b|) */
#define CHECK_CLOSE(a, b, rtol) do { double a_ = (double)(a), b_ = (double)(b); \
    double s_ = fabs(a_) > fabs(b_) ? fabs(a_) : fabs(b_); if (s_ < 1) s_ = 1; \
    if (!(fabs(a_ - b_) <= (rtol) * s_)) { \
    fprintf(stderr, "  FAIL %s:%d [%s]: %s = %.9g, %s = %.9g, rtol %g\n", __FILE__, __LINE__, \
            test_current_name, #a, a_, #b, b_, (double)(rtol)); test_current_failed = 1; } } while (0)

#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) { \
    fprintf(stderr, "  FAIL %s:%d [%s]: \"%s\" != \"%s\"\n", __FILE__, __LINE__, test_current_name, \
            a_ ? a_ : "(null)", b_ ? b_ : "(null)"); test_current_failed = 1; } } while (0)

/* substring check */
#define CHECK_CONTAINS(hay, needle) do { const char *h_ = (hay), *n_ = (needle); \
    if (!h_ || !strstr(h_, n_)) { \
    fprintf(stderr, "  FAIL %s:%d [%s]: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, \
            test_current_name, h_ ? h_ : "(null)", n_); test_current_failed = 1; } } while (0)

#define RUN(fn) do { test_current_name = #fn; test_current_failed = 0; fn(); \
    if (test_current_failed) { test_failed++; fprintf(stderr, "FAIL %s\n", #fn); } \
    else { test_passed++; fprintf(stderr, "ok   %s\n", #fn); } } while (0)

static inline int test_summary(void) {
    printf("%d passed, %d failed\n", test_passed, test_failed);
    return test_failed ? 1 : 0;
}

#endif
