/* clip.h: the gradient's global norm and the two clipping rules, over the flat gradient. */
#ifndef CLIP_H
#define CLIP_H

/* L2 norm of a flat gradient (double accumulation, fixed order). */
double grad_global_norm(const float *grads, long n);
/* torch.nn.utils.clip_grad_norm_: scales by max_norm / (norm + 1e-6) when that is < 1. */
void clip_grad_norm(float *grads, long n, double norm, double max_norm);
/* torch.nn.utils.clip_grad_value_: clamps every element to [-value, value]. */
void clip_grad_value(float *grads, long n, double value);

#endif
