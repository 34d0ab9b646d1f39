#include "params.h"

#include <math.h>
#include <string.h>

#include "common.h"
#include "device.h"

void nn_params_init(nn_params *p, int cap) {
    memset(p, 0, sizeof *p);
    p->cap = cap > 0 ? cap : 512;
    p->list = nn_malloc(sizeof(nn_param) * (size_t)p->cap);
}

nn_tensor *nn_params_add(nn_params *p, const char *name, int n, int d) {
    nn_check(!p->mem, "parameter '%s' declared after nn_params_alloc", name);
    nn_check(p->n < p->cap, "too many parameter tensors (%d); raise the capacity in nn_params_init", p->cap);
    nn_check(strlen(name) < NN_PARAM_NAME, "parameter name '%s' is longer than %d", name, NN_PARAM_NAME - 1);
    nn_check(!nn_params_find(p, name), "parameter '%s' declared twice", name);
    nn_check(n > 0 && d > 0, "parameter '%s' has shape (%d, %d)", name, n, d);
    nn_param *e = &p->list[p->n++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->t = (nn_tensor){.n = n, .d = d, .requires_grad = 1};
    e->ndim = 2;
    // each tensor starts on a 64-byte boundary
    e->offset = p->count;
    p->count += ((size_t)n * d + 15) & ~(size_t)15;
    return &e->t;
}

nn_tensor *nn_params_add_vec(nn_params *p, const char *name, int d) {
    nn_tensor *t = nn_params_add(p, name, 1, d);
    p->list[p->n - 1].ndim = 1;
    return t;
}

void nn_params_alloc(nn_params *p) {
    nn_check(!p->mem, "nn_params_alloc called twice");
    size_t c = p->count ? p->count : 16;
    p->mem = nn_device_alloc(sizeof(float) * 4 * c);
    p->values = p->mem;
    p->grads = p->mem + c;
    p->m = p->mem + 2 * c;
    p->v = p->mem + 3 * c;
    for (int i = 0; i < p->n; i++) {
        p->list[i].t.x = p->values + p->list[i].offset;
        p->list[i].t.g = p->grads + p->list[i].offset;
    }
    nn_params_set_frozen(p, p->frozen);
}

void nn_params_free(nn_params *p) {
    nn_device_free(p->mem);
    nn_free(p->list);
    memset(p, 0, sizeof *p);
}

nn_param *nn_params_find(const nn_params *p, const char *name) {
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->list[i].name, name)) return &p->list[i];
    return NULL;
}

size_t nn_params_numel(const nn_params *p) {
    size_t n = 0;
    for (int i = 0; i < p->n; i++) n += (size_t)p->list[i].t.n * p->list[i].t.d;
    return n;
}

void nn_params_zero_grad(nn_params *p) { nn_device_zero(p->grads, sizeof(float) * p->count); }

void nn_params_set_frozen(nn_params *p, int frozen) {
    p->frozen = frozen;
    for (int i = 0; i < p->n; i++) p->list[i].t.requires_grad = !frozen;
}

void nn_params_copy(nn_params *dst, const nn_params *src, float tau) {
    nn_check(dst->count == src->count && dst->n == src->n, "nn_params_copy: layouts differ (%zu vs %zu floats)",
             dst->count, src->count);
    if (tau <= 0.0f) {
        memcpy(dst->values, src->values, sizeof(float) * src->count);
        return;
    }
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < src->count; i++) dst->values[i] = tau * dst->values[i] + (1.0f - tau) * src->values[i];
}

// ---------------------------------------------------------------------------------------------
// initialisers

void nn_init_zeros(float *w, size_t n) { memset(w, 0, sizeof(float) * n); }

void nn_init_const(float *w, size_t n, float value) {
    for (size_t i = 0; i < n; i++) w[i] = value;
}

void nn_init_trunc_normal(float *w, size_t n, float std, float a, float b, nn_rng *r) {
    for (size_t i = 0; i < n; i++) w[i] = nn_rng_trunc_normal(r, 0.0f, std, a, b);
}

void nn_init_orthogonal(float *W, int rows, int cols, float gain, nn_rng *r) {
    // work on the tall orientation A (m×k, m >= k): Gram–Schmidt on its columns gives Q with
    // R's diagonal positive, which is PyTorch's QR with the sign correction
    int tall = rows >= cols, m = tall ? rows : cols, k = tall ? cols : rows;
    double *A = nn_malloc(sizeof(double) * (size_t)m * k);
    for (size_t i = 0; i < (size_t)rows * cols; i++) {
        int rr = (int)(i / cols), cc = (int)(i % cols);
        // A(i, j) is column j of the tall matrix, stored column-major
        size_t idx = tall ? (size_t)cc * m + rr : (size_t)rr * m + cc;
        A[idx] = nn_rng_normal(r);
    }
    for (int j = 0; j < k; j++) {
        double *q = A + (size_t)j * m;
        for (int pass = 0; pass < 2; pass++)  // re-orthogonalise once for accuracy
            for (int i = 0; i < j; i++) {
                double *qi = A + (size_t)i * m, dot = 0.0;
                for (int t = 0; t < m; t++) dot += qi[t] * q[t];
                for (int t = 0; t < m; t++) q[t] -= dot * qi[t];
            }
        double norm = 0.0;
        for (int t = 0; t < m; t++) norm += q[t] * q[t];
        norm = sqrt(norm);
        for (int t = 0; t < m; t++) q[t] /= norm;
    }
    for (size_t i = 0; i < (size_t)rows * cols; i++) {
        int rr = (int)(i / cols), cc = (int)(i % cols);
        size_t idx = tall ? (size_t)cc * m + rr : (size_t)rr * m + cc;
        W[i] = (float)(gain * A[idx]);
    }
    nn_free(A);
}

void nn_init_torch_linear(float *W, float *b, int out, int in, nn_rng *r) {
    float bound = 1.0f / sqrtf((float)in);
    for (size_t i = 0; i < (size_t)out * in; i++) W[i] = bound * (2.0f * nn_rng_uniform(r) - 1.0f);
    if (b)
        for (int i = 0; i < out; i++) b[i] = bound * (2.0f * nn_rng_uniform(r) - 1.0f);
}
