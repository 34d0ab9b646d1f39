#include "ops.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "common.h"

nn_gemm_prof nn_gemm_stats;

static const char *act_names[] = {"none", "relu", "elu", "tanh", "mish"};

const char *nn_act_name(nn_act a) { return act_names[a]; }

int nn_act_parse(const char *s) {
    for (int i = 0; i < (int)(sizeof act_names / sizeof act_names[0]); i++)
        if (!strcmp(s, act_names[i])) return i;
    return -1;
}

void nn_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc) {
    double t0 = nn_gemm_stats.enabled ? nn_now() : 0;
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
    // out = b broadcast over rows, then out += inp·W^T
    if (b) {
        #pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OC, b, sizeof(float) * OC);
    }
    nn_sgemm(0, 1, N, OC, C, 1.0f, inp, C, W, C, b ? 1.0f : 0.0f, out, OC);
}

void linear_backward(float *dinp, float *dW, float *db, const float *dout, const float *inp,
                     const float *W, int N, int C, int OC) {
    if (dinp) nn_sgemm(0, 0, N, C, OC, 1.0f, dout, OC, W, C, 1.0f, dinp, C);
    if (dW) nn_sgemm(1, 0, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dW, C);
    if (db) sum_rows_into(db, dout, N, OC);
}

// ---------------------------------------------------------------------------------------------
// layernorm

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                       const float *b, int N, int C) {
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *y = out + (size_t)n * C;
        // two passes: mean, then variance about the mean
        float m = 0.0f;
        #pragma omp simd reduction(+ : m)
        for (int c = 0; c < C; c++) m += x[c];
        m /= (float)C;
        float v = 0.0f;
        #pragma omp simd reduction(+ : v)
        for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
        v /= (float)C;
        float s = 1.0f / sqrtf(v + NN_LAYERNORM_EPS);
        for (int c = 0; c < C; c++) y[c] = (x[c] - m) * s * w[c] + b[c];
        mean[n] = m;
        rstd[n] = s;
    }
}

void layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, const float *mean, const float *rstd, int N, int C) {
    if (dinp) {
        #pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
            float m = mean[n], s = rstd[n];
            // dx = s·(g − mean(g) − xhat·mean(g·xhat)) with g = dy·w
            float gmean = 0.0f, gxmean = 0.0f;
            #pragma omp simd reduction(+ : gmean, gxmean)
            for (int c = 0; c < C; c++) {
                float g = dy[c] * w[c];
                gmean += g;
                gxmean += g * (x[c] - m) * s;
            }
            gmean /= (float)C;
            gxmean /= (float)C;
            float *dx = dinp + (size_t)n * C;
            for (int c = 0; c < C; c++) {
                float xhat = (x[c] - m) * s;
                dx[c] += s * (dy[c] * w[c] - gmean - xhat * gxmean);
            }
        }
    }
    if (dw || db) {
        // affine grads: reductions over rows, split by column
        #pragma omp parallel for schedule(static)
        for (int c0 = 0; c0 < C; c0 += 64) {
            int c1 = c0 + 64 < C ? c0 + 64 : C;
            float aw[64] = {0}, ab[64] = {0};
            for (int n = 0; n < N; n++) {
                const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
                for (int c = c0; c < c1; c++) {
                    aw[c - c0] += dy[c] * (x[c] - mean[n]) * rstd[n];
                    ab[c - c0] += dy[c];
                }
            }
            for (int c = c0; c < c1; c++) {
                if (dw) dw[c] += aw[c - c0];
                if (db) db[c] += ab[c - c0];
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// activations

// exp(x) in plain arithmetic, so loops that call it vectorise (within 2 ulp of expf on [-87, 88];
// NaN stays NaN): exp(x) = 2^n·exp(r), n = round(x·log2 e), |r| <= ln2/2, Cephes' polynomial
static inline float fast_expf(float x) {
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
    union { uint32_t i; float f; } scale = {.i = (uint32_t)((int32_t)(n == n ? n : 0.0f) + 127) << 23};
    return p * scale.f;
}

// mish pieces from e = exp(min(x, 20)): tanh(softplus(x)) = (e²+2e)/(e²+2e+2), sigmoid = e/(1+e)
static inline float mish_t(float e) {
    float q = e * (e + 2.0f);
    return q / (q + 2.0f);
}

void act_forward(float *out, const float *inp, size_t n, nn_act act) {
    // one loop per activation, so each vectorises
    switch (act) {
    case NN_ACT_RELU:
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
        break;
    case NN_ACT_ELU:
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : fast_expf(inp[i]) - 1.0f;
        break;
    case NN_ACT_TANH:
        #pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) out[i] = tanhf(inp[i]);
        break;
    case NN_ACT_MISH:
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) {
            float x = inp[i];
            out[i] = x * mish_t(fast_expf(x < 20.0f ? x : 20.0f));
        }
        break;
    default:
        if (out != inp) memcpy(out, inp, sizeof(float) * n);
        break;
    }
}

void act_backward(float *dinp, const float *dout, const float *inp, const float *out, size_t n, nn_act act) {
    switch (act) {
    case NN_ACT_RELU:
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) dinp[i] += inp[i] > 0.0f ? dout[i] : 0.0f;
        break;
    case NN_ACT_ELU:
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) dinp[i] += dout[i] * (inp[i] > 0.0f ? 1.0f : out[i] + 1.0f);
        break;
    case NN_ACT_TANH:
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) dinp[i] += dout[i] * (1.0f - out[i] * out[i]);
        break;
    case NN_ACT_MISH:
        // d/dx x·t(x) = t + x·(1 − t²)·sigmoid(x)
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) {
            float x = inp[i], e = fast_expf(x < 20.0f ? x : 20.0f), t = mish_t(e);
            dinp[i] += dout[i] * (t + x * (1.0f - t * t) * (e / (1.0f + e)));
        }
        break;
    default:
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) dinp[i] += dout[i];
        break;
    }
}

// ---------------------------------------------------------------------------------------------
// softmax family

static inline float row_max(const float *x, int C) {
    float mx = x[0];
    for (int c = 1; c < C; c++) mx = x[c] > mx ? x[c] : mx;
    return mx;
}

void softmax_forward(float *out, const float *inp, int N, int C) {
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *y = out + (size_t)n * C;
        float mx = row_max(x, C), sum = 0.0f;
        #pragma omp simd reduction(+ : sum)
        for (int c = 0; c < C; c++) sum += (y[c] = fast_expf(x[c] - mx));
        float inv = 1.0f / sum;
        for (int c = 0; c < C; c++) y[c] *= inv;
    }
}

void softmax_backward(float *dinp, const float *dout, const float *out, int N, int C) {
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *y = out + (size_t)n * C, *dy = dout + (size_t)n * C;
        float dot = 0.0f;
        #pragma omp simd reduction(+ : dot)
        for (int c = 0; c < C; c++) dot += dy[c] * y[c];
        float *dx = dinp + (size_t)n * C;
        for (int c = 0; c < C; c++) dx[c] += y[c] * (dy[c] - dot);
    }
}

void log_softmax_forward(float *out, const float *inp, int N, int C) {
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *y = out + (size_t)n * C;
        float mx = row_max(x, C), sum = 0.0f;
        #pragma omp simd reduction(+ : sum)
        for (int c = 0; c < C; c++) sum += fast_expf(x[c] - mx);
        float lse = mx + logf(sum);
        for (int c = 0; c < C; c++) y[c] = x[c] - lse;
    }
}

void log_softmax_backward(float *dinp, const float *dout, const float *out, int N, int C) {
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *y = out + (size_t)n * C, *dy = dout + (size_t)n * C;
        float sum = 0.0f;
        for (int c = 0; c < C; c++) sum += dy[c];
        float *dx = dinp + (size_t)n * C;
        for (int c = 0; c < C; c++) dx[c] += dy[c] - fast_expf(y[c]) * sum;
    }
}

void simnorm_forward(float *out, const float *inp, int N, int C, int V) {
    nn_check(C % V == 0, "simnorm: width %d is not a multiple of the group size %d", C, V);
    softmax_forward(out, inp, N * (C / V), V);
}

void simnorm_backward(float *dinp, const float *dout, const float *out, int N, int C, int V) {
    softmax_backward(dinp, dout, out, N * (C / V), V);
}

// ---------------------------------------------------------------------------------------------
// symlog / symexp

void symlog_forward(float *out, const float *inp, size_t n) {
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i] = copysignf(log1pf(fabsf(inp[i])), inp[i]);
}

void symlog_backward(float *dinp, const float *dout, const float *inp, size_t n) {
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) dinp[i] += dout[i] / (1.0f + fabsf(inp[i]));
}

void symexp_forward(float *out, const float *inp, size_t n) {
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i] = copysignf(expm1f(fabsf(inp[i])), inp[i]);
}

void symexp_backward(float *dinp, const float *dout, const float *inp, size_t n) {
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) dinp[i] += dout[i] * expf(fabsf(inp[i]));
}

// ---------------------------------------------------------------------------------------------
// two-hot

static inline float bin_size(nn_bins b) { return (b.vmax - b.vmin) / (float)(b.nb - 1); }

// position of x on the bin axis: lower bin k and fraction f towards bin k+1
static inline void two_hot_locate(float x, nn_bins b, int *k, float *f, int *clamped) {
    float s = copysignf(log1pf(fabsf(x)), x);
    *clamped = s < b.vmin || s > b.vmax;
    s = s < b.vmin ? b.vmin : s > b.vmax ? b.vmax : s;
    float u = (s - b.vmin) / bin_size(b);
    int kk = (int)floorf(u);
    if (kk > b.nb - 1) kk = b.nb - 1;
    if (kk < 0) kk = 0;
    *k = kk;
    *f = u - (float)kk;
}

void two_hot_forward(float *out, const float *x, int N, nn_bins bins) {
    memset(out, 0, sizeof(float) * (size_t)N * bins.nb);
    for (int n = 0; n < N; n++) {
        int k, clamped;
        float f;
        two_hot_locate(x[n], bins, &k, &f, &clamped);
        float *y = out + (size_t)n * bins.nb;
        y[k] = 1.0f - f;
        if (k + 1 < bins.nb) y[k + 1] = f;
    }
}

void two_hot_backward(float *dx, const float *dout, const float *x, int N, nn_bins bins) {
    for (int n = 0; n < N; n++) {
        int k, clamped;
        float f;
        two_hot_locate(x[n], bins, &k, &f, &clamped);
        if (clamped || k + 1 >= bins.nb) continue;
        // ∂f/∂x = symlog'(x) / bin size; out[k] = 1 − f, out[k+1] = f
        const float *dy = dout + (size_t)n * bins.nb;
        float dfdx = 1.0f / ((1.0f + fabsf(x[n])) * bin_size(bins));
        dx[n] += (dy[k + 1] - dy[k]) * dfdx;
    }
}

void two_hot_expect_forward(float *out, float *prob, const float *logits, int N, nn_bins bins) {
    softmax_forward(prob, logits, N, bins.nb);
    float bs = bin_size(bins);
    for (int n = 0; n < N; n++) {
        const float *p = prob + (size_t)n * bins.nb;
        float e = 0.0f;
        for (int k = 0; k < bins.nb; k++) e += p[k] * (bins.vmin + bs * (float)k);
        out[n] = e;
    }
}

void two_hot_expect_backward(float *dlogits, const float *dout, const float *prob, const float *out,
                             int N, nn_bins bins) {
    float bs = bin_size(bins);
    for (int n = 0; n < N; n++) {
        const float *p = prob + (size_t)n * bins.nb;
        float *dl = dlogits + (size_t)n * bins.nb;
        for (int k = 0; k < bins.nb; k++) dl[k] += dout[n] * p[k] * (bins.vmin + bs * (float)k - out[n]);
    }
}

// ---------------------------------------------------------------------------------------------
// losses

void soft_ce_forward(float *loss, float *logp, const float *logits, const float *target, int N, int C) {
    log_softmax_forward(logp, logits, N, C);
    for (int n = 0; n < N; n++) {
        float l = 0.0f;
        for (int c = 0; c < C; c++) l -= target[(size_t)n * C + c] * logp[(size_t)n * C + c];
        loss[n] = l;
    }
}

void soft_ce_backward(float *dlogits, float *dtarget, const float *dloss, const float *logp,
                      const float *target, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *t = target + (size_t)n * C, *lp = logp + (size_t)n * C;
        if (dlogits) {
            // ∂/∂logits = softmax·Σt − t
            float tsum = 0.0f;
            for (int c = 0; c < C; c++) tsum += t[c];
            for (int c = 0; c < C; c++) dlogits[(size_t)n * C + c] += dloss[n] * (expf(lp[c]) * tsum - t[c]);
        }
        if (dtarget)
            for (int c = 0; c < C; c++) dtarget[(size_t)n * C + c] -= dloss[n] * lp[c];
    }
}

void mse_forward(float *loss, const float *a, const float *b, int N, int C) {
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float l = 0.0f;
        for (int c = 0; c < C; c++) {
            float d = a[(size_t)n * C + c] - b[(size_t)n * C + c];
            l += d * d;
        }
        loss[n] = l / (float)C;
    }
}

void mse_backward(float *da, float *db, const float *dloss, const float *a, const float *b, int N, int C) {
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float s = 2.0f * dloss[n] / (float)C;
        for (int c = 0; c < C; c++) {
            size_t i = (size_t)n * C + c;
            float g = s * (a[i] - b[i]);
            if (da) da[i] += g;
            if (db) db[i] -= g;
        }
    }
}
