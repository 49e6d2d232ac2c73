/* lr_find.h: `train lr-find [flags]`: the LR range test (Smith 2015; fastai's lr_find): train
 * from the initial weights with an exponentially growing lr and suggest one. */
#ifndef COMMANDS_LR_FIND_H
#define COMMANDS_LR_FIND_H

int cmd_lr_find(int argc, char **argv);

/* fastai's "valley" rule on losses[0..n): the longest stretch over which the loss keeps
 * decreasing (longest decreasing subsequence ending at each point, O(n^2)), and inside it
 * the point 1/2 of the way past its first third. Returns that index. */
int lrfind_valley(const double *losses, int n);
/* Index of the steepest descent: the most negative d loss / d log10(lr), by central
 * differences (one-sided at the ends) as numpy.gradient. */
int lrfind_steepest(const double *lrs, const double *losses, int n);

#endif
