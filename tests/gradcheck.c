#include "gradcheck.h"

#include <math.h>
#include <string.h>

#include "../nn/common.h"
#include "../nn/rng.h"
#include "test.h"

void fd_fill(float *x, size_t n, float lo, float hi, unsigned seed) {
    nn_rng r;
    nn_rng_init(&r, seed, 7);
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * nn_rng_uniform(&r);
}

// forward on fresh leaves; returns L = Σ w·y in double (w drawn for y's shape on first use)
static double eval(nn_graph *g, fd_build f, void *ctx, fd_inputs *in, nn_tensor **leaves, float **w, int grad) {
    nn_graph_reset(g);
    nn_graph_set_no_grad(g, !grad);
    for (int i = 0; i < in->k; i++) leaves[i] = nn_tensor_from(g, in->data[i], in->n[i], in->d[i], 1);
    nn_tensor *y = f(g, leaves, ctx);
    size_t n = (size_t)y->n * y->d;
    if (!*w) {
        *w = nn_malloc(sizeof(float) * n);
        fd_fill(*w, n, -1.0f, 1.0f, 99);
    }
    double L = 0.0;
    for (size_t i = 0; i < n; i++) L += (double)(*w)[i] * y->x[i];
    if (grad) {
        memcpy(nn_grad(g, y), *w, sizeof(float) * n);
        nn_backward(g, NULL);
    }
    nn_graph_set_no_grad(g, 0);
    return L;
}

// compare one analytic gradient with central differences of the value at *x
static double check_one(const char *what, const char *arr, size_t idx, float *x, double analytic, nn_graph *g,
                        fd_build f, void *ctx, fd_inputs *in, nn_tensor **leaves, float **w, fd_tol tol) {
    float saved = *x;
    *x = saved + tol.eps;
    double lp = eval(g, f, ctx, in, leaves, w, 0);
    *x = saved - tol.eps;
    double lm = eval(g, f, ctx, in, leaves, w, 0);
    *x = saved;
    double numeric = (lp - lm) / (2.0 * tol.eps);
    double err = fabs(analytic - numeric), scale = fmax(fabs(analytic), fabs(numeric));
    CHECK(err <= tol.atol + tol.rtol * scale, "%s: d/d%s[%zu] analytic %.6g vs numeric %.6g", what, arr, idx,
          analytic, numeric);
    return scale > 0 ? err / scale : 0.0;
}

double fd_check(const char *what, fd_build f, void *ctx, fd_inputs *in, nn_params *params, fd_tol tol) {
    nn_graph *g = nn_graph_new(1 << 20);
    nn_tensor *leaves[FD_MAX_INPUTS];
    float *w = NULL, *grads[FD_MAX_INPUTS] = {0}, *pgrad = NULL;
    if (params) nn_params_zero_grad(params);
    eval(g, f, ctx, in, leaves, &w, 1);
    // keep the analytic gradients before the graph is reused
    for (int i = 0; i < in->k; i++) {
        size_t n = (size_t)in->n[i] * in->d[i];
        grads[i] = nn_malloc(sizeof(float) * n);
        if (leaves[i]->g) memcpy(grads[i], leaves[i]->g, sizeof(float) * n);
    }
    if (params) {
        pgrad = nn_malloc(sizeof(float) * params->count);
        memcpy(pgrad, params->grads, sizeof(float) * params->count);
    }
    double worst = 0.0;
    char arr[128];
    for (int i = 0; i < in->k; i++) {
        snprintf(arr, sizeof arr, "input%d", i);
        size_t n = (size_t)in->n[i] * in->d[i];
        for (size_t j = 0; j < n; j++)
            worst = fmax(worst, check_one(what, arr, j, &in->data[i][j], grads[i][j], g, f, ctx, in, leaves, &w, tol));
    }
    for (int t = 0; params && t < params->n; t++) {
        nn_param *e = &params->list[t];
        size_t n = (size_t)e->t.n * e->t.d, stride = n > 64 ? n / 64 : 1;  // at most ~64 samples a tensor
        for (size_t j = 0; j < n; j += stride)
            worst = fmax(worst, check_one(what, e->name, j, &params->values[e->offset + j], pgrad[e->offset + j], g,
                                          f, ctx, in, leaves, &w, tol));
    }
    for (int i = 0; i < in->k; i++) nn_free(grads[i]);
    nn_free(pgrad);
    nn_free(w);
    nn_graph_free(g);
    return worst;
}
