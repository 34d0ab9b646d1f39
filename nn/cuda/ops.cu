// The CUDA backend (nn/cuda/cuda.h): the device arena, cuBLAS, and one kernel family per op of
// nn/ops.h. The arithmetic is nn/kernels.h's, shared with the CPU. First version of each kernel:
// one thread per element, per row or per column, chosen for being plainly correct and
// deterministic; faster versions (a warp per row, fused GEMM epilogues) come after a GPU has run
// `make test-cuda`.
//
// NOT YET RUN ON A GPU.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels.h"
#include "cuda.h"
extern "C" {
#include "../arena.h"
}

// ---------------------------------------------------------------------------------------------
// checked calls: file:line, the CUDA message and what to do

static void cuda_fail(const char *what, const char *msg, const char *file, int line) {
    fprintf(stderr, "pwm: error: CUDA: %s: %s (%s:%d)\n  run with --device cpu, or check the GPU with nvidia-smi\n",
            what, msg, file, line);
    exit(1);
}
#define CUDA_CHECK(call)                                                                    \
    do {                                                                                    \
        cudaError_t e_ = (call);                                                            \
        if (e_ != cudaSuccess) cuda_fail(#call, cudaGetErrorString(e_), __FILE__, __LINE__); \
    } while (0)
#define CUBLAS_CHECK(call)                                                              \
    do {                                                                                \
        cublasStatus_t s_ = (call);                                                     \
        if (s_ != CUBLAS_STATUS_SUCCESS) cuda_fail(#call, "cuBLAS status", __FILE__, __LINE__); \
    } while (0)
// after every op: launch errors, then wait, so the host may read the results
#define CUDA_DONE() \
    do { CUDA_CHECK(cudaGetLastError()); CUDA_CHECK(cudaDeviceSynchronize()); } while (0)

#define TPB 256
static unsigned grid(size_t n) { return (unsigned)((n + TPB - 1) / TPB); }

// ---------------------------------------------------------------------------------------------
// device, cuBLAS, arena

static cublasHandle_t blas;
static char dev_name[320];
static unsigned char *arena;
static size_t arena_size;
static nn_arena book;  // which pieces of the arena are handed out (nn/arena.h: freed pieces are reused)

extern "C" int cuda_init(char *err, size_t errlen) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        snprintf(err, errlen, "no CUDA GPU found (%s)", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
        return -1;
    }
    cudaDeviceProp p;
    if ((e = cudaGetDeviceProperties(&p, 0)) != cudaSuccess || (e = cudaSetDevice(0)) != cudaSuccess) {
        snprintf(err, errlen, "CUDA device 0: %s", cudaGetErrorString(e));
        return -1;
    }
    snprintf(dev_name, sizeof dev_name, "%s, %.0f GiB, sm_%d%d", p.name, (double)p.totalGlobalMem / (1 << 30), p.major,
             p.minor);
    if (cublasCreate(&blas) != CUBLAS_STATUS_SUCCESS) {
        snprintf(err, errlen, "cuBLAS could not start on %s", dev_name);
        return -1;
    }
    // plain fp32 products (no TF32), no atomics: reruns are bitwise equal
    CUBLAS_CHECK(cublasSetMathMode(blas, CUBLAS_DEFAULT_MATH));
    CUBLAS_CHECK(cublasSetAtomicsMode(blas, CUBLAS_ATOMICS_NOT_ALLOWED));
    // the arena: one managed allocation of PWM_CUDA_ARENA_MB (default 16384), never more than half
    // the GPU's free memory (asking for more managed memory than is free can hang a GPU)
    const char *mb = getenv("PWM_CUDA_ARENA_MB");
    arena_size = (size_t)(mb && atol(mb) > 0 ? atol(mb) : 16384) << 20;
    size_t free_b = 0, total_b = 0;
    if ((e = cudaMemGetInfo(&free_b, &total_b)) != cudaSuccess) {
        snprintf(err, errlen, "cudaMemGetInfo: %s", cudaGetErrorString(e));
        return -1;
    }
    if (arena_size > free_b / 2) arena_size = free_b / 2 & ~(size_t)((1 << 20) - 1);
    if ((e = cudaMallocManaged(&arena, arena_size, cudaMemAttachGlobal)) != cudaSuccess) {
        snprintf(err, errlen, "could not reserve the %zu MiB device arena (%s); set PWM_CUDA_ARENA_MB lower",
                 arena_size >> 20, cudaGetErrorString(e));
        return -1;
    }
    nn_arena_init(&book, arena_size, 256);
    return 0;
}

extern "C" const char *cuda_device_name(void) { return dev_name; }

extern "C" void *cuda_alloc(size_t bytes) {
    size_t off = nn_arena_take(&book, bytes);
    if (off == NN_ARENA_NONE) {
        fprintf(stderr, "pwm: error: the CUDA arena (%zu MiB, %zu MiB in use) has no room for %zu MiB more; set "
                        "PWM_CUDA_ARENA_MB higher\n", arena_size >> 20, book.live >> 20, (bytes >> 20) + 1);
        exit(1);
    }
    void *p = arena + off;
    cuda_zero(p, bytes);
    return p;
}

extern "C" void cuda_free(void *p) {
    if (!p) return;
    if (!cuda_owns(p) || nn_arena_give(&book, (size_t)((unsigned char *)p - arena))) {
        fprintf(stderr, "pwm: error: cuda_free of %p, which is not a live piece of the CUDA arena\n", p);
        exit(1);
    }
}

extern "C" int cuda_owns(const void *p) {
    return arena && (const unsigned char *)p >= arena && (const unsigned char *)p < arena + arena_size;
}

extern "C" void cuda_zero(void *p, size_t bytes) {
    CUDA_CHECK(cudaMemset(p, 0, bytes));
    CUDA_CHECK(cudaDeviceSynchronize());
}

extern "C" size_t cuda_arena_used(void) { return book.live; }
extern "C" size_t cuda_arena_high_water(void) { return book.high; }
extern "C" size_t cuda_arena_size(void) { return arena_size; }

// ---------------------------------------------------------------------------------------------
// matrix products: row-major calls mapped onto column-major cuBLAS (nn_k_gemm_to_colmajor)

extern "C" void cuda_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                           const float *B, int ldb, float beta, float *C, int ldc) {
    nn_k_colmajor_gemm g = nn_k_gemm_to_colmajor(trans_a, trans_b, M, N, K, A, lda, B, ldb);
    CUBLAS_CHECK(cublasSgemm(blas, g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, g.m,
                             g.n, g.k, &alpha, g.A, g.lda, g.B, g.ldb, &beta, C, ldc));
    CUDA_DONE();
}

// ---------------------------------------------------------------------------------------------
// column reductions, one thread per column, rows in order

// out(C) += Σ_n x(n, c)
__global__ static void sum_rows_k(float *out, const float *x, int N, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float acc = 0.0f;
    for (int n = 0; n < N; n++) acc += x[(size_t)n * C + c];
    out[c] += acc;
}

// LayerNorm's affine gradients and (fused) the Linear's bias gradient: ops.c's ln_affine_grads
__global__ static void affine_grads_k(float *dw, float *db, float *dbias, const float *dy, const float *dh,
                                      const float *inp, const float *mean, const float *rstd, int N, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float aw = 0.0f, ab = 0.0f, ah = 0.0f;
    for (int n = 0; n < N; n++) {
        size_t i = (size_t)n * C + c;
        aw += dy[i] * (inp[i] - mean[n]) * rstd[n];
        ab += dy[i];
        if (dbias) ah += dh[i];
    }
    if (dw) dw[c] += aw;
    if (db) db[c] += ab;
    if (dbias) dbias[c] += ah;
}

// ---------------------------------------------------------------------------------------------
// linear

__global__ static void broadcast_rows_k(float *out, const float *b, int N, int C) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (size_t)N * C) out[i] = b[i % C];
}

extern "C" void cuda_linear_forward(float *out, const float *inp, const float *W, const float *b, int N, int C,
                                    int OC) {
    if (b) broadcast_rows_k<<<grid((size_t)N * OC), TPB>>>(out, b, N, OC);
    cuda_sgemm(0, 1, N, OC, C, 1.0f, inp, C, W, C, b ? 1.0f : 0.0f, out, OC);
}

extern "C" void cuda_linear_backward(float *dinp, float *dW, float *db, const float *dout, const float *inp,
                                     const float *W, int N, int C, int OC) {
    if (dinp) cuda_sgemm(0, 0, N, C, OC, 1.0f, dout, OC, W, C, 1.0f, dinp, C);
    if (dW) cuda_sgemm(1, 0, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dW, C);
    if (db) sum_rows_k<<<grid(OC), TPB>>>(db, dout, N, OC);
    CUDA_DONE();
}

// ---------------------------------------------------------------------------------------------
// LayerNorm, alone and fused with the activation or SimNorm after it

__global__ static void layernorm_k(float *out, float *mean, float *rstd, const float *inp, const float *w,
                                   const float *b, int N, int C) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n < N) nn_k_ln_row_forward(out + (size_t)n * C, mean + n, rstd + n, inp + (size_t)n * C, w, b, C);
}

__global__ static void layernorm_dx_k(float *dinp, const float *dout, const float *inp, const float *w,
                                      const float *mean, const float *rstd, int N, int C) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n < N)
        nn_k_ln_row_backward(dinp + (size_t)n * C, dout + (size_t)n * C, inp + (size_t)n * C, w, mean[n], rstd[n], C, 1);
}

extern "C" void cuda_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                                       const float *b, int N, int C) {
    layernorm_k<<<grid(N), TPB>>>(out, mean, rstd, inp, w, b, N, C);
    CUDA_DONE();
}

extern "C" void cuda_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                                        const float *w, const float *mean, const float *rstd, int N, int C) {
    if (dinp) layernorm_dx_k<<<grid(N), TPB>>>(dinp, dout, inp, w, mean, rstd, N, C);
    if (dw || db) affine_grads_k<<<grid(C), TPB>>>(dw, db, NULL, dout, NULL, inp, mean, rstd, N, C);
    CUDA_DONE();
}

__global__ static void layernorm_act_k(float *out, float *ln, float *mean, float *rstd, const float *inp,
                                       const float *w, const float *b, int N, int C, nn_act act, int group) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= N) return;
    float *l = ln + (size_t)n * C, *y = out + (size_t)n * C;
    nn_k_ln_row_forward(l, mean + n, rstd + n, inp + (size_t)n * C, w, b, C);
    if (group)
        for (int c = 0; c < C; c += group) nn_k_softmax_row(y + c, l + c, group);
    else
        nn_k_act_row(y, l, C, act);
}

__global__ static void layernorm_act_dx_k(float *dinp, float *gln, const float *dout, const float *inp, const float *ln,
                                          const float *out, const float *w, const float *mean, const float *rstd,
                                          int N, int C, nn_act act, int group) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= N) return;
    size_t o = (size_t)n * C;
    if (group)
        for (int c = 0; c < C; c += group) nn_k_softmax_row_backward(gln + o + c, dout + o + c, out + o + c, group, 0);
    else
        nn_k_act_row_backward(gln + o, dout + o, ln + o, out + o, C, act);
    nn_k_ln_row_backward(dinp + o, gln + o, inp + o, w, mean[n], rstd[n], C, 0);
}

extern "C" void cuda_layernorm_act_forward(float *out, float *ln, float *mean, float *rstd, const float *inp,
                                           const float *w, const float *b, int N, int C, nn_act act, int group) {
    layernorm_act_k<<<grid(N), TPB>>>(out, ln, mean, rstd, inp, w, b, N, C, act, group);
    CUDA_DONE();
}

extern "C" void cuda_layernorm_act_backward(float *dinp, float *dw, float *db, float *dbias, float *gln,
                                            const float *dout, const float *inp, const float *ln, const float *out,
                                            const float *w, const float *mean, const float *rstd, int N, int C,
                                            nn_act act, int group) {
    layernorm_act_dx_k<<<grid(N), TPB>>>(dinp, gln, dout, inp, ln, out, w, mean, rstd, N, C, act, group);
    affine_grads_k<<<grid(C), TPB>>>(dw, db, dbias, gln, dinp, inp, mean, rstd, N, C);
    CUDA_DONE();
}

// ---------------------------------------------------------------------------------------------
// elementwise maps

__global__ static void act_k(float *out, const float *inp, size_t n, nn_act act) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = nn_k_act(inp[i], act);
}

__global__ static void act_bwd_k(float *dinp, const float *dout, const float *inp, const float *out, size_t n,
                                 nn_act act) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dinp[i] += nn_k_act_bwd(dout[i], inp[i], out[i], act);
}

extern "C" void cuda_act_forward(float *out, const float *inp, size_t n, nn_act act) {
    act_k<<<grid(n), TPB>>>(out, inp, n, act);
    CUDA_DONE();
}

extern "C" void cuda_act_backward(float *dinp, const float *dout, const float *inp, const float *out, size_t n,
                                  nn_act act) {
    act_bwd_k<<<grid(n), TPB>>>(dinp, dout, inp, out, n, act);
    CUDA_DONE();
}

enum { SYMLOG, SYMEXP };

__global__ static void sym_k(float *out, const float *inp, size_t n, int kind) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = kind == SYMLOG ? nn_k_symlog(inp[i]) : nn_k_symexp(inp[i]);
}

__global__ static void sym_bwd_k(float *dinp, const float *dout, const float *inp, size_t n, int kind) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dinp[i] += kind == SYMLOG ? nn_k_symlog_bwd(dout[i], inp[i]) : nn_k_symexp_bwd(dout[i], inp[i]);
}

extern "C" void cuda_symlog_forward(float *out, const float *inp, size_t n) {
    sym_k<<<grid(n), TPB>>>(out, inp, n, SYMLOG);
    CUDA_DONE();
}
extern "C" void cuda_symlog_backward(float *dinp, const float *dout, const float *inp, size_t n) {
    sym_bwd_k<<<grid(n), TPB>>>(dinp, dout, inp, n, SYMLOG);
    CUDA_DONE();
}
extern "C" void cuda_symexp_forward(float *out, const float *inp, size_t n) {
    sym_k<<<grid(n), TPB>>>(out, inp, n, SYMEXP);
    CUDA_DONE();
}
extern "C" void cuda_symexp_backward(float *dinp, const float *dout, const float *inp, size_t n) {
    sym_bwd_k<<<grid(n), TPB>>>(dinp, dout, inp, n, SYMEXP);
    CUDA_DONE();
}

// ---------------------------------------------------------------------------------------------
// softmax family (a row per thread; SimNorm is softmax over rows of V)

__global__ static void softmax_k(float *out, const float *inp, int N, int C) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n < N) nn_k_softmax_row(out + (size_t)n * C, inp + (size_t)n * C, C);
}

__global__ static void softmax_bwd_k(float *dinp, const float *dout, const float *out, int N, int C) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n < N) nn_k_softmax_row_backward(dinp + (size_t)n * C, dout + (size_t)n * C, out + (size_t)n * C, C, 1);
}

extern "C" void cuda_softmax_forward(float *out, const float *inp, int N, int C) {
    softmax_k<<<grid(N), TPB>>>(out, inp, N, C);
    CUDA_DONE();
}
extern "C" void cuda_softmax_backward(float *dinp, const float *dout, const float *out, int N, int C) {
    softmax_bwd_k<<<grid(N), TPB>>>(dinp, dout, out, N, C);
    CUDA_DONE();
}
extern "C" void cuda_simnorm_forward(float *out, const float *inp, int N, int C, int V) {
    cuda_softmax_forward(out, inp, N * (C / V), V);
}
extern "C" void cuda_simnorm_backward(float *dinp, const float *dout, const float *out, int N, int C, int V) {
    cuda_softmax_backward(dinp, dout, out, N * (C / V), V);
}

__global__ static void log_softmax_k(float *out, const float *inp, int N, int C) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n < N) nn_k_log_softmax_row(out + (size_t)n * C, inp + (size_t)n * C, C);
}

__global__ static void log_softmax_bwd_k(float *dinp, const float *dout, const float *out, int N, int C) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n < N) nn_k_log_softmax_row_backward(dinp + (size_t)n * C, dout + (size_t)n * C, out + (size_t)n * C, C);
}

extern "C" void cuda_log_softmax_forward(float *out, const float *inp, int N, int C) {
    log_softmax_k<<<grid(N), TPB>>>(out, inp, N, C);
    CUDA_DONE();
}
extern "C" void cuda_log_softmax_backward(float *dinp, const float *dout, const float *out, int N, int C) {
    log_softmax_bwd_k<<<grid(N), TPB>>>(dinp, dout, out, N, C);
    CUDA_DONE();
}

// ---------------------------------------------------------------------------------------------
// two-hot

__global__ static void two_hot_k(float *out, const float *x, int N, nn_bins bins) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n < N) nn_k_two_hot_row(out + (size_t)n * bins.nb, x[n], bins);
}

__global__ static void two_hot_bwd_k(float *dx, const float *dout, const float *x, int N, nn_bins bins) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n < N) dx[n] += nn_k_two_hot_bwd(dout + (size_t)n * bins.nb, x[n], bins);
}

__global__ static void expect_k(float *out, const float *prob, int N, nn_bins bins) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n < N) out[n] = nn_k_bin_expect(prob + (size_t)n * bins.nb, bins);
}

__global__ static void expect_bwd_k(float *dlogits, const float *dout, const float *prob, const float *out, int N,
                                    nn_bins bins) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)N * bins.nb) return;
    int n = (int)(i / bins.nb), k = (int)(i % bins.nb);
    dlogits[i] += dout[n] * prob[i] * (nn_k_bin_value(bins, k) - out[n]);
}

extern "C" void cuda_two_hot_forward(float *out, const float *x, int N, nn_bins bins) {
    two_hot_k<<<grid(N), TPB>>>(out, x, N, bins);
    CUDA_DONE();
}
extern "C" void cuda_two_hot_backward(float *dx, const float *dout, const float *x, int N, nn_bins bins) {
    two_hot_bwd_k<<<grid(N), TPB>>>(dx, dout, x, N, bins);
    CUDA_DONE();
}
extern "C" void cuda_two_hot_expect_forward(float *out, float *prob, const float *logits, int N, nn_bins bins) {
    softmax_k<<<grid(N), TPB>>>(prob, logits, N, bins.nb);
    expect_k<<<grid(N), TPB>>>(out, prob, N, bins);
    CUDA_DONE();
}
extern "C" void cuda_two_hot_expect_backward(float *dlogits, const float *dout, const float *prob, const float *out,
                                             int N, nn_bins bins) {
    expect_bwd_k<<<grid((size_t)N * bins.nb), TPB>>>(dlogits, dout, prob, out, N, bins);
    CUDA_DONE();
}

// ---------------------------------------------------------------------------------------------
// losses (a row per thread)

__global__ static void soft_ce_k(float *loss, const float *logp, const float *target, int N, int C) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n < N) loss[n] = nn_k_soft_ce_row(logp + (size_t)n * C, target + (size_t)n * C, C);
}

__global__ static void soft_ce_bwd_k(float *dlogits, float *dtarget, const float *dloss, const float *logp,
                                     const float *target, int N, int C) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n < N)
        nn_k_soft_ce_row_backward(dlogits ? dlogits + (size_t)n * C : NULL, dtarget ? dtarget + (size_t)n * C : NULL,
                                  dloss[n], logp + (size_t)n * C, target + (size_t)n * C, C);
}

extern "C" void cuda_soft_ce_forward(float *loss, float *logp, const float *logits, const float *target, int N, int C) {
    log_softmax_k<<<grid(N), TPB>>>(logp, logits, N, C);
    soft_ce_k<<<grid(N), TPB>>>(loss, logp, target, N, C);
    CUDA_DONE();
}
extern "C" void cuda_soft_ce_backward(float *dlogits, float *dtarget, const float *dloss, const float *logp,
                                      const float *target, int N, int C) {
    soft_ce_bwd_k<<<grid(N), TPB>>>(dlogits, dtarget, dloss, logp, target, N, C);
    CUDA_DONE();
}

__global__ static void mse_k(float *loss, const float *a, const float *b, int N, int C) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n < N) loss[n] = nn_k_mse_row(a + (size_t)n * C, b + (size_t)n * C, C);
}

__global__ static void mse_bwd_k(float *da, float *db, const float *dloss, const float *a, const float *b, int N,
                                 int C) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)N * C) return;
    float g = nn_k_mse_bwd(dloss[i / C], a[i], b[i], C);
    if (da) da[i] += g;
    if (db) db[i] -= g;
}

extern "C" void cuda_mse_forward(float *loss, const float *a, const float *b, int N, int C) {
    mse_k<<<grid(N), TPB>>>(loss, a, b, N, C);
    CUDA_DONE();
}
extern "C" void cuda_mse_backward(float *da, float *db, const float *dloss, const float *a, const float *b, int N,
                                  int C) {
    mse_bwd_k<<<grid((size_t)N * C), TPB>>>(da, db, dloss, a, b, N, C);
    CUDA_DONE();
}

// ---------------------------------------------------------------------------------------------
// Adam and the gradient norm

__global__ static void adam_k(nn_k_adam a, float *x, float *m, float *v, const float *g, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) nn_k_adam_update(&a, x + i, m + i, v + i, g[i]);
}

extern "C" void cuda_adam(const void *adam_consts, float *x, float *m, float *v, const float *g, size_t n) {
    adam_k<<<grid(n), TPB>>>(*(const nn_k_adam *)adam_consts, x, m, v, g, n);
    CUDA_DONE();
}

// one block per chunk: thread t sums its strided values in order, then a fixed halving tree
__global__ static void sum_squares_k(double *partial, const float *g, size_t n, size_t chunk) {
    __shared__ double s[TPB];
    size_t lo = (size_t)blockIdx.x * chunk, hi = lo + chunk < n ? lo + chunk : n;
    double acc = 0.0;
    for (size_t i = lo + threadIdx.x; i < hi; i += TPB) acc += (double)g[i] * g[i];
    s[threadIdx.x] = acc;
    __syncthreads();
    for (int w = TPB / 2; w > 0; w /= 2) {
        if ((int)threadIdx.x < w) s[threadIdx.x] += s[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[blockIdx.x] = s[0];
}

extern "C" double cuda_sum_squares(const float *g, size_t n, size_t chunk) {
    static double *partial;  // the chunks' sums, kept between calls (replaced by a larger one when needed)
    static size_t cap;
    size_t nchunks = (n + chunk - 1) / chunk;
    if (!nchunks) return 0.0;
    if (nchunks > cap) {
        cuda_free(partial);
        partial = (double *)cuda_alloc(sizeof(double) * (cap = nchunks));
    }
    sum_squares_k<<<(unsigned)nchunks, TPB>>>(partial, g, n, chunk);
    CUDA_DONE();
    double total = 0.0;
    for (size_t i = 0; i < nchunks; i++) total += partial[i];
    return total;
}
