/* loss.c: softmax cross-entropy and MSE, see loss.h for the formulas. */
#include "nn/loss.h"

#include <math.h>

static int argmax(const float *z, int classes) {
    int best = 0;
    for (int c = 1; c < classes; c++) if (z[c] > z[best]) best = c;
    return best;
}

/* Stable: exponents are taken of z - max(z), so the largest term is exp(0) = 1. */
static double cross_entropy_row(const float *z, int y, int classes, float smoothing, float scale,
                                float *dz) {
    float zmax = z[0];
    for (int c = 1; c < classes; c++) if (z[c] > zmax) zmax = z[c];
    double sum = 0.0;
    for (int c = 0; c < classes; c++) sum += exp((double)z[c] - zmax);
    double logsumexp = zmax + log(sum);
    double off = smoothing / classes, on = 1.0 - smoothing + off, target_dot_z = 0.0;
    for (int c = 0; c < classes; c++) target_dot_z += (c == y ? on : off) * z[c];
    if (dz)
        for (int c = 0; c < classes; c++) {
            double p = exp((double)z[c] - logsumexp);
            dz[c] = (float)(scale * (p - (c == y ? on : off)));
        }
    return logsumexp - target_dot_z;
}

static double mse_row(const float *z, int y, int classes, float scale, float *dz) {
    double sum = 0.0;
    for (int c = 0; c < classes; c++) {
        double d = (double)z[c] - (c == y ? 1.0 : 0.0);
        sum += d * d;
        if (dz) dz[c] = (float)(scale * 2.0 * d / classes);
    }
    return sum / classes;
}

LossResult loss_compute(int kind, const float *logits, const int *labels, int rows, int classes,
                        float smoothing, float scale, float *dlogits) {
    LossResult r = {0.0, 0};
    for (int i = 0; i < rows; i++) {
        const float *z = logits + (long)i * classes;
        float *dz = dlogits ? dlogits + (long)i * classes : 0;
        r.loss_sum += kind == LOSS_MSE ? mse_row(z, labels[i], classes, scale, dz)
                                       : cross_entropy_row(z, labels[i], classes, smoothing, scale, dz);
        r.correct += argmax(z, classes) == labels[i];
    }
    return r;
}
