#include "ops.h"

#include <cblas.h>
#include <math.h>
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
        for (int c = 0; c < C; c++) m += x[c];
        m /= (float)C;
        float v = 0.0f;
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

// tanh(softplus(x)) with one exp: with e = exp(x), tanh(log(1+e)) = (e²+2e)/(e²+2e+2)
static inline float tanh_softplus(float x) {
    if (x > 20.0f) return 1.0f;
    float e = expf(x), q = e * (e + 2.0f);
    return q / (q + 2.0f);
}

void act_forward(float *out, const float *inp, size_t n, nn_act act) {
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i], y;
        switch (act) {
        case NN_ACT_RELU: y = x > 0.0f ? x : 0.0f; break;
        case NN_ACT_ELU: y = x > 0.0f ? x : expm1f(x); break;
        case NN_ACT_TANH: y = tanhf(x); break;
        case NN_ACT_MISH: y = x * tanh_softplus(x); break;
        default: y = x; break;
        }
        out[i] = y;
    }
}

void act_backward(float *dinp, const float *dout, const float *inp, const float *out, size_t n, nn_act act) {
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i], d;
        switch (act) {
        case NN_ACT_RELU: d = x > 0.0f ? 1.0f : 0.0f; break;
        case NN_ACT_ELU: d = x > 0.0f ? 1.0f : out[i] + 1.0f; break;
        case NN_ACT_TANH: d = 1.0f - out[i] * out[i]; break;
        case NN_ACT_MISH: {
            // d/dx x·t(x) = t + x·(1 − t²)·sigmoid(x), t = tanh(softplus(x))
            float t = tanh_softplus(x), sig = 1.0f / (1.0f + expf(-x));
            d = t + x * (1.0f - t * t) * sig;
            break;
        }
        default: d = 1.0f; break;
        }
        dinp[i] += dout[i] * d;
    }
}

// ---------------------------------------------------------------------------------------------
// softmax family

void softmax_forward(float *out, const float *inp, int N, int C) {
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *y = out + (size_t)n * C;
        float mx = x[0];
        for (int c = 1; c < C; c++) mx = x[c] > mx ? x[c] : mx;
        float sum = 0.0f;
        for (int c = 0; c < C; c++) sum += (y[c] = expf(x[c] - mx));
        float inv = 1.0f / sum;
        for (int c = 0; c < C; c++) y[c] *= inv;
    }
}

void softmax_backward(float *dinp, const float *dout, const float *out, int N, int C) {
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *y = out + (size_t)n * C, *dy = dout + (size_t)n * C;
        float dot = 0.0f;
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
        float mx = x[0];
        for (int c = 1; c < C; c++) mx = x[c] > mx ? x[c] : mx;
        float sum = 0.0f;
        for (int c = 0; c < C; c++) sum += expf(x[c] - mx);
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
        for (int c = 0; c < C; c++) dx[c] += dy[c] - expf(y[c]) * sum;
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
