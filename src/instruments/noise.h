/* noise.h: the gradient noise scale of McCandlish et al. (2018), "An Empirical Model of
 * Large-Batch Training", B_simple = tr(Sigma) / |G|^2, where G is the true gradient and Sigma
 * the covariance of one example's gradient.
 *
 * A batch of B examples drawn independently gives a mean gradient G_B with
 *   E |G_B|^2 = |G|^2 + tr(Sigma) / B,
 * so two batch sizes b < B measured on the same step give unbiased estimates (their
 * Appendix A):
 *   |G|^2     ~ (B |G_B|^2 - b |G_b|^2) / (B - b)
 *   tr(Sigma) ~ (|G_b|^2 - |G_B|^2) / (1/b - 1/B)
 * Each is noisy, so each is smoothed by an exponential moving average over steps, and the
 * scale is the ratio of the two averages (their bias corrections cancel in the ratio).
 *
 * |G_b|^2 comes from no per-example gradient stored:
 *   - per example (b = 1): the gradient of a Linear layer y = W x + c for one example is
 *     (delta x^T, delta) with delta = d loss / d y, so its squared norm is
 *     |delta|^2 (|x|^2 + 1), both vectors being at hand after the backward pass;
 *   - per chunk: the gradient of each micro-batch a step processes (the difference of the
 *     accumulated gradient before and after it), for any model.
 * With unequal small batches (a shorter last chunk) E mean_k |G_bk|^2 = |G|^2 + tr(Sigma)
 * mean_k(1/b_k), so b is their harmonic mean. */
#ifndef INSTRUMENTS_NOISE_H
#define INSTRUMENTS_NOISE_H

#include "nn/net.h"

#define NOISE_EMA_BETA 0.99

/* The unbiased estimates from the mean squared norm small_sq of gradients over batches of
 * (harmonic mean) size b and the squared norm big_sq of the whole step's gradient over B > b
 * examples. */
void noise_estimate(double b, double small_sq, double B, double big_sq, double *g2, double *tr);

/* Exponential moving averages of the two estimates (both start at 0). */
typedef struct {
    double g2, tr;
} NoiseEma;
void noise_ema_update(NoiseEma *e, double g2, double tr);
/* B_simple = tr / g2 of the averages; NAN until both are positive (before the first update,
 * and when |G|^2 is below what the noisy estimate resolves, late in training). */
double noise_ema_scale(const NoiseEma *e);

/* 1 when every trainable parameter of n belongs to a Linear layer (per-example norms are
 * exact then); otherwise *why names a layer with parameters of another kind. */
int noise_per_example_ok(const Net *n, const char **why);
/* Sum over the `rows` examples of the last backward pass of the squared norm of each one's
 * own loss gradient (the network's gradients are loss_scale times the per-example ones). */
double noise_example_sq_sum(const Net *n, int rows);

#endif
