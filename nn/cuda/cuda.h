// The CUDA backend's C interface: every op of nn/ops.h under the same name with a cuda_ prefix and
// the same arguments (shapes, accumulation, NULL outputs), plus Adam and the gradient norm of
// nn/optim.h, one device arena, and cuBLAS for the matrix products.
//
// Memory: the arena is CUDA managed memory, so a pointer into it is valid on the host and on the
// GPU. While the CUDA device is selected (nn/device.h), parameters and graph arenas come from it,
// the ops in nn/ops.h run these kernels, and the graph's own small loops (concat, split, broadcast
// arithmetic, means) still run on the host over the same memory. Every cuda_ op waits for its
// kernels before it returns, so host code may read its results at once.
//
// Determinism: no atomics. Row kernels give one row to one thread, which runs the row functions of
// nn/kernels.h with its sums in index order; column reductions give one column to one thread, rows
// in order; the gradient norm sums fixed chunks in a fixed tree and then the chunks in order. cuBLAS
// runs in its default (non-atomic, no TF32) mode on one stream. So reruns on the same GPU are
// bitwise equal; against the CPU the results agree within float rounding, not bitwise.
//
// Built only when nvcc is found (Makefile: CUDA=1, defines PWM_CUDA). NOT YET RUN ON A GPU: these
// kernels compile in CI and their arithmetic is tested on the CPU, but `make test-cuda` has not run.
#ifndef PWM_NN_CUDA_CUDA_H
#define PWM_NN_CUDA_CUDA_H

#include <stddef.h>

#include "../ops.h"

#ifdef __cplusplus
extern "C" {
#endif

// Find a GPU and start cuBLAS; 0, or -1 with the reason in err (no driver, no device, ...).
int cuda_init(char *err, size_t errlen);
// The GPU's name and memory, for messages.
const char *cuda_device_name(void);
// Zeroed memory from the device arena (managed; 256-byte aligned); exits with a message when the
// arena is full. cuda_free returns a block, which later requests reuse (the lowest gap that fits:
// nn/arena.h); cuda_owns says whether p came from the arena.
void *cuda_alloc(size_t bytes);
void cuda_free(void *p);
int cuda_owns(const void *p);
// memset(p, 0, bytes) on the GPU (the pages stay on the device), finished when it returns.
void cuda_zero(void *p, size_t bytes);
// Bytes of the arena handed out now, the largest end offset any block has had, and its size.
size_t cuda_arena_used(void);
size_t cuda_arena_high_water(void);
size_t cuda_arena_size(void);

void cuda_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                int ldb, float beta, float *C, int ldc);
void cuda_linear_forward(float *out, const float *inp, const float *W, const float *b, int N, int C, int OC);
void cuda_linear_backward(float *dinp, float *dW, float *db, const float *dout, const float *inp, const float *W, int N,
                          int C, int OC);
void cuda_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                            int N, int C);
void cuda_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                             const float *mean, const float *rstd, int N, int C);
void cuda_layernorm_act_forward(float *out, float *ln, float *mean, float *rstd, const float *inp, const float *w,
                                const float *b, int N, int C, nn_act act, int group);
void cuda_layernorm_act_backward(float *dinp, float *dw, float *db, float *dbias, float *gln, const float *dout,
                                 const float *inp, const float *ln, const float *out, const float *w,
                                 const float *mean, const float *rstd, int N, int C, nn_act act, int group);
void cuda_act_forward(float *out, const float *inp, size_t n, nn_act act);
void cuda_act_backward(float *dinp, const float *dout, const float *inp, const float *out, size_t n, nn_act act);
void cuda_softmax_forward(float *out, const float *inp, int N, int C);
void cuda_softmax_backward(float *dinp, const float *dout, const float *out, int N, int C);
void cuda_log_softmax_forward(float *out, const float *inp, int N, int C);
void cuda_log_softmax_backward(float *dinp, const float *dout, const float *out, int N, int C);
void cuda_simnorm_forward(float *out, const float *inp, int N, int C, int V);
void cuda_simnorm_backward(float *dinp, const float *dout, const float *out, int N, int C, int V);
void cuda_symlog_forward(float *out, const float *inp, size_t n);
void cuda_symlog_backward(float *dinp, const float *dout, const float *inp, size_t n);
void cuda_symexp_forward(float *out, const float *inp, size_t n);
void cuda_symexp_backward(float *dinp, const float *dout, const float *inp, size_t n);
void cuda_two_hot_forward(float *out, const float *x, int N, nn_bins bins);
void cuda_two_hot_backward(float *dx, const float *dout, const float *x, int N, nn_bins bins);
void cuda_two_hot_expect_forward(float *out, float *prob, const float *logits, int N, nn_bins bins);
void cuda_two_hot_expect_backward(float *dlogits, const float *dout, const float *prob, const float *out, int N,
                                  nn_bins bins);
void cuda_soft_ce_forward(float *loss, float *logp, const float *logits, const float *target, int N, int C);
void cuda_soft_ce_backward(float *dlogits, float *dtarget, const float *dloss, const float *logp, const float *target,
                           int N, int C);
void cuda_mse_forward(float *loss, const float *a, const float *b, int N, int C);
void cuda_mse_backward(float *da, float *db, const float *dloss, const float *a, const float *b, int N, int C);

// Adam over one buffer of n parameters (nn/kernels.h: nn_k_adam_update).
void cuda_adam(const void *adam_consts, float *x, float *m, float *v, const float *g, size_t n);
// Σ g² in double: fixed chunks of `chunk` values, each summed by one block in a fixed tree, then
// the chunks in order.
double cuda_sum_squares(const float *g, size_t n, size_t chunk);

#ifdef __cplusplus
}
#endif

#endif
