// The numeric kernels: forward and backward of every op, float32, CPU.
//
// Layout: every tensor is row-major (N, C): N rows (the batch), C columns (features).
// Backward functions ACCUMULATE into their gradient outputs (+=), so one tensor feeding several
// ops collects the sum of its gradients. Any gradient output may be NULL to skip it.
// Loops over rows run on OpenMP threads; reductions over rows (bias, LayerNorm affine grads) are
// split by column, so every result is independent of the thread count.
// The CUDA backend mirrors these names one to one.
#ifndef PWM_NN_OPS_H
#define PWM_NN_OPS_H

#include <stddef.h>

typedef enum { NN_ACT_NONE, NN_ACT_RELU, NN_ACT_ELU, NN_ACT_TANH, NN_ACT_MISH } nn_act;

// Name of an activation ("none", "relu", "elu", "tanh", "mish"); nn_act_parse returns -1 if unknown.
const char *nn_act_name(nn_act a);
int nn_act_parse(const char *s);

#define NN_LAYERNORM_EPS 1e-5f

// Linear: out(N,OC) = inp(N,C) · W(OC,C)^T + b(OC). b may be NULL.
void linear_forward(float *out, const float *inp, const float *W, const float *b, int N, int C, int OC);
// dinp(N,C) += dout·W; dW(OC,C) += dout^T·inp; db(OC) += Σ_rows dout.
void linear_backward(float *dinp, float *dW, float *db, const float *dout, const float *inp,
                     const float *W, int N, int C, int OC);

// LayerNorm over each row (eps 1e-5), affine w(C), b(C). Saves mean(N) and rstd(N) for backward.
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                       const float *b, int N, int C);
void layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, const float *mean, const float *rstd, int N, int C);

// Fused LayerNorm → post-op, the row-wise tail of a Linear → LayerNorm → act block in one pass:
// out(N,C) = post(LayerNorm(inp)), post = act elementwise, or SimNorm over groups of `group` values
// when group > 0 (act is then unused). ln(N,C) receives the LayerNorm output, mean(N) and rstd(N)
// as layernorm_forward. Bitwise the same as layernorm_forward then act_forward (or simnorm_forward).
void layernorm_act_forward(float *out, float *ln, float *mean, float *rstd, const float *inp, const float *w,
                           const float *b, int N, int C, nn_act act, int group);
// Its backward. dinp(N,C) and gln(N,C) (the gradient at the LayerNorm output) are WRITTEN, not
// accumulated: they are the fused op's own buffers. dw, db (LayerNorm affine) and dbias (the bias of
// the Linear in front: Σ_rows dinp) accumulate; any of the three may be NULL. Bitwise the same as the
// unfused backward passes into zeroed buffers, linear_backward's bias sum included.
void layernorm_act_backward(float *dinp, float *dw, float *db, float *dbias, float *gln, const float *dout,
                            const float *inp, const float *ln, const float *out, const float *w, const float *mean,
                            const float *rstd, int N, int C, nn_act act, int group);

// Elementwise activation over n values. Backward uses the saved input and output.
void act_forward(float *out, const float *inp, size_t n, nn_act act);
void act_backward(float *dinp, const float *dout, const float *inp, const float *out, size_t n, nn_act act);

// Softmax over each row of C values.
void softmax_forward(float *out, const float *inp, int N, int C);
void softmax_backward(float *dinp, const float *dout, const float *out, int N, int C);
// Log-softmax over each row of C values.
void log_softmax_forward(float *out, const float *inp, int N, int C);
void log_softmax_backward(float *dinp, const float *dout, const float *out, int N, int C);
// SimNorm: each row of C values seen as C/V groups of V, softmax within each group.
void simnorm_forward(float *out, const float *inp, int N, int C, int V);
void simnorm_backward(float *dinp, const float *dout, const float *out, int N, int C, int V);

// symlog(x) = sign(x)·log(1+|x|) and its inverse symexp(x) = sign(x)·(exp|x|−1), elementwise.
void symlog_forward(float *out, const float *inp, size_t n);
void symlog_backward(float *dinp, const float *dout, const float *inp, size_t n);
void symexp_forward(float *out, const float *inp, size_t n);
void symexp_backward(float *dinp, const float *dout, const float *inp, size_t n);

// Two-hot bins: NB bins evenly spaced over [vmin, vmax] in symlog space (TD-MPC2: 101 over ±10).
typedef struct { int nb; float vmin, vmax; } nn_bins;
#define NN_BINS_DEFAULT ((nn_bins){101, -10.0f, 10.0f})

// Two-hot encoding of x(N) (raw values; symlog is applied inside): out(N,NB).
// s = clamp(symlog x, vmin, vmax) is split between its two neighbouring bins.
void two_hot_forward(float *out, const float *x, int N, nn_bins bins);
// dx(N) += Σ_k dout(n,k)·∂out(n,k)/∂x(n) (zero where the clamp is active).
void two_hot_backward(float *dx, const float *dout, const float *x, int N, nn_bins bins);
// Softmax expectation over the bins: out(N) = Σ_k softmax(logits)(n,k)·bin_k (in symlog space;
// compose with symexp for the decoded value). prob(N,NB) is saved for backward.
void two_hot_expect_forward(float *out, float *prob, const float *logits, int N, nn_bins bins);
void two_hot_expect_backward(float *dlogits, const float *dout, const float *prob, const float *out,
                             int N, nn_bins bins);

// Soft cross-entropy per row: loss(N) = −Σ_c target(n,c)·log_softmax(logits)(n,c).
// logp(N,C) is saved for backward. dtarget may be NULL (targets are usually constants).
void soft_ce_forward(float *loss, float *logp, const float *logits, const float *target, int N, int C);
void soft_ce_backward(float *dlogits, float *dtarget, const float *dloss, const float *logp,
                      const float *target, int N, int C);

// Mean squared error per row: loss(N) = (1/C)·Σ_c (a−b)².
void mse_forward(float *loss, const float *a, const float *b, int N, int C);
void mse_backward(float *da, float *db, const float *dloss, const float *a, const float *b, int N, int C);

// Profiling of matrix products: when enabled, every sgemm call adds its time and flops here, and
// its shape to log (when log_cap > 0, up to log_cap calls).
typedef struct {
    int m, n, k, trans_a, trans_b;
} nn_gemm_shape;

typedef struct {
    int enabled;
    long calls;
    double seconds, flops;
    nn_gemm_shape *log;
    int log_n, log_cap;
} nn_gemm_prof;
extern nn_gemm_prof nn_gemm_stats;

// Row-major sgemm wrapper used by every op: C(M,N) = alpha·op(A)·op(B) + beta·C.
// The rows of C are split into at most NN_GEMM_MAX_BLOCKS blocks of at least NN_GEMM_BLOCK_ROWS
// (by shape alone), each a single-threaded OpenBLAS call on its own OpenMP thread, so the result
// is bitwise the same for any thread count.
#define NN_GEMM_BLOCK_ROWS 128
#define NN_GEMM_MAX_BLOCKS 32
void nn_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);

#endif
