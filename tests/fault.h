/* fault.h: helpers for the reliability tests (define RUNS, include e2e.h first): a small
 * MNIST-derived dataset so that hundreds of short runs stay fast, the fault-injection shim
 * (tests/fault_inject.c) built and preloaded, and comparisons with an uninterrupted run. */
#ifndef FAULT_H
#define FAULT_H

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#define TINY RUNS "/tiny"
#define SHIM RUNS "/fault_inject.so"
/* the shim comes before ASan's runtime in the library list, which ASan must be told is fine */
#define PRELOAD "ASAN_OPTIONS=\"$ASAN_OPTIONS:verify_asan_link_order=0\" LD_PRELOAD=\"$PWD/" SHIM "\""

/* The first n images (and labels) of an MNIST file, as an IDX file of n. */
static __attribute__((unused)) int idx_head(const char *from, const char *to, int n, int image) {
    char err[ERR_LEN];
    size_t len;
    unsigned char *buf = (unsigned char *)read_file(from, &len, err);
    size_t head = image ? 16 : 8, item = image ? 784 : 1;
    int rc = -1;
    if (buf && len >= head + (size_t)n * item) {
        buf[4] = (unsigned char)(n >> 24); buf[5] = (unsigned char)(n >> 16);
        buf[6] = (unsigned char)(n >> 8); buf[7] = (unsigned char)n;
        FILE *f = fopen(to, "wb");
        rc = f && fwrite(buf, 1, head + (size_t)n * item, f) == head + (size_t)n * item ? 0 : -1;
        if (f && fclose(f) != 0) rc = -1;
    }
    if (!buf) fprintf(stderr, "  %s\n", err);
    free(buf);
    return rc;
}

/* TINY: 600 training and 200 test images of MNIST; and the shim. */
static __attribute__((unused)) int fault_setup(void) {
    if (sh("mkdir -p " TINY) != 0) return -1;
    if (idx_head("data/mnist/train-images-idx3-ubyte", TINY "/train-images-idx3-ubyte", 600, 1) ||
        idx_head("data/mnist/train-labels-idx1-ubyte", TINY "/train-labels-idx1-ubyte", 600, 0) ||
        idx_head("data/mnist/t10k-images-idx3-ubyte", TINY "/t10k-images-idx3-ubyte", 200, 1) ||
        idx_head("data/mnist/t10k-labels-idx1-ubyte", TINY "/t10k-labels-idx1-ubyte", 200, 0))
        return -1;
    return sh("${CC:-cc} -shared -fPIC -O2 tests/fault_inject.c -o " SHIM " -ldl");
}

/* Exit status of `TRAIN args` with the shim acting as env says ("FAULT_AT=3 ..."), its stderr
 * in RUNS/last.err; -1 when it was killed (SIGKILL: the shell reports 128 + 9). */
static __attribute__((unused)) int faulty(const char *env, const char *fmt, ...) {
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "env FAULT_DIR=" RUNS " %s " PRELOAD " " TRAIN " --quiet %s > " RUNS
             "/last.out 2> " RUNS "/last.err", env, args);
    int rc = sh_status(cmd);
    return rc == 128 + 9 ? -1 : rc;
}

/* The exit status of `TRAIN args` (no shim), stderr in RUNS/last.err. */
static __attribute__((unused)) int trained(const char *fmt, ...) {
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, TRAIN " %s > " RUNS "/last.out 2> " RUNS "/last.err", args);
    return sh_status(cmd);
}

/* 1 if the file RUNS/name contains text. */
static __attribute__((unused)) int says(const char *name, const char *text) {
    char path[256], err[ERR_LEN];
    snprintf(path, sizeof path, RUNS "/%s", name);
    char *s = read_file(path, NULL, err);
    int found = s && strstr(s, text);
    if (!found) fprintf(stderr, "  %s lacks \"%s\"; it holds: %s\n", path, text, s ? s : err);
    free(s);
    return found;
}

/* Run b ended exactly as run a: every tensor of last and best, log.csv without its timings,
 * and the summary's figures. */
static __attribute__((unused)) int same_run(const char *a, const char *b) {
    int ok = max_weight_diff(ckpt(a, "last.safetensors"), ckpt(b, "last.safetensors")) == 0 &&
             max_weight_diff(ckpt(a, "best.safetensors"), ckpt(b, "best.safetensors")) == 0;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test \"$(cut -d, -f1-8 " RUNS "/%s/log.csv)\" = \"$(cut -d, -f1-8 " RUNS
             "/%s/log.csv)\"", a, b);
    ok = ok && sh_status(cmd) == 0;
    static const char *keys[] = {"steps", "train_loss", "val_loss", "test_loss", "test_acc", "best_step",
                                 "kept_step", "best_val_loss"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        double x = summary_value(a, keys[i]), y = summary_value(b, keys[i]);
        if (!(x == y || (x != x && y != y))) { ok = 0; fprintf(stderr, "  %s: %s %.17g != %.17g\n", b, keys[i], x, y); }
    }
    char sa[32] = "", sb[32] = "";
    summary_field(a, "stopped", sa, sizeof sa);
    summary_field(b, "stopped", sb, sizeof sb);
    return ok && sa[0] && !strcmp(sa, sb);
}

#endif
