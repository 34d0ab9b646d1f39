// Statistics of gradient samples: the variance and the ESNR over samples (as the PWM paper's
// gradient study, pwm-paper-and-code.md §4(d)), and the cosine of two vectors. Samples are
// row-major: samples × params.
#ifndef PWM_NN_STATS_H
#define PWM_NN_STATS_H

#include <stddef.h>

// Var = the mean over parameters of the unbiased sample variance over the samples (as torch.var);
// ESNR = the mean over parameters of E[g]²/(Var[g] + 1e-9). Needs samples >= 2.
void nn_esnr(const double *g, int samples, size_t params, double *var, double *esnr);

// a·b / (|a|·|b|); NaN when either is exactly zero
double nn_cosine(const double *a, const double *b, size_t n);

#endif
