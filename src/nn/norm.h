/* norm.h: the arithmetic LayerNorm and BatchNorm share. Both standardise vectors, LayerNorm
 * each row over its features, BatchNorm each feature over the rows of the batch, then scale
 * by a gain g and shift by a bias b. For one vector x of m elements (`stride` floats apart):
 *
 *   mu = mean x,  var = mean (x - mu)^2 (biased),  r = 1 / sqrt(var + eps),  xh = (x - mu) r
 *   y = g xh + b
 *
 * and, writing P(u) = u - mean(u) - xh mean(xh u) (the projection the standardisation's
 * Jacobian is made of, r P):
 *
 *   backward     dx = r P(dy g)
 *   r_forward    R{xh} = r P(R{x}),  R{y} = g R{xh} + R{g} xh + R{b}
 *   r_backward   u = dy g, R{u} = R{dy} g + dy R{g}, R{r} = -r^2 mean(xh R{x}):
 *                R{dx} = R{r} P(u) + r (P(R{u}) - R{xh} mean(xh u) - xh mean(R{xh} u))
 *
 * Statistics are accumulated in double, in element order, so results do not depend on the
 * thread count. The gain is per element for LayerNorm (gain_stride 1) and one value per
 * vector for BatchNorm (gain_stride 0). */
#ifndef NN_NORM_H
#define NN_NORM_H

typedef struct {
    int m;              /* elements in the vector */
    long stride;        /* floats between consecutive elements (of x, xh, dy, ... alike) */
    long gain_stride;   /* 1: a gain per element; 0: one gain for the vector */
} NormVec;

/* xh = (x - mu) r; returns r, and mu and the biased var through the pointers. */
float norm_standardise(const NormVec *v, const float *x, double eps, float *xh, double *mu,
                       double *var);
/* The same for columns [j0, j0 + w) of a rows x d matrix at once (w <= NORM_BLOCK; one gain
 * per column, g[j], scale[j]): BatchNorm's vectors. Results are bit for bit those of the
 * one-vector functions on each column (stride d), but the matrix is read row by row: a walk
 * down one column at a time would touch a new cache line at every element. r, mu and var
 * get w values each. */
#define NORM_BLOCK 16
void norm_standardise_cols(int rows, int d, int j0, int w, const float *x, double eps,
                           float *xh, float *r, double *mu, double *var);
void norm_project_cols(int rows, int d, int j0, int w, const float *a, const float *g,
                       const float *xh, const float *scale, float *out);
/* out = scale * P(u), u = a * ga (ga NULL: u = a). */
void norm_project(const NormVec *v, const float *a, const float *ga, const float *xh,
                  float scale, float *out);
/* R{dx} as above; dy, rdy, xh, rxh, rx are the vector's, g and rg its gain and R{gain}. */
void norm_r_backward(const NormVec *v, const float *dy, const float *rdy, const float *g,
                     const float *rg, const float *xh, const float *rxh, const float *rx,
                     float r, float *rdx);

/* The gain and bias gradients of both layers, per feature of a rows x d batch:
 * dg (+)= sum over rows of dy xh, db (+)= sum over rows of dy (written when overwrite). */
void norm_param_grads(int rows, int d, const float *dy, const float *xh, float *dg, float *db,
                      int overwrite);
/* Their R-ops, added: R{dg} += sum (R{dy} xh + dy R{xh}), R{db} += sum R{dy}. */
void norm_param_r_grads(int rows, int d, const float *dy, const float *rdy, const float *xh,
                        const float *rxh, float *rdg, float *rdb);

#endif
