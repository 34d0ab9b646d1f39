// Training utilities over a parameter buffer: Adam, gradient norm and clipping, NaN/Inf checks,
// learning-rate schedules. Reductions use a fixed chunking, so results do not depend on threads.
#ifndef PWM_NN_OPTIM_H
#define PWM_NN_OPTIM_H

#include "params.h"

typedef struct {
    float beta1, beta2, eps, weight_decay;
    long step;  // updates done so far (bias correction uses step + 1)
} nn_adam;

// PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, no weight decay.
nn_adam nn_adam_default(void);
// One Adam update of every parameter with learning rate lr (PyTorch's Adam, L2 weight decay).
void nn_adam_step(nn_adam *opt, nn_params *p, float lr);
// nn_clip_grad_norm then nn_adam_step in one pass over the buffer: the clip factor multiplies each
// gradient inside Adam, so the parameters end bitwise as with the two calls, but the stored
// gradients are left unscaled. Returns the norm before clipping.
double nn_clip_adam_step(nn_adam *opt, nn_params *p, float lr, double max_norm);
// Global L2 norm of the gradients.
double nn_grad_norm(const nn_params *p);
// Scale gradients so their global norm is at most max_norm (as torch's clip_grad_norm_, with
// 1e-6 in the denominator). Returns the norm before clipping.
double nn_clip_grad_norm(nn_params *p, double max_norm);
// Name of the first tensor whose gradient holds a NaN or Inf, or NULL if all are finite.
const char *nn_grad_nonfinite(const nn_params *p);
// As torch.nan_to_num_: NaN gradients become 0 and ±Inf become ±FLT_MAX. Returns how many changed.
size_t nn_grad_nan_to_num(nn_params *p);
// Linear decay from lr0 at step 0 to lr_end at step total (held there afterwards).
float nn_lr_linear(float lr0, float lr_end, long step, long total);

#endif
