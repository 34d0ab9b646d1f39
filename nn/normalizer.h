// Running mean and variance of a stream of vectors (observations, rewards, returns), merged
// batch by batch with Chan's parallel formula, as the RunningMeanStd of SHAC and PWM.
#ifndef PWM_NN_NORMALIZER_H
#define PWM_NN_NORMALIZER_H

#include "graph.h"

typedef struct {
    int dim;
    float *mean, *var;  // dim each; start at 0 and 1
    double count;       // starts at a small count (1e-4) so the first batch dominates
    float eps;          // added to var before the square root (1e-5)
    float clip;         // normalised values clamped to ±clip; 0 = no clamp
    int scale_only;     // 1: x / std, the mean is tracked but not subtracted (0 at init: (x − mean) / std)
} nn_rms;

void nn_rms_init(nn_rms *r, int dim, float eps, float clip);
void nn_rms_free(nn_rms *r);
// Merge a batch of n rows (n×dim) into the statistics (population variance of the batch).
void nn_rms_update(nn_rms *r, const float *x, int n);
// out = clamp((x − mean) / sqrt(var + eps)) for n rows (x without the mean when scale_only); out
// may equal x.
void nn_rms_normalize(const nn_rms *r, float *out, const float *x, int n);
// The inverse for one value y of column c (without the clamp): y·sqrt(var + eps) (+ mean).
double nn_rms_unnormalize(const nn_rms *r, double y, int c);
// The same on a graph tensor, differentiable with respect to x (the statistics are constants).
nn_tensor *nn_rms_apply(nn_graph *g, const nn_rms *r, nn_tensor *x);

#endif
