/* data.h: datasets of uint8 images with uint8 labels, kept as bytes in memory and scaled
 * to float only when a batch is gathered.
 *
 * Sources: IDX files (the MNIST format), raw or gzip-compressed (zlib), validated for magic
 * (0x00000803 images, 0x00000801 labels), dimensions, counts and exact file length. */
#ifndef DATA_H
#define DATA_H

#include <stdint.h>

typedef struct {
    int n;             /* number of examples */
    int rows, cols;    /* image shape */
    int dim;           /* rows * cols: features per example */
    uint8_t *images;   /* n * dim bytes, example-major */
    uint8_t *labels;   /* n bytes */
    int n_classes;     /* 1 + largest label seen (10 for MNIST) */
    char **class_names;  /* n_classes names (classes.h), or NULL when the data has none */
    int owns;          /* 1 if dataset_free must free images/labels (0 for a slice) */
} Dataset;

/* Reads one IDX file (raw or .gz, detected by content, not name) whose magic must equal
 * expect_magic (0x803 for images, 0x801 for labels). On success *data holds the payload
 * (malloc'd), dims[0..ndims-1] the sizes. Returns 0, or -1 with err = "<path>: <why>". */
int idx_read(const char *path, uint32_t expect_magic, uint8_t **data, int dims[3], int *ndims,
             char *err);

/* Loads an image file and a label file into ds, checking that the counts agree. */
int dataset_load_files(const char *images_path, const char *labels_path, Dataset *ds, char *err);

/* Resolves a data spec and loads its training (train=1) or test (train=0) split.
 * spec: "mnist"   -> data/mnist/ (relative to the working directory, else to the directory
 *                    holding the executable)
 *       "fashion" -> data/fashion/, else /usr/share/datasets/fashion-mnist/
 *       otherwise a directory holding the four IDX files, or an image folder.
 * In a directory the files are found under their usual names, with or without .gz:
 * train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
 * t10k-labels-idx1-ubyte (also the "train-images.idx3-ubyte" spelling). A directory with a
 * train/ subdirectory and neither IDX file of the split is an image folder, loaded by
 * imagefolder_load (imagefolder.h): train/ and test/, one subdirectory of images per class. */
int dataset_open(const char *spec, int train, Dataset *ds, char *err);

/* A non-owning view of examples [start, start+n) of ds. */
Dataset dataset_slice(const Dataset *ds, int start, int n);

void dataset_free(Dataset *ds);

/* Gathers examples idx[0..n-1] into x (n * dim floats, pixel/255) and y (n labels). */
void dataset_gather(const Dataset *ds, const int *idx, int n, float *x, int *y);

#endif
