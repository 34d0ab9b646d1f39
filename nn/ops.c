#include "ops.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "common.h"
#include "kernels.h"
#ifdef PWM_CUDA
#include "cuda/cuda.h"
#include "device.h"
// while the CUDA device is selected, an op runs its cuda_ twin (nn/cuda/cuda.h) and returns
#define CUDA_OR_CPU(call)          \
    do {                           \
        if (nn_cuda_active) {      \
            cuda_##call;           \
            return;                \
        }                          \
    } while (0)
#else
#define CUDA_OR_CPU(call) ((void)0)
#endif

nn_gemm_prof nn_gemm_stats;

static const char *act_names[] = {"none", "relu", "elu", "tanh", "mish"};

const char *nn_act_name(nn_act a) { return act_names[a]; }

int nn_act_parse(const char *s) {
    for (int i = 0; i < (int)(sizeof act_names / sizeof act_names[0]); i++)
        if (!strcmp(s, act_names[i])) return i;
    return -1;
}

// C = alpha·op(A)·op(B) + beta·C on the CPU, in row blocks chosen by shape alone
static void sgemm_blocks(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                         const float *B, int ldb, float beta, float *C, int ldc) {
    // OpenBLAS's own threading changes the rounding with the thread count, so OpenBLAS runs on one
    // thread and the rows of C are split into blocks that depend on the shape only, one
    // single-threaded sgemm per block on the OpenMP threads
    int blocks = (M + NN_GEMM_BLOCK_ROWS - 1) / NN_GEMM_BLOCK_ROWS;
    blocks = blocks > NN_GEMM_MAX_BLOCKS ? NN_GEMM_MAX_BLOCKS : blocks < 1 ? 1 : blocks;
    int rows = ((M + blocks - 1) / blocks + 15) & ~15;
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < blocks; i++) {
        int r0 = i * rows, m = r0 + rows <= M ? rows : M - r0;
        if (m <= 0) continue;
        const float *Ai = trans_a ? A + r0 : A + (size_t)r0 * lda;
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    m, N, K, alpha, Ai, lda, B, ldb, beta, C + (size_t)r0 * ldc, ldc);
    }
}

void nn_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc) {
    double t0 = nn_gemm_stats.enabled ? nn_now() : 0;
#ifdef PWM_CUDA
    if (nn_cuda_active) cuda_sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
#endif
        sgemm_blocks(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (nn_gemm_stats.enabled) {
        nn_gemm_stats.seconds += nn_now() - t0;
        nn_gemm_stats.flops += 2.0 * M * N * K;
        nn_gemm_stats.calls++;
        if (nn_gemm_stats.log_n < nn_gemm_stats.log_cap)
            nn_gemm_stats.log[nn_gemm_stats.log_n++] = (nn_gemm_shape){M, N, K, trans_a, trans_b};
    }
}

// column sums: out(C) += Σ_n x(n, c), split by column so the order of addition is fixed
static void sum_rows_into(float *out, const float *x, int N, int C) {
    #pragma omp parallel for schedule(static)
    for (int c0 = 0; c0 < C; c0 += 64) {
        int c1 = c0 + 64 < C ? c0 + 64 : C;
        float acc[64] = {0};
        for (int n = 0; n < N; n++)
            for (int c = c0; c < c1; c++) acc[c - c0] += x[(size_t)n * C + c];
        for (int c = c0; c < c1; c++) out[c] += acc[c - c0];
    }
}

// ---------------------------------------------------------------------------------------------
// linear

void linear_forward(float *out, const float *inp, const float *W, const float *b, int N, int C, int OC) {
    CUDA_OR_CPU(linear_forward(out, inp, W, b, N, C, OC));
    // out = b broadcast over rows, then out += inp·W^T
    if (b) {
        #pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OC, b, sizeof(float) * OC);
    }
    nn_sgemm(0, 1, N, OC, C, 1.0f, inp, C, W, C, b ? 1.0f : 0.0f, out, OC);
}

void linear_backward(float *dinp, float *dW, float *db, const float *dout, const float *inp,
                     const float *W, int N, int C, int OC) {
    CUDA_OR_CPU(linear_backward(dinp, dW, db, dout, inp, W, N, C, OC));
    if (dinp) nn_sgemm(0, 0, N, C, OC, 1.0f, dout, OC, W, C, 1.0f, dinp, C);
    if (dW) nn_sgemm(1, 0, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dW, C);
    if (db) sum_rows_into(db, dout, N, OC);
}

// ---------------------------------------------------------------------------------------------
// layernorm

// LayerNorm's affine gradients dw += Σ_n dy·xhat, db += Σ_n dy, and (fused Linear) dbias += Σ_n dh:
// reductions over rows, split by column; any output may be NULL
static void ln_affine_grads(float *dw, float *db, float *dbias, const float *dy, const float *dh, const float *inp,
                            const float *mean, const float *rstd, int N, int C) {
    #pragma omp parallel for schedule(static)
    for (int c0 = 0; c0 < C; c0 += 64) {
        int c1 = c0 + 64 < C ? c0 + 64 : C;
        float aw[64] = {0}, ab[64] = {0}, ah[64] = {0};
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C, *g = dy + (size_t)n * C;
            for (int c = c0; c < c1; c++) {
                aw[c - c0] += g[c] * (x[c] - mean[n]) * rstd[n];
                ab[c - c0] += g[c];
            }
            if (dbias)
                for (int c = c0; c < c1; c++) ah[c - c0] += dh[(size_t)n * C + c];
        }
        for (int c = c0; c < c1; c++) {
            if (dw) dw[c] += aw[c - c0];
            if (db) db[c] += ab[c - c0];
            if (dbias) dbias[c] += ah[c - c0];
        }
    }
}

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                       const float *b, int N, int C) {
    CUDA_OR_CPU(layernorm_forward(out, mean, rstd, inp, w, b, N, C));
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++)
        nn_k_ln_row_forward(out + (size_t)n * C, mean + n, rstd + n, inp + (size_t)n * C, w, b, C);
}

void layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, const float *mean, const float *rstd, int N, int C) {
    CUDA_OR_CPU(layernorm_backward(dinp, dw, db, dout, inp, w, mean, rstd, N, C));
    if (dinp) {
        #pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++)
            nn_k_ln_row_backward(dinp + (size_t)n * C, dout + (size_t)n * C, inp + (size_t)n * C, w, mean[n], rstd[n], C, 1);
    }
    if (dw || db) ln_affine_grads(dw, db, NULL, dout, NULL, inp, mean, rstd, N, C);
}

// ---------------------------------------------------------------------------------------------
// activations

void act_forward(float *out, const float *inp, size_t n, nn_act act) {
    CUDA_OR_CPU(act_forward(out, inp, n, act));
    // one loop per activation, so each vectorises
    switch (act) {
    case NN_ACT_RELU:
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) out[i] = nn_k_relu(inp[i]);
        break;
    case NN_ACT_ELU:
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) out[i] = nn_k_elu(inp[i]);
        break;
    case NN_ACT_TANH:
        #pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) out[i] = tanhf(inp[i]);
        break;
    case NN_ACT_MISH:
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) out[i] = nn_k_mish(inp[i]);
        break;
    default:
        if (out != inp) memcpy(out, inp, sizeof(float) * n);
        break;
    }
}

void act_backward(float *dinp, const float *dout, const float *inp, const float *out, size_t n, nn_act act) {
    CUDA_OR_CPU(act_backward(dinp, dout, inp, out, n, act));
    switch (act) {
    case NN_ACT_RELU:
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) dinp[i] += nn_k_relu_bwd(dout[i], inp[i]);
        break;
    case NN_ACT_ELU:
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) dinp[i] += nn_k_elu_bwd(dout[i], inp[i], out[i]);
        break;
    case NN_ACT_TANH:
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) dinp[i] += nn_k_tanh_bwd(dout[i], out[i]);
        break;
    case NN_ACT_MISH:
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) dinp[i] += nn_k_mish_bwd(dout[i], inp[i]);
        break;
    default:
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) dinp[i] += dout[i];
        break;
    }
}

// ---------------------------------------------------------------------------------------------
// softmax family

void softmax_forward(float *out, const float *inp, int N, int C) {
    CUDA_OR_CPU(softmax_forward(out, inp, N, C));
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) nn_k_softmax_row(out + (size_t)n * C, inp + (size_t)n * C, C);
}

void softmax_backward(float *dinp, const float *dout, const float *out, int N, int C) {
    CUDA_OR_CPU(softmax_backward(dinp, dout, out, N, C));
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) nn_k_softmax_row_backward(dinp + (size_t)n * C, dout + (size_t)n * C, out + (size_t)n * C, C, 1);
}

void log_softmax_forward(float *out, const float *inp, int N, int C) {
    CUDA_OR_CPU(log_softmax_forward(out, inp, N, C));
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) nn_k_log_softmax_row(out + (size_t)n * C, inp + (size_t)n * C, C);
}

void log_softmax_backward(float *dinp, const float *dout, const float *out, int N, int C) {
    CUDA_OR_CPU(log_softmax_backward(dinp, dout, out, N, C));
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++)
        nn_k_log_softmax_row_backward(dinp + (size_t)n * C, dout + (size_t)n * C, out + (size_t)n * C, C);
}

void simnorm_forward(float *out, const float *inp, int N, int C, int V) {
    nn_check(C % V == 0, "simnorm: width %d is not a multiple of the group size %d", C, V);
    CUDA_OR_CPU(simnorm_forward(out, inp, N, C, V));
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) nn_k_simnorm_row(out + (size_t)n * C, inp + (size_t)n * C, C, V);
}

void simnorm_backward(float *dinp, const float *dout, const float *out, int N, int C, int V) {
    CUDA_OR_CPU(simnorm_backward(dinp, dout, out, N, C, V));
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++)
        nn_k_simnorm_row_backward(dinp + (size_t)n * C, dout + (size_t)n * C, out + (size_t)n * C, C, V, 1);
}

// ---------------------------------------------------------------------------------------------
// fused LayerNorm → activation or SimNorm (the tail of Linear → LayerNorm → act)

void layernorm_act_forward(float *out, float *ln, float *mean, float *rstd, const float *inp, const float *w,
                           const float *b, int N, int C, nn_act act, int group) {
    nn_check(group == 0 || (group > 0 && C % group == 0), "layernorm_act: width %d is not a multiple of the group %d",
             C, group);
    CUDA_OR_CPU(layernorm_act_forward(out, ln, mean, rstd, inp, w, b, N, C, act, group));
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float *l = ln + (size_t)n * C, *y = out + (size_t)n * C;
        nn_k_ln_row_forward(l, mean + n, rstd + n, inp + (size_t)n * C, w, b, C);
        if (group)
            nn_k_simnorm_row(y, l, C, group);
        else
            nn_k_act_row(y, l, C, act);
    }
}

void layernorm_act_backward(float *dinp, float *dw, float *db, float *dbias, float *gln, const float *dout,
                            const float *inp, const float *ln, const float *out, const float *w, const float *mean,
                            const float *rstd, int N, int C, nn_act act, int group) {
    CUDA_OR_CPU(layernorm_act_backward(dinp, dw, db, dbias, gln, dout, inp, ln, out, w, mean, rstd, N, C, act, group));
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        size_t o = (size_t)n * C;
        if (group)
            nn_k_simnorm_row_backward(gln + o, dout + o, out + o, C, group, 0);
        else
            nn_k_act_row_backward(gln + o, dout + o, ln + o, out + o, C, act);
        nn_k_ln_row_backward(dinp + o, gln + o, inp + o, w, mean[n], rstd[n], C, 0);
    }
    ln_affine_grads(dw, db, dbias, gln, dinp, inp, mean, rstd, N, C);
}

// ---------------------------------------------------------------------------------------------
// symlog / symexp

void symlog_forward(float *out, const float *inp, size_t n) {
    CUDA_OR_CPU(symlog_forward(out, inp, n));
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i] = nn_k_symlog(inp[i]);
}

void symlog_backward(float *dinp, const float *dout, const float *inp, size_t n) {
    CUDA_OR_CPU(symlog_backward(dinp, dout, inp, n));
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) dinp[i] += nn_k_symlog_bwd(dout[i], inp[i]);
}

void symexp_forward(float *out, const float *inp, size_t n) {
    CUDA_OR_CPU(symexp_forward(out, inp, n));
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i] = nn_k_symexp(inp[i]);
}

void symexp_backward(float *dinp, const float *dout, const float *inp, size_t n) {
    CUDA_OR_CPU(symexp_backward(dinp, dout, inp, n));
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) dinp[i] += nn_k_symexp_bwd(dout[i], inp[i]);
}

// ---------------------------------------------------------------------------------------------
// two-hot

void two_hot_forward(float *out, const float *x, int N, nn_bins bins) {
    CUDA_OR_CPU(two_hot_forward(out, x, N, bins));
    for (int n = 0; n < N; n++) nn_k_two_hot_row(out + (size_t)n * bins.nb, x[n], bins);
}

void two_hot_backward(float *dx, const float *dout, const float *x, int N, nn_bins bins) {
    CUDA_OR_CPU(two_hot_backward(dx, dout, x, N, bins));
    for (int n = 0; n < N; n++) dx[n] += nn_k_two_hot_bwd(dout + (size_t)n * bins.nb, x[n], bins);
}

void two_hot_expect_forward(float *out, float *prob, const float *logits, int N, nn_bins bins) {
    CUDA_OR_CPU(two_hot_expect_forward(out, prob, logits, N, bins));
    softmax_forward(prob, logits, N, bins.nb);
    for (int n = 0; n < N; n++) out[n] = nn_k_bin_expect(prob + (size_t)n * bins.nb, bins);
}

void two_hot_expect_backward(float *dlogits, const float *dout, const float *prob, const float *out,
                             int N, nn_bins bins) {
    CUDA_OR_CPU(two_hot_expect_backward(dlogits, dout, prob, out, N, bins));
    for (int n = 0; n < N; n++) {
        const float *p = prob + (size_t)n * bins.nb;
        float *dl = dlogits + (size_t)n * bins.nb;
        for (int k = 0; k < bins.nb; k++) dl[k] += dout[n] * p[k] * (nn_k_bin_value(bins, k) - out[n]);
    }
}

// ---------------------------------------------------------------------------------------------
// losses

void soft_ce_forward(float *loss, float *logp, const float *logits, const float *target, int N, int C) {
    CUDA_OR_CPU(soft_ce_forward(loss, logp, logits, target, N, C));
    log_softmax_forward(logp, logits, N, C);
    for (int n = 0; n < N; n++) loss[n] = nn_k_soft_ce_row(logp + (size_t)n * C, target + (size_t)n * C, C);
}

void soft_ce_backward(float *dlogits, float *dtarget, const float *dloss, const float *logp,
                      const float *target, int N, int C) {
    CUDA_OR_CPU(soft_ce_backward(dlogits, dtarget, dloss, logp, target, N, C));
    for (int n = 0; n < N; n++)
        nn_k_soft_ce_row_backward(dlogits ? dlogits + (size_t)n * C : NULL, dtarget ? dtarget + (size_t)n * C : NULL,
                                  dloss[n], logp + (size_t)n * C, target + (size_t)n * C, C);
}

void mse_forward(float *loss, const float *a, const float *b, int N, int C) {
    CUDA_OR_CPU(mse_forward(loss, a, b, N, C));
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) loss[n] = nn_k_mse_row(a + (size_t)n * C, b + (size_t)n * C, C);
}

void mse_backward(float *da, float *db, const float *dloss, const float *a, const float *b, int N, int C) {
    CUDA_OR_CPU(mse_backward(da, db, dloss, a, b, N, C));
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            size_t i = (size_t)n * C + c;
            float g = nn_k_mse_bwd(dloss[n], a[i], b[i], C);
            if (da) da[i] += g;
            if (db) db[i] -= g;
        }
}
