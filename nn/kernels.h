// The arithmetic of the kernels, one element (or one row's finished reductions) at a time, written
// once for both backends: the CPU ops (nn/ops.c, nn/optim.c) call these functions, and so do the
// CUDA kernels (nn/cuda/), where NN_HD makes them __host__ __device__. So the CPU test suite runs
// the very arithmetic the GPU runs, and the two backends differ only in the order of reductions
// (and in cuBLAS versus OpenBLAS). The CUDA build uses --fmad=false, as the CPU build keeps FMA
// contraction off, so an element computed from the same inputs rounds the same on both.
#ifndef PWM_NN_KERNELS_H
#define PWM_NN_KERNELS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ops.h"

#ifdef __CUDACC__
#define NN_HD static inline __host__ __device__
#else
#define NN_HD static inline
#endif
// OpenMP hints for the CPU's loops; empty under nvcc (a test defines it empty too, to run the rows
// in the GPU's order on the CPU)
#ifndef NN_PRAGMA
#ifdef __CUDACC__
#define NN_PRAGMA(x)
#else
#define NN_PRAGMA(x) _Pragma(#x)
#endif
#endif

// exp(x) in plain arithmetic, so loops that call it vectorise (within 2 ulp of expf on [-87, 88];
// NaN stays NaN): exp(x) = 2^n·exp(r), n = round(x·log2 e), |r| <= ln2/2, Cephes' polynomial
NN_HD float nn_k_expf(float x) {
    x = x < -87.3f ? -87.3f : x > 88.3f ? 88.3f : x;
    float n = rintf(x * 1.44269504088896341f);
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    // NaN has no integer exponent (converting it is undefined): 0 there, and p carries the NaN
    union { uint32_t i; float f; } scale;
    scale.i = (uint32_t)((int32_t)(n == n ? n : 0.0f) + 127) << 23;
    return p * scale.f;
}

// ---- activations: forward y(x), backward the term added to dinp from dy (and x, y) ----------

// mish pieces from e = exp(min(x, 20)): tanh(softplus(x)) = (e²+2e)/(e²+2e+2), sigmoid = e/(1+e)
NN_HD float nn_k_mish_t(float e) {
    float q = e * (e + 2.0f);
    return q / (q + 2.0f);
}
NN_HD float nn_k_mish(float x) { return x * nn_k_mish_t(nn_k_expf(x < 20.0f ? x : 20.0f)); }
// d/dx x·t(x) = t + x·(1 − t²)·sigmoid(x)
NN_HD float nn_k_mish_bwd(float dy, float x) {
    float e = nn_k_expf(x < 20.0f ? x : 20.0f), t = nn_k_mish_t(e);
    return dy * (t + x * (1.0f - t * t) * (e / (1.0f + e)));
}
NN_HD float nn_k_relu(float x) { return x > 0.0f ? x : 0.0f; }
NN_HD float nn_k_relu_bwd(float dy, float x) { return x > 0.0f ? dy : 0.0f; }
NN_HD float nn_k_elu(float x) { return x > 0.0f ? x : nn_k_expf(x) - 1.0f; }
NN_HD float nn_k_elu_bwd(float dy, float x, float y) { return dy * (x > 0.0f ? 1.0f : y + 1.0f); }
NN_HD float nn_k_tanh_bwd(float dy, float y) { return dy * (1.0f - y * y); }

// any activation by its tag (the switch is per element: for kernels, not for vectorised CPU loops)
NN_HD float nn_k_act(float x, nn_act act) {
    switch (act) {
    case NN_ACT_RELU: return nn_k_relu(x);
    case NN_ACT_ELU: return nn_k_elu(x);
    case NN_ACT_TANH: return tanhf(x);
    case NN_ACT_MISH: return nn_k_mish(x);
    default: return x;
    }
}
NN_HD float nn_k_act_bwd(float dy, float x, float y, nn_act act) {
    switch (act) {
    case NN_ACT_RELU: return nn_k_relu_bwd(dy, x);
    case NN_ACT_ELU: return nn_k_elu_bwd(dy, x, y);
    case NN_ACT_TANH: return nn_k_tanh_bwd(dy, y);
    case NN_ACT_MISH: return nn_k_mish_bwd(dy, x);
    default: return dy;
    }
}

// ---- LayerNorm, given a row's mean m and 1/std s ----------------------------------------------
NN_HD float nn_k_ln_rstd(float var) { return 1.0f / sqrtf(var + NN_LAYERNORM_EPS); }
NN_HD float nn_k_ln_out(float x, float m, float s, float w, float b) { return (x - m) * s * w + b; }
// dx = s·(g − mean(g) − xhat·mean(g·xhat)) with g = dy·w; gmean, gxmean are those row means
NN_HD float nn_k_ln_dx(float dy, float x, float w, float m, float s, float gmean, float gxmean) {
    float xhat = (x - m) * s;
    return s * (dy * w - gmean - xhat * gxmean);
}

// ---- whole rows: the CPU runs these on OpenMP threads (one row each, vectorised), the GPU one
// row per CUDA thread (NN_PRAGMA drops the OpenMP hints there, so its sums run in index order) --
// one row: y = LayerNorm(x), its mean and 1/std into *m, *s (two passes: mean, then the variance
// about the mean)
NN_HD void nn_k_ln_row_forward(float *y, float *m, float *s, const float *x, const float *w, const float *b, int C) {
    float mu = 0.0f;
    NN_PRAGMA(omp simd reduction(+ : mu))
    for (int c = 0; c < C; c++) mu += x[c];
    mu /= (float)C;
    float v = 0.0f;
    NN_PRAGMA(omp simd reduction(+ : v))
    for (int c = 0; c < C; c++) v += (x[c] - mu) * (x[c] - mu);
    v /= (float)C;
    float r = nn_k_ln_rstd(v);
    for (int c = 0; c < C; c++) y[c] = nn_k_ln_out(x[c], mu, r, w[c], b[c]);
    *m = mu;
    *s = r;
}

// one row: dx (+= when acc, else =) the input gradient for the output gradient dy
NN_HD void nn_k_ln_row_backward(float *dx, const float *dy, const float *x, const float *w, float m, float s, int C,
                                   int acc) {
    float gmean = 0.0f, gxmean = 0.0f;
    NN_PRAGMA(omp simd reduction(+ : gmean, gxmean))
    for (int c = 0; c < C; c++) {
        float g = dy[c] * w[c];
        gmean += g;
        gxmean += g * (x[c] - m) * s;
    }
    gmean /= (float)C;
    gxmean /= (float)C;
    if (acc)
        for (int c = 0; c < C; c++) dx[c] += nn_k_ln_dx(dy[c], x[c], w[c], m, s, gmean, gxmean);
    else
        for (int c = 0; c < C; c++) dx[c] = nn_k_ln_dx(dy[c], x[c], w[c], m, s, gmean, gxmean);
}

NN_HD float nn_k_row_max(const float *x, int C) {
    float mx = x[0];
    for (int c = 1; c < C; c++) mx = x[c] > mx ? x[c] : mx;
    return mx;
}

// one row of C values: y = softmax(x); and dx (+= when acc, else =) y·(dy − Σ dy·y)
NN_HD void nn_k_softmax_row(float *y, const float *x, int C) {
    float mx = nn_k_row_max(x, C), sum = 0.0f;
    NN_PRAGMA(omp simd reduction(+ : sum))
    for (int c = 0; c < C; c++) sum += (y[c] = nn_k_expf(x[c] - mx));
    float inv = 1.0f / sum;
    for (int c = 0; c < C; c++) y[c] *= inv;
}

NN_HD void nn_k_softmax_row_backward(float *dx, const float *dy, const float *y, int C, int acc) {
    float dot = 0.0f;
    NN_PRAGMA(omp simd reduction(+ : dot))
    for (int c = 0; c < C; c++) dot += dy[c] * y[c];
    if (acc)
        for (int c = 0; c < C; c++) dx[c] += y[c] * (dy[c] - dot);
    else
        for (int c = 0; c < C; c++) dx[c] = y[c] * (dy[c] - dot);
}

// SimNorm over one row of C values: softmax within each group of V; and its backward
NN_HD void nn_k_simnorm_row(float *y, const float *x, int C, int V) {
    for (int c = 0; c < C; c += V) nn_k_softmax_row(y + c, x + c, V);
}

NN_HD void nn_k_simnorm_row_backward(float *dx, const float *dy, const float *y, int C, int V, int acc) {
    for (int c = 0; c < C; c += V) nn_k_softmax_row_backward(dx + c, dy + c, y + c, V, acc);
}

// one row of C values: y = act(x); and dx = the input gradient (written, not accumulated)
NN_HD void nn_k_act_row(float *y, const float *x, int C, nn_act act) {
    switch (act) {
    case NN_ACT_RELU:
        NN_PRAGMA(omp simd)
        for (int c = 0; c < C; c++) y[c] = nn_k_relu(x[c]);
        break;
    case NN_ACT_ELU:
        NN_PRAGMA(omp simd)
        for (int c = 0; c < C; c++) y[c] = nn_k_elu(x[c]);
        break;
    case NN_ACT_TANH:
        for (int c = 0; c < C; c++) y[c] = tanhf(x[c]);
        break;
    case NN_ACT_MISH:
        NN_PRAGMA(omp simd)
        for (int c = 0; c < C; c++) y[c] = nn_k_mish(x[c]);
        break;
    default:
        if (y != x) memcpy(y, x, sizeof(float) * C);
        break;
    }
}

NN_HD void nn_k_act_row_backward(float *dx, const float *dy, const float *x, const float *y, int C, nn_act act) {
    switch (act) {
    case NN_ACT_RELU:
        NN_PRAGMA(omp simd)
        for (int c = 0; c < C; c++) dx[c] = nn_k_relu_bwd(dy[c], x[c]);
        break;
    case NN_ACT_ELU:
        NN_PRAGMA(omp simd)
        for (int c = 0; c < C; c++) dx[c] = nn_k_elu_bwd(dy[c], x[c], y[c]);
        break;
    case NN_ACT_TANH:
        NN_PRAGMA(omp simd)
        for (int c = 0; c < C; c++) dx[c] = nn_k_tanh_bwd(dy[c], y[c]);
        break;
    case NN_ACT_MISH:
        NN_PRAGMA(omp simd)
        for (int c = 0; c < C; c++) dx[c] = nn_k_mish_bwd(dy[c], x[c]);
        break;
    default:
        memcpy(dx, dy, sizeof(float) * C);
        break;
    }
}

// ---- symlog / symexp ------------------------------------------------------------------------
NN_HD float nn_k_symlog(float x) { return copysignf(log1pf(fabsf(x)), x); }
NN_HD float nn_k_symlog_bwd(float dy, float x) { return dy / (1.0f + fabsf(x)); }
NN_HD float nn_k_symexp(float x) { return copysignf(expm1f(fabsf(x)), x); }
NN_HD float nn_k_symexp_bwd(float dy, float x) { return dy * expf(fabsf(x)); }

// ---- two-hot bins ---------------------------------------------------------------------------
NN_HD float nn_k_bin_size(nn_bins b) { return (b.vmax - b.vmin) / (float)(b.nb - 1); }
NN_HD float nn_k_bin_value(nn_bins b, int k) { return b.vmin + nn_k_bin_size(b) * (float)k; }

// position of x on the bin axis: lower bin k and fraction f towards bin k+1; returns whether the
// clamp to [vmin, vmax] is active
NN_HD int nn_k_two_hot_locate(float x, nn_bins b, int *k, float *f) {
    float s = nn_k_symlog(x);
    int clamped = s < b.vmin || s > b.vmax;
    s = s < b.vmin ? b.vmin : s > b.vmax ? b.vmax : s;
    float u = (s - b.vmin) / nn_k_bin_size(b);
    int kk = (int)floorf(u);
    if (kk > b.nb - 1) kk = b.nb - 1;
    if (kk < 0) kk = 0;
    *k = kk;
    *f = u - (float)kk;
    return clamped;
}

// the gradient two-hot passes to x from its row's output gradient dy(NB)
NN_HD float nn_k_two_hot_bwd(const float *dy, float x, nn_bins b) {
    int k;
    float f;
    if (nn_k_two_hot_locate(x, b, &k, &f) || k + 1 >= b.nb) return 0.0f;
    // ∂f/∂x = symlog'(x) / bin size; out[k] = 1 − f, out[k+1] = f
    return (dy[k + 1] - dy[k]) * (1.0f / ((1.0f + fabsf(x)) * nn_k_bin_size(b)));
}

// one row: out(NB) = the two-hot encoding of x
NN_HD void nn_k_two_hot_row(float *y, float x, nn_bins b) {
    for (int j = 0; j < b.nb; j++) y[j] = 0.0f;
    int k;
    float f;
    nn_k_two_hot_locate(x, b, &k, &f);
    y[k] = 1.0f - f;
    if (k + 1 < b.nb) y[k + 1] = f;
}

// Σ_k p(k)·bin_k, the expectation of a row of bin probabilities (symlog space)
NN_HD float nn_k_bin_expect(const float *p, nn_bins b) {
    float e = 0.0f;
    for (int k = 0; k < b.nb; k++) e += p[k] * nn_k_bin_value(b, k);
    return e;
}

// ---- log-softmax and the losses, one row ----------------------------------------------------
NN_HD void nn_k_log_softmax_row(float *y, const float *x, int C) {
    float mx = nn_k_row_max(x, C), sum = 0.0f;
    NN_PRAGMA(omp simd reduction(+ : sum))
    for (int c = 0; c < C; c++) sum += nn_k_expf(x[c] - mx);
    float lse = mx + logf(sum);
    for (int c = 0; c < C; c++) y[c] = x[c] - lse;
}

NN_HD void nn_k_log_softmax_row_backward(float *dx, const float *dy, const float *y, int C) {
    float sum = 0.0f;
    for (int c = 0; c < C; c++) sum += dy[c];
    for (int c = 0; c < C; c++) dx[c] += dy[c] - nn_k_expf(y[c]) * sum;
}

// soft cross-entropy −Σ t·logp, and its gradients (dlogits += dloss·(softmax·Σt − t), dtarget −=
// dloss·logp; either may be NULL)
NN_HD float nn_k_soft_ce_row(const float *logp, const float *t, int C) {
    float l = 0.0f;
    for (int c = 0; c < C; c++) l -= t[c] * logp[c];
    return l;
}

NN_HD void nn_k_soft_ce_row_backward(float *dlogits, float *dtarget, float dloss, const float *logp, const float *t,
                                     int C) {
    if (dlogits) {
        float tsum = 0.0f;
        for (int c = 0; c < C; c++) tsum += t[c];
        for (int c = 0; c < C; c++) dlogits[c] += dloss * (expf(logp[c]) * tsum - t[c]);
    }
    if (dtarget)
        for (int c = 0; c < C; c++) dtarget[c] -= dloss * logp[c];
}

// mean squared error (1/C)·Σ (a−b)², and the gradient one element of a gets (b gets its negative)
NN_HD float nn_k_mse_row(const float *a, const float *b, int C) {
    float l = 0.0f;
    for (int c = 0; c < C; c++) {
        float d = a[c] - b[c];
        l += d * d;
    }
    return l / (float)C;
}

NN_HD float nn_k_mse_bwd(float dloss, float a, float b, int C) { return 2.0f * dloss / (float)C * (a - b); }

// ---- Adam (PyTorch's, L2 weight decay) --------------------------------------------------------
// Constants of one step: the bias corrections folded into a step size and 1/√c2.
typedef struct {
    float b1, b2, wd, eps, step_size, inv_sqrt_c2, gscale;  // gscale: the gradient clip factor (1: none)
} nn_k_adam;

// one parameter: x, m, v updated in place from its gradient g
NN_HD void nn_k_adam_update(const nn_k_adam *a, float *x, float *m, float *v, float g) {
    float gi = g * a->gscale + a->wd * *x;
    *m = a->b1 * *m + (1.0f - a->b1) * gi;
    *v = a->b2 * *v + (1.0f - a->b2) * gi * gi;
    *x -= a->step_size * *m / (sqrtf(*v) * a->inv_sqrt_c2 + a->eps);
}

// ---- the mapping of a row-major product onto column-major BLAS (cuBLAS) ---------------------
// Row-major C(M,N) = op(A)·op(B) is, read as column-major, C^T(N,M) = op(B)^T·op(A)^T: the same
// buffers with A and B swapped, M and N swapped, and the same transpose flags (a row-major matrix
// with leading dimension ld is its transpose in column-major with the same ld).
typedef struct {
    int trans_a, trans_b, m, n, k;  // column-major arguments: C(m,n) = op(A)(m,k)·op(B)(k,n)
    const float *A, *B;
    int lda, ldb;
} nn_k_colmajor_gemm;

NN_HD nn_k_colmajor_gemm nn_k_gemm_to_colmajor(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda,
                                               const float *B, int ldb) {
    nn_k_colmajor_gemm c = {trans_b, trans_a, N, M, K, B, A, ldb, lda};
    return c;
}

#endif
