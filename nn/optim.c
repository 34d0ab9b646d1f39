#include "optim.h"

#include <float.h>
#include <math.h>

#include "kernels.h"
#ifdef PWM_CUDA
#include "cuda/cuda.h"
#include "device.h"
#endif

nn_adam nn_adam_default(void) { return (nn_adam){.beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f}; }

// one pass over the buffer: every parameter's gradient times gscale, then Adam
static void adam_pass(nn_adam *opt, nn_params *p, float lr, float gscale) {
    opt->step++;
    float c1 = 1.0f - powf(opt->beta1, (float)opt->step), c2 = 1.0f - powf(opt->beta2, (float)opt->step);
    nn_k_adam a = {opt->beta1, opt->beta2, opt->weight_decay, opt->eps, lr / c1, 1.0f / sqrtf(c2), gscale};
    float *x = p->values, *g = p->grads, *m = p->m, *v = p->v;
#ifdef PWM_CUDA
    if (nn_cuda_active) {
        cuda_adam(&a, x, m, v, g, p->count);
        return;
    }
#endif
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < p->count; i++) nn_k_adam_update(&a, x + i, m + i, v + i, g[i]);
}

void nn_adam_step(nn_adam *opt, nn_params *p, float lr) { adam_pass(opt, p, lr, 1.0f); }

// the factor clip_grad_norm_ scales the gradients by: max_norm/(norm + 1e-6) when below 1
static float clip_coef(double norm, double max_norm) {
    double coef = max_norm / (norm + 1e-6);
    return coef < 1.0 ? (float)coef : 1.0f;
}

double nn_clip_adam_step(nn_adam *opt, nn_params *p, float lr, double max_norm) {
    double norm = nn_grad_norm(p);
    adam_pass(opt, p, lr, clip_coef(norm, max_norm));
    return norm;
}

#define NORM_CHUNK 16384

double nn_grad_norm(const nn_params *p) {
    // sum of squares per fixed chunk (in parallel), then the chunks in order
#ifdef PWM_CUDA
    if (nn_cuda_active) return sqrt(cuda_sum_squares(p->grads, p->count, NORM_CHUNK));
#endif
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
    float c = clip_coef(norm, max_norm);
    if (c < 1.0f) {
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
