/* datainfo.h: what the training data decides when the flags leave it open, so that an image
 * folder trains without guessing, and what a run records about its data:
 *   --val unset     5000, or a tenth of the training images when that is fewer
 *   --model unset   the default hidden layers (256-256) between the data's pixels and classes
 *   recorded        the class names, the image size ("28x28") and the background ("dark" or
 *                   "light": the training images' border, when clearly one or the other), in
 *                   config.json and every checkpoint, for predict and export */
#ifndef RUN_DATAINFO_H
#define RUN_DATAINFO_H

#include "data/dataset.h"
#include "run/config.h"

#define DATA_DEFAULT_VAL 5000
#define DATA_DARK_BELOW 64     /* a border mean below this: light strokes on dark (MNIST) */
#define DATA_LIGHT_ABOVE 191   /* above this: dark strokes on light */

/* Sets --val when it was not set, for n_train training images. */
void data_default_val(Config *c, long n_train);
/* All of the above, from the training and test splits (test may be NULL). */
void data_defaults(Config *c, const Dataset *train, const Dataset *test);
/* The mean brightness (0-255) of the one-pixel border of a rows x cols image. */
double data_border_mean(const unsigned char *pixels, int rows, int cols);

#endif
