#include "optim.h"

#include <float.h>
#include <math.h>

nn_adam nn_adam_default(void) { return (nn_adam){.beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f}; }

void nn_adam_step(nn_adam *opt, nn_params *p, float lr) {
    opt->step++;
    float b1 = opt->beta1, b2 = opt->beta2, wd = opt->weight_decay, eps = opt->eps;
    float c1 = 1.0f - powf(b1, (float)opt->step), c2 = 1.0f - powf(b2, (float)opt->step);
    float step_size = lr / c1, inv_sqrt_c2 = 1.0f / sqrtf(c2);
    float *x = p->values, *g = p->grads, *m = p->m, *v = p->v;
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < p->count; i++) {
        float gi = g[i] + wd * x[i];
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        x[i] -= step_size * m[i] / (sqrtf(v[i]) * inv_sqrt_c2 + eps);
    }
}

#define NORM_CHUNK 16384

double nn_grad_norm(const nn_params *p) {
    // sum of squares per fixed chunk (in parallel), then the chunks in order
    size_t nchunks = (p->count + NORM_CHUNK - 1) / NORM_CHUNK;
    double partial[nchunks ? nchunks : 1];
    #pragma omp parallel for schedule(static)
    for (size_t ch = 0; ch < nchunks; ch++) {
        size_t lo = ch * NORM_CHUNK, hi = lo + NORM_CHUNK < p->count ? lo + NORM_CHUNK : p->count;
        double s = 0.0;
        for (size_t i = lo; i < hi; i++) s += (double)p->grads[i] * p->grads[i];
        partial[ch] = s;
    }
    double total = 0.0;
    for (size_t ch = 0; ch < nchunks; ch++) total += partial[ch];
    return sqrt(total);
}

double nn_clip_grad_norm(nn_params *p, double max_norm) {
    double norm = nn_grad_norm(p);
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) {
        float c = (float)coef;
        #pragma omp parallel for schedule(static)
        for (size_t i = 0; i < p->count; i++) p->grads[i] *= c;
    }
    return norm;
}

const char *nn_grad_nonfinite(const nn_params *p) {
    for (int t = 0; t < p->n; t++) {
        const nn_param *e = &p->list[t];
        size_t n = (size_t)e->t.n * e->t.d;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(e->t.g[i])) return e->name;
    }
    return NULL;
}

size_t nn_grad_nan_to_num(nn_params *p) {
    size_t bad = 0;
    for (size_t i = 0; i < p->count; i++)
        if (!isfinite(p->grads[i])) {
            p->grads[i] = isnan(p->grads[i]) ? 0.0f : copysignf(FLT_MAX, p->grads[i]);
            bad++;
        }
    return bad;
}

float nn_lr_linear(float lr0, float lr_end, long step, long total) {
    if (total <= 0 || step >= total) return lr_end;
    double f = (double)step / (double)total;
    return (float)(lr0 + (lr_end - lr0) * f);
}
