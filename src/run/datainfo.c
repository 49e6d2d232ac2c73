/* datainfo.c: defaults from the data and what a run records about it, see datainfo.h. */
#include "run/datainfo.h"
#include "data/classes.h"
#include "nn/model.h"
#include "util/util.h"

#include <string.h>

#define BACKGROUND_SAMPLE 1000   /* training images whose border decides the background */

void data_default_val(Config *c, long n_train) {
    if (config_is_set(c, "val")) return;
    c->val = n_train / 10 < DATA_DEFAULT_VAL ? n_train / 10 : DATA_DEFAULT_VAL;
}

double data_border_mean(const unsigned char *px, int rows, int cols) {
    double sum = 0;
    long n = 0;
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < cols; k++)
            if (r == 0 || r == rows - 1 || k == 0 || k == cols - 1) { sum += px[(long)r * cols + k]; n++; }
    return n ? sum / n : 0;
}

/* --model unset: the default's hidden layers, the data's input width and classes. */
static void default_model(Config *c, int input, int classes) {
    LayerSizes ls;
    char err[ERR_LEN];
    if (config_is_set(c, "model") || model_parse_sizes(c->model, &ls, err) != 0) return;
    ls.dims[0] = input;
    ls.dims[ls.n_dims - 1] = classes;
    size_t used = 0;
    for (int i = 0; i < ls.n_dims; i++)
        used += (size_t)snprintf(c->model + used, sizeof c->model - used, "%s%d", i ? "-" : "", ls.dims[i]);
}

void data_defaults(Config *c, const Dataset *train, const Dataset *test) {
    data_default_val(c, train->n);
    int classes = train->n_classes;
    if (test && test->n_classes > classes) classes = test->n_classes;
    default_model(c, train->dim, classes);
    if (!c->classes[0] && train->class_names &&
        classes_join(train->class_names, train->n_classes, c->classes, sizeof c->classes) != 0)
        warn("warning: the class names are too long to record (%zu bytes at most); predict will "
             "show class numbers", sizeof c->classes - 1);
    if (!c->image_size[0]) snprintf(c->image_size, sizeof c->image_size, "%dx%d", train->cols, train->rows);
    if (!c->background[0]) {
        double sum = 0;
        int n = train->n < BACKGROUND_SAMPLE ? train->n : BACKGROUND_SAMPLE;
        for (int i = 0; i < n; i++)
            sum += data_border_mean(train->images + (size_t)i * train->dim, train->rows, train->cols);
        double mean = n ? sum / n : 128;
        if (mean < DATA_DARK_BELOW) snprintf(c->background, sizeof c->background, "dark");
        else if (mean > DATA_LIGHT_ABOVE) snprintf(c->background, sizeof c->background, "light");
    }
}
