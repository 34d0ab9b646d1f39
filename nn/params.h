// A model's parameters: named tensors laid out in one buffer.
//
// A model first declares its tensors (nn_params_add), then nn_params_alloc makes one allocation
// holding four arrays of the same layout: values, gradients, and Adam's first and second moments.
// Zeroing the gradients is one memset, the optimizer one flat loop and a checkpoint one write.
#ifndef PWM_NN_PARAMS_H
#define PWM_NN_PARAMS_H

#include <stddef.h>

#include "graph.h"
#include "rng.h"

#define NN_PARAM_NAME 96

typedef struct {
    char name[NN_PARAM_NAME];  // e.g. "encoder.0.weight"
    nn_tensor t;               // t.x points into values, t.g into grads
    size_t offset;             // index of the first value in the buffer
    int ndim;                  // 2, or 1 for vectors (biases, LayerNorm affine), as PyTorch shapes them
} nn_param;

typedef struct {
    nn_param *list;
    int n, cap;
    size_t count;             // floats per array (with padding to 64-byte boundaries)
    float *mem;               // the one allocation: values | grads | m | v
    float *values, *grads, *m, *v;
    int frozen;               // when set, backward computes no parameter gradients
} nn_params;

// Start an empty set with room for cap tensors (0: 512).
void nn_params_init(nn_params *p, int cap);
// Declare a tensor of n×d before nn_params_alloc. The returned pointer stays valid; its x and g
// are set by nn_params_alloc. Names must be unique.
nn_tensor *nn_params_add(nn_params *p, const char *name, int n, int d);
// Declare a vector of d values (a 1×d tensor, saved with the 1-D shape [d]).
nn_tensor *nn_params_add_vec(nn_params *p, const char *name, int d);
// Allocate the buffer (zeroed, on the current device: nn/device.h) and point every tensor into it. No nn_params_add after this.
void nn_params_alloc(nn_params *p);
void nn_params_free(nn_params *p);
// The tensor called name, or NULL.
nn_param *nn_params_find(const nn_params *p, const char *name);
// Number of parameters (without padding).
size_t nn_params_numel(const nn_params *p);
void nn_params_zero_grad(nn_params *p);
// Freeze (no parameter gradients; inputs still get theirs) or unfreeze every tensor.
void nn_params_set_frozen(nn_params *p, int frozen);
// Copy values from src into dst (same layout), e.g. a target network; dst = tau·dst + (1−tau)·src
// for tau > 0 (Polyak averaging).
void nn_params_copy(nn_params *dst, const nn_params *src, float tau);

// ---- initialisers (serial, so they depend on the seed only) ----
void nn_init_zeros(float *w, size_t n);
void nn_init_const(float *w, size_t n, float value);
// Normal(0, std) truncated to [a, b] (absolute bounds, as PyTorch's trunc_normal_).
void nn_init_trunc_normal(float *w, size_t n, float std, float a, float b, nn_rng *r);
// Orthogonal rows (or columns) scaled by gain, for W of rows×cols (as PyTorch's orthogonal_).
void nn_init_orthogonal(float *W, int rows, int cols, float gain, nn_rng *r);
// PyTorch's default for nn.Linear: W, b ~ U(−1/√fan_in, 1/√fan_in). b may be NULL.
void nn_init_torch_linear(float *W, float *b, int out, int in, nn_rng *r);

#endif
