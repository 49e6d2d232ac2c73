/* runplot.h: the charts every run writes next to its log:
 *   loss.svg  training loss (raw and smoothed) and validation loss against the step,
 *             the learning rate on a second axis
 *   acc.svg   training accuracy (smoothed) and validation accuracy against the step */
#ifndef RUNPLOT_H
#define RUNPLOT_H

/* Reads dir/log.csv and writes dir/loss.svg and dir/acc.svg. title names the run's key
 * settings; log_loss puts the loss on a log scale. Returns 0, or -1 with err. */
int runplot_write(const char *dir, const char *title, int log_loss, char *err);

/* Bias-corrected exponential moving average (as the lr-find smoothing): out[i] =
 * a_i / (1 - beta^k) with a_i = beta a + (1 - beta) x_i over the k finite values so far. */
void smooth_ema(const double *x, int n, double beta, double *out);

#endif
