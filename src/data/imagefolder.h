/* imagefolder.h: image-folder datasets (the layout of torchvision's ImageFolder), decoded with
 * stb_image into the same uint8 Dataset that IDX files give.
 *
 * Layout: DIR/train/<class>/<image> and DIR/test/<class>/<image>. Classes are the
 * subdirectories of a split, sorted in byte order (strcmp); an image's label is its class's
 * index in that order, and both splits must have the same class names. Images (PNG, JPEG, BMP,
 * binary PGM/PPM) are converted to 8-bit grayscale (luminance) and must all, in both splits,
 * have the same width and height: the first training image's. The dataset holds the classes in
 * order and, within a class, the files in byte order of their names. Names starting with '.'
 * are ignored at every level, as are plain files directly in a split directory. */
#ifndef IMAGEFOLDER_H
#define IMAGEFOLDER_H

#include "data/dataset.h"

#include <stdint.h>

/* Limits that keep bogus input from asking for absurd allocations. */
#define IMAGEFOLDER_MAX_SIDE 4096           /* pixels per side */
#define IMAGEFOLDER_MAX_IMAGES 10000000     /* images per split */
#define IMAGEFOLDER_MAX_CLASSES 256         /* labels are one byte */

/* Reads one image (PNG, JPEG, BMP, PGM/PPM, checked as an image folder's files are) as
 * 8-bit grayscale: *pixels gets w * h bytes, row by row (malloc'd). Returns 0, or -1 with
 * err = "<path>: <why>". */
int image_read_gray(const char *path, int *w, int *h, uint8_t **pixels, char *err);

/* 1 if dir looks like an image-folder dataset (dir/train is a directory). */
int imagefolder_is(const char *dir);

/* Loads the training (train=1, dir/train) or test (train=0, dir/test) split into ds.
 * Returns 0, or -1 with err (ERR_LEN bytes) = "<path>: <why>". */
int imagefolder_load(const char *dir, int train, Dataset *ds, char *err);

#endif
