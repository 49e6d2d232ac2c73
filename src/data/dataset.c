/* data.c: IDX files (raw or gzip), dataset directories, slices and batch gathering.
 *
 * An IDX file is a big-endian header, magic 0x00000800 | ndims (0x08 = unsigned byte data),
 * then ndims u32 sizes, then prod(sizes) bytes. zfile.h reads gzip and plain files alike
 * (by the gzip magic), so one code path serves both; reading one byte past the expected
 * payload both detects trailing junk and makes zlib verify the gzip
 * trailer's CRC. */
#include "data/dataset.h"
#include "data/classes.h"
#include "data/imagefolder.h"
#include "data/zfile.h"
#include "kernels/kernels.h"
#include "util/machine.h"
#include "util/util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bounds that no image dataset reaches but that keep a hostile header from asking for
 * absurd allocations before the file's length is known (gzip hides it). */
#define IDX_MAX_COUNT 100000000
#define IDX_MAX_PIXELS (1 << 20)

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int idx_read(const char *path, uint32_t expect_magic, uint8_t **data, int dims[3], int *ndims,
             char *err) {
    *data = NULL;
    if (is_dir(path)) return errf(err, "%s: is a directory, expected an IDX file", path);
    if (access(path, F_OK) == 0 && !is_file(path))   /* a FIFO or device could block forever */
        return errf(err, "%s: not a regular file", path);
    ZFile *f = zf_open(path, err);
    if (!f) return -1;
    unsigned char head[16];
    int rc = -1;
    uint8_t *payload = NULL;
    int want_dims = (int)(expect_magic & 0xff);
    long got = zf_read(f, head, 4, err);
    if (got < 0) goto done;
    if (got < 4) { errf(err, "%s: %s (%ld bytes), not an IDX file", path, got ? "too short" : "empty", got); goto done; }
    uint32_t magic = be32(head);
    if (magic != expect_magic) {
        errf(err, "%s: not an IDX %s file (magic 0x%08x, expected 0x%08x)", path,
             expect_magic == 0x803 ? "image" : "label", magic, expect_magic);
        goto done;
    }
    got = zf_read(f, head + 4, 4 * (size_t)want_dims, err);
    if (got < 0) goto done;
    if (got < 4 * want_dims) { errf(err, "%s: truncated header", path); goto done; }
    size_t total = 1;
    for (int d = 0; d < want_dims; d++) {
        uint32_t v = be32(head + 4 + 4 * d);
        uint32_t limit = d == 0 ? IDX_MAX_COUNT : IDX_MAX_PIXELS;
        if (v > limit) { errf(err, "%s: dimension %d is %u, above the limit %u", path, d, v, limit); goto done; }
        if (v == 0 && d > 0) { errf(err, "%s: dimension %d is 0 (empty images)", path, d); goto done; }
        dims[d] = (int)v;
        total *= v;
    }
    if (want_dims == 3 && (size_t)dims[1] * dims[2] > IDX_MAX_PIXELS) {
        errf(err, "%s: images of %dx%d pixels are above the limit of %d", path, dims[1], dims[2],
             IDX_MAX_PIXELS);
        goto done;
    }
    /* The buffer grows with the data actually read, so a header that lies about its size
     * costs no more memory than the file holds; a gzip file can expand a thousandfold, so what
     * its header claims must fit in memory before any of it is read. */
    if (zf_is_gzip(f) && (double)total > machine_memory_bytes()) {
        char claim[32], have[32];
        format_bytes((double)total, claim, sizeof claim);
        format_bytes(machine_memory_bytes(), have, sizeof have);
        errf(err, "%s: its header claims %s of data, more than this machine's memory (%s)", path,
             claim, have);
        goto done;
    }
    size_t cap = total < ((size_t)64 << 20) ? total : (size_t)64 << 20, have = 0;
    payload = malloc(cap + 1);
    for (;;) {
        if (!payload) { errf(err, "%s: out of memory for %zu bytes", path, cap); goto done; }
        got = zf_read(f, payload + have, cap + 1 - have, err);
        if (got < 0) goto done;
        have += (size_t)got;
        if (have > total) { errf(err, "%s: longer than its header says (%zu data bytes expected)", path, total); goto done; }
        if (have < cap + 1 && have < total) {
            errf(err, "%s: truncated: %zu of the %zu data bytes its header announces", path, have, total);
            goto done;
        }
        if (have == total) break;
        cap = total - cap < cap ? total : 2 * cap;
        uint8_t *bigger = realloc(payload, cap + 1);
        if (!bigger) free(payload);
        payload = bigger;
    }
    *ndims = want_dims;
    *data = payload;
    payload = NULL;
    rc = 0;
done:
    free(payload);
    zf_close(f);
    return rc;
}

int dataset_load_files(const char *images_path, const char *labels_path, Dataset *ds, char *err) {
    memset(ds, 0, sizeof *ds);
    int idims[3], ldims[3], nd;
    uint8_t *images, *labels;
    if (idx_read(images_path, 0x803, &images, idims, &nd, err) != 0) return -1;
    if (idx_read(labels_path, 0x801, &labels, ldims, &nd, err) != 0) { free(images); return -1; }
    if (idims[0] != ldims[0]) {
        free(images); free(labels);
        return errf(err, "%s: %d labels, but %s holds %d images", labels_path, ldims[0], images_path, idims[0]);
    }
    if (idims[0] == 0) {
        free(images); free(labels);
        return errf(err, "%s: holds no images", images_path);
    }
    ds->n = idims[0];
    ds->rows = idims[1];
    ds->cols = idims[2];
    ds->dim = idims[1] * idims[2];
    ds->images = images;
    ds->labels = labels;
    ds->owns = 1;
    for (int i = 0; i < ds->n; i++)
        if (labels[i] + 1 > ds->n_classes) ds->n_classes = labels[i] + 1;
    return 0;
}

/* Finds split ("train" / "t10k") file kind ("images-idx3" / "labels-idx1") in dir, under
 * either spelling, with or without .gz. */
static int find_idx(const char *dir, const char *split, const char *kind, char *out, size_t len) {
    char dotted[32];
    snprintf(dotted, sizeof dotted, "%s", kind);
    char *dash = strchr(dotted, '-');
    if (dash) *dash = '.';   /* images-idx3 -> images.idx3 */
    const char *kinds[2] = {kind, dotted};
    const char *suffix[2] = {"", ".gz"};
    for (int k = 0; k < 2; k++)
        for (int s = 0; s < 2; s++) {
            snprintf(out, len, "%s/%s-%s-ubyte%s", dir, split, kinds[k], suffix[s]);
            /* idx_read says what is wrong with one that is there, or that a lookup fails
             * otherwise than "missing" (a symlink loop, a permission) */
            if (access(out, F_OK) == 0 || path_lookup_error(out)) return 0;
        }
    snprintf(out, len, "%s/%s-%s-ubyte", dir, split, kind);
    return -1;
}

/* The directory holding this executable, so `data/mnist` is found from any working dir. */
static int exe_dir(char *out, size_t len) {
    ssize_t n = readlink("/proc/self/exe", out, len - 1);
    if (n <= 0) return -1;
    out[n] = 0;
    char *slash = strrchr(out, '/');
    if (!slash) return -1;
    *slash = 0;
    return 0;
}

static void resolve_dir(const char *spec, char *dir, size_t len) {
    const char *local = !strcmp(spec, "mnist") ? "data/mnist" : !strcmp(spec, "fashion") ? "data/fashion" : NULL;
    if (!local) { snprintf(dir, len, "%s", spec); return; }
    snprintf(dir, len, "%s", local);
    if (is_dir(dir)) return;
    char exe[PATH_MAX];
    if (exe_dir(exe, sizeof exe) == 0) {
        snprintf(dir, len, "%.*s/%s", (int)(len / 2), exe, local);
        if (is_dir(dir)) return;
    }
    if (!strcmp(spec, "fashion") && is_dir("/usr/share/datasets/fashion-mnist"))
        snprintf(dir, len, "/usr/share/datasets/fashion-mnist");
    else
        snprintf(dir, len, "%s", local);
}

int dataset_open(const char *spec, int train, Dataset *ds, char *err) {
    char dir[PATH_MAX], images[PATH_MAX + 64], labels[PATH_MAX + 64];
    resolve_dir(spec, dir, sizeof dir);
    const char *hint = !strcmp(spec, "mnist") ? " (run `make data` to fetch MNIST)"
                     : !strcmp(spec, "fashion") ? " (run `sh data/fetch.sh fashion`)" : "";
    if (is_file(dir))
        return errf(err, "%s: is a file, not a dataset directory (--data takes mnist, fashion, a "
                    "directory of IDX files or an image folder)", dir);
    if (!is_dir(dir)) {
        int e = path_lookup_error(dir);   /* a symlink loop is not a missing directory */
        return e ? errf(err, "%s: %s", dir, strerror(e)) : errf(err, "%s: no such dataset directory%s", dir, hint);
    }
    const char *split = train ? "train" : "t10k";
    if (imagefolder_is(dir) && find_idx(dir, split, "images-idx3", images, sizeof images) != 0
        && find_idx(dir, split, "labels-idx1", labels, sizeof labels) != 0)
        return imagefolder_load(dir, train, ds, err);   /* dir/train/<class>/<image> */
    if (find_idx(dir, split, "images-idx3", images, sizeof images) != 0)
        return errf(err, "%s: missing (also looked for .gz and the images.idx3 spelling)%s", images, hint);
    if (find_idx(dir, split, "labels-idx1", labels, sizeof labels) != 0)
        return errf(err, "%s: missing (also looked for .gz and the labels.idx1 spelling)%s", labels, hint);
    if (dataset_load_files(images, labels, ds, err) != 0) return -1;
    int n_names;   /* the built-in datasets have ten classes, even in a file that lacks one */
    const char *const *names = classes_builtin(spec, &n_names);
    if (names && ds->n_classes <= n_names) {
        ds->n_classes = n_names;
        ds->class_names = classes_copy(names, n_names);
    }
    return 0;
}

Dataset dataset_slice(const Dataset *ds, int start, int n) {
    Dataset s = *ds;
    s.n = n;
    s.images = ds->images + (size_t)start * ds->dim;
    s.labels = ds->labels + start;
    s.owns = 0;
    return s;
}

void dataset_free(Dataset *ds) {
    if (ds->owns) { free(ds->images); free(ds->labels); classes_free(ds->class_names, ds->n_classes); }
    memset(ds, 0, sizeof *ds);
}

/* pixel / 255 as PyTorch's ToTensor computes it: a true division, rounded once (vectorised,
 * the same bits as the scalar division). Threaded when the rows are many (evaluation's
 * pieces): a training batch is too small to pay for the fork. */
void dataset_gather(const Dataset *ds, const int *idx, int n, float *x, int *y) {
    #pragma omp parallel for schedule(static) num_threads(kernels_get_threads()) if((long)n * ds->dim > (1L << 18))
    for (int i = 0; i < n; i++) {
        const uint8_t *src = ds->images + (size_t)idx[i] * ds->dim;
        float *dst = x + (size_t)i * ds->dim;
        #pragma omp simd
        for (int j = 0; j < ds->dim; j++) dst[j] = (float)src[j] / 255.0f;
        y[i] = ds->labels[idx[i]];
    }
}
