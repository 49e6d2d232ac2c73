/* lrtools.h: the learning-rate tools that do not train a model to the end:
 *   train schedule [flags]  lr (and cycled momentum) of every step as CSV, plus an SVG
 *   train lr-find [flags]   the LR range test (Smith 2015; fastai's lr_find) */
#ifndef LRTOOLS_H
#define LRTOOLS_H

int cmd_schedule(int argc, char **argv);
int cmd_lr_find(int argc, char **argv);

/* fastai's "valley" rule on losses[0..n): the longest stretch over which the loss keeps
 * decreasing (longest decreasing subsequence ending at each point, O(n^2)), and inside it
 * the point 1/2 of the way past its first third. Returns that index. */
int lrfind_valley(const double *losses, int n);
/* Index of the steepest descent: the most negative d loss / d log10(lr), by central
 * differences (one-sided at the ends) as numpy.gradient. */
int lrfind_steepest(const double *lrs, const double *losses, int n);

#endif
