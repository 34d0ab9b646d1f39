#include "normalizer.h"

#include <math.h>

#include "common.h"

void nn_rms_init(nn_rms *r, int dim, float eps, float clip) {
    *r = (nn_rms){.dim = dim, .count = 1e-4, .eps = eps, .clip = clip};
    r->mean = nn_malloc(sizeof(float) * dim);
    r->var = nn_malloc(sizeof(float) * dim);
    for (int i = 0; i < dim; i++) r->var[i] = 1.0f;
}

void nn_rms_free(nn_rms *r) {
    nn_free(r->mean);
    nn_free(r->var);
    r->mean = r->var = NULL;
}

void nn_rms_update(nn_rms *r, const float *x, int n) {
    if (n <= 0) return;
    double tot = r->count + n;
    for (int c = 0; c < r->dim; c++) {
        // batch mean and population variance, then Chan's merge with the running statistics
        double bm = 0.0, bv = 0.0;
        for (int i = 0; i < n; i++) bm += x[(size_t)i * r->dim + c];
        bm /= n;
        for (int i = 0; i < n; i++) {
            double d = x[(size_t)i * r->dim + c] - bm;
            bv += d * d;
        }
        bv /= n;
        double delta = bm - r->mean[c];
        double m2 = (double)r->var[c] * r->count + bv * n + delta * delta * r->count * n / tot;
        r->mean[c] = (float)(r->mean[c] + delta * n / tot);
        r->var[c] = (float)(m2 / tot);
    }
    r->count = tot;
}

static inline float norm1(const nn_rms *r, float x, int c) {
    // the same arithmetic as nn_rms_apply, so both give identical values
    float y = (x - (r->scale_only ? 0.0f : r->mean[c])) * (1.0f / sqrtf(r->var[c] + r->eps));
    if (r->clip > 0.0f) y = y < -r->clip ? -r->clip : y > r->clip ? r->clip : y;
    return y;
}

void nn_rms_normalize(const nn_rms *r, float *out, const float *x, int n) {
    for (size_t i = 0; i < (size_t)n * r->dim; i++) out[i] = norm1(r, x[i], (int)(i % r->dim));
}

double nn_rms_unnormalize(const nn_rms *r, double y, int c) {
    return y * sqrt(r->var[c] + r->eps) + (r->scale_only ? 0.0 : r->mean[c]);
}

nn_tensor *nn_rms_apply(nn_graph *g, const nn_rms *r, nn_tensor *x) {
    nn_check(x->d == r->dim, "normalizer: input has %d columns, the statistics %d", x->d, r->dim);
    // (x − mean)·(1/std) as a broadcast subtract and multiply, so backward comes for free
    nn_tensor *inv = nn_tensor_new(g, 1, r->dim, 0);
    for (int c = 0; c < r->dim; c++) inv->x[c] = 1.0f / sqrtf(r->var[c] + r->eps);
    nn_tensor *y = nn_mul(g, r->scale_only ? x : nn_sub(g, x, nn_tensor_from(g, r->mean, 1, r->dim, 0)), inv);
    return r->clip > 0.0f ? nn_clamp(g, y, -r->clip, r->clip) : y;
}
