/* average.h: weight averages, as torch.optim.swa_utils.AveragedModel computes them: the
 * first update copies the weights (n_averaged == 0), later ones average them in. */
#ifndef OPTIM_AVERAGE_H
#define OPTIM_AVERAGE_H

#include <stdint.h>

/* Exponential moving average (AveragedModel with get_ema_multi_avg_fn(decay)):
 * avg = lerp(avg, p, 1 - decay), 1 - decay rounded to float once. */
void average_ema(float *avg, const float *p, long n, int64_t n_averaged, double decay);
/* Equal weights (AveragedModel's default): avg += (p - avg) / (n_averaged + 1), the divisor a
 * float, so after k updates avg is the mean of the k weights (to rounding). */
void average_swa(float *avg, const float *p, long n, int64_t n_averaged);

#endif
