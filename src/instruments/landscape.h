/* landscape.h: the geometry of loss-landscape pictures of a network, on its flat parameter
 * vector:
 *   - a random direction, filter-normalised (Li et al. 2018, "Visualizing the Loss
 *     Landscape of Neural Nets"): Gaussian entries, then every row of a weight matrix (the
 *     weights into one output neuron, Linear's "filter") rescaled to the norm of the same
 *     row of the weights, d_row <- d_row ||w_row|| / (||d_row|| + 1e-10); the entries of
 *     one-dimensional tensors (biases, norm gains and shifts) are set to 0, as their code's
 *     default ("biasbn") does. Directions then have the scale of the weights themselves,
 *     and pictures of networks of different scale can be compared.
 *   - the first two principal components of a run's saved checkpoints around its final
 *     weights (their PCA of w_i - w_final, centred by the mean as scikit-learn's PCA does),
 *     with the share of the variance each explains; orthonormal.
 *   - points of the plane c + a d1 + b d2, and the coordinates of a vector in it;
 *   - the straight line (1 - alpha) A + alpha B between two weight vectors (Goodfellow et
 *     al. 2015), exact at alpha = 0 and 1. */
#ifndef INSTRUMENTS_LANDSCAPE_H
#define INSTRUMENTS_LANDSCAPE_H

#include "nn/net.h"
#include "util/rng.h"

/* d: n->n_params floats, a filter-normalised random direction at the weights theta. */
void landscape_random_direction(const Net *n, const float *theta, float *d, Rng *rng);

/* The first two principal components of the k vectors points[i] (n floats each) around
 * their mean, into d1 and d2 (unit, orthogonal); explained[j] is component j's share of the
 * variance. (The PCA of points[i] - w_final is the same: centring removes w_final.) Needs
 * k >= 3 points; returns -1 (nothing written) when they span fewer than two dimensions. */
int landscape_pca(const float *const *points, int k, long n, float *d1, float *d2,
                  double explained[2]);

/* out = c + a d1 + b d2 */
void landscape_plane_point(const float *c, const float *d1, const float *d2, double a, double b,
                           float *out, long n);
/* The coordinates (a, b) of the point of the plane c + a d1 + b d2 nearest to x (least
 * squares; the projection itself when d1, d2 are orthonormal). */
void landscape_plane_coords(const float *x, const float *c, const float *d1, const float *d2,
                            long n, double *a, double *b);

/* out = (1 - alpha) A + alpha B, rounded once to float: A itself at 0 and B itself at 1. */
void landscape_lerp(const float *A, const float *B, double alpha, float *out, long n);

#endif
