/* export_images.c: `train export-images --data D --out DIR [--split train|test] [--count N]`:
 * a dataset written as PNG files in the image-folder layout, OUT/train/<class>/<index>.png and
 * OUT/test/<class>/<index>.png, so that its images can be looked at, and trained on again as
 * an image folder (the same pixels and labels).
 *
 * An image's file name is its index in its split, zero-padded so that names sort in index
 * order. A class's directory is its name (MNIST's digits, an image folder's class names)
 * when the names, read as directory names, sort in label order, as an image folder's
 * classes must; otherwise "<label>_<name>" (Fashion-MNIST: 0_T-shirt_top ... 9_Ankle boot),
 * or the label alone for data without names. A '/' in a name becomes '_'. */
#include "commands/export_images.h"
#include "data/dataset.h"
#include "data/imagewrite.h"
#include "run/config.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_LEN 256

static int digits(long n) {
    int d = 1;
    while (n >= 10) { n /= 10; d++; }
    return d;
}

/* The class directories' names (see above); classes gives the label count of both splits. */
static char (*class_dirs(const Dataset *ds, int classes))[NAME_LEN] {
    char (*dirs)[NAME_LEN] = xcalloc((size_t)classes, NAME_LEN);
    int sorted = ds->class_names != NULL && ds->n_classes == classes;
    for (int c = 0; sorted && c < classes; c++) {
        snprintf(dirs[c], NAME_LEN, "%s", ds->class_names[c]);
        for (char *p = dirs[c]; *p; p++) if (*p == '/') *p = '_';
        if (!dirs[c][0] || dirs[c][0] == '.' || (c && strcmp(dirs[c - 1], dirs[c]) >= 0)) sorted = 0;
    }
    if (sorted) return dirs;
    int width = digits(classes - 1);
    for (int c = 0; c < classes; c++) {
        const char *name = ds->class_names && c < ds->n_classes ? ds->class_names[c] : NULL;
        if (snprintf(dirs[c], NAME_LEN, "%0*d%s%.200s", width, c, name ? "_" : "", name ? name : "") >= NAME_LEN)
            dirs[c][NAME_LEN - 1] = 0;
        for (char *p = dirs[c]; *p; p++) if (*p == '/') *p = '_';
    }
    return dirs;
}

static void make_dir(const char *path) {
    if (mkdir(path, 0777) != 0 && errno != EEXIST) fatal(EXIT_FAIL, "%s: %s", path, strerror(errno));
    if (!is_dir(path)) fatal(EXIT_FAIL, "%s: exists and is not a directory", path);
}

/* Writes the first `count` images of ds into out/split/<class>/. */
static void export_split(const Dataset *ds, char (*dirs)[NAME_LEN], int classes, const char *out,
                         const char *split, long count, int quiet) {
    char path[PATH_LEN + 2 * NAME_LEN], err[ERR_LEN];
    snprintf(path, sizeof path, "%s/%s", out, split);
    make_dir(path);
    long n = count && count < ds->n ? count : ds->n;
    long *per_class = xcalloc((size_t)classes, sizeof(long));
    for (int c = 0; c < classes; c++) {
        snprintf(path, sizeof path, "%s/%s/%s", out, split, dirs[c]);
        make_dir(path);
    }
    int width = digits(n - 1);
    for (long i = 0; i < n; i++) {
        int c = ds->labels[i];
        if (snprintf(path, sizeof path, "%s/%s/%s/%0*ld.png", out, split, dirs[c], width, i) >= (int)sizeof path)
            fatal(EXIT_FAIL, "%s/%s/%s: path too long", out, split, dirs[c]);
        if (png_write_gray(path, ds->cols, ds->rows, ds->images + (size_t)i * ds->dim, err) != 0)
            fatal(EXIT_FAIL, "%s", err);
        per_class[c]++;
    }
    for (int c = 0; c < classes; c++)
        if (!per_class[c])
            warn("warning: %s/%s/%s holds no image (--count %ld is too few for every class); an image "
                 "folder needs at least one per class", out, split, dirs[c], count);
    if (!quiet) printf("export-images: %ld %s images of %dx%d in %d classes -> %s/%s\n", n, split,
                       ds->cols, ds->rows, classes, out, split);
    free(per_class);
}

int cmd_export_images(int argc, char **argv) {
    Config c;
    config_defaults(&c);
    config_parse_args(&c, argc, argv, 1, NULL, NULL);
    config_check_reads(&c, "train export-images", "--data --out --split --count --quiet", NULL);
    if (!c.out[0]) fatal(EXIT_USAGE, "export-images: --out DIR is required");
    const char *splits[2] = {"train", "test"};
    int want[2] = {strcmp(c.split, "test") != 0, strcmp(c.split, "train") != 0};
    /* nothing the user has is touched: every split directory must be new, checked first */
    for (int s = 0; s < 2; s++) {
        char path[PATH_LEN + 8];
        snprintf(path, sizeof path, "%s/%s", c.out, splits[s]);
        if (want[s] && access(path, F_OK) == 0)
            fatal(EXIT_USAGE, "%s: exists; export-images writes into new directories only (choose "
                  "another --out, or remove it)", path);
    }
    Dataset ds[2] = {{0}};
    char err[ERR_LEN];
    int classes = 0;
    for (int s = 0; s < 2; s++) {
        if (!want[s]) continue;
        if (dataset_open(c.data, s == 0, &ds[s], err) != 0) fatal(EXIT_FAIL, "%s", err);
        if (ds[s].n_classes > classes) classes = ds[s].n_classes;
    }
    make_dir(c.out);
    for (int s = 0; s < 2; s++) {
        if (!want[s]) continue;
        char (*dirs)[NAME_LEN] = class_dirs(&ds[s], classes);
        export_split(&ds[s], dirs, classes, c.out, splits[s], c.count, c.quiet);
        free(dirs);
        dataset_free(&ds[s]);
    }
    return 0;
}
