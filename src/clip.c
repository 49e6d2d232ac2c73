/* clip.c: gradient norm and clipping, see clip.h. */
#include "clip.h"

#include <math.h>

double grad_global_norm(const float *grads, long n) {
    double sum = 0.0;
    for (long i = 0; i < n; i++) sum += (double)grads[i] * grads[i];
    return sqrt(sum);
}

/* coef = max_norm / (norm + 1e-6), applied only when it shrinks the gradient. */
void clip_grad_norm(float *grads, long n, double norm, double max_norm) {
    double coef = max_norm / (norm + 1e-6);
    if (coef >= 1.0) return;
    float f = (float)coef;
    for (long i = 0; i < n; i++) grads[i] *= f;
}

void clip_grad_value(float *grads, long n, double value) {
    float hi = (float)value, lo = -hi;
    for (long i = 0; i < n; i++) grads[i] = grads[i] > hi ? hi : grads[i] < lo ? lo : grads[i];
}
