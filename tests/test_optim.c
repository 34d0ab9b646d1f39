// Adam, clipping, NaN checks, schedules; MLP gradients and training; thread-count determinism;
// the running normaliser.
#include <math.h>
#include <string.h>

#include "../nn/common.h"
#include "../nn/mlp.h"
#include "../nn/normalizer.h"
#include "../nn/optim.h"
#include "gradcheck.h"
#include "test.h"

TEST(adam_matches_reference) {
    // one tensor of 3 values, 5 steps, betas (0.7, 0.95), weight decay 0.01, against the
    // textbook algorithm written out in double
    nn_params p;
    nn_params_init(&p, 0);
    nn_tensor *w = nn_params_add(&p, "w", 1, 3);
    nn_params_alloc(&p);
    double x[3] = {1.0, -2.0, 0.5}, m[3] = {0}, v[3] = {0};
    for (int i = 0; i < 3; i++) w->x[i] = (float)x[i];
    nn_adam opt = {.beta1 = 0.7f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.01f};
    double lr = 0.05, b1 = 0.7, b2 = 0.95;
    for (int t = 1; t <= 5; t++) {
        for (int i = 0; i < 3; i++) {
            double g = sin(3.0 * t + i) + 0.01 * x[i];
            w->g[i] = (float)sin(3.0 * t + i);
            m[i] = b1 * m[i] + (1 - b1) * g;
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            x[i] -= lr * (m[i] / (1 - pow(b1, t))) / (sqrt(v[i] / (1 - pow(b2, t))) + 1e-8);
        }
        nn_adam_step(&opt, &p, (float)lr);
    }
    for (int i = 0; i < 3; i++) CHECK_CLOSE(w->x[i], x[i], 1e-5, 1e-6);
    CHECK(opt.step == 5, "step count %ld", opt.step);
    nn_params_free(&p);
}

TEST(clip_and_nonfinite) {
    nn_params p;
    nn_params_init(&p, 0);
    nn_tensor *a = nn_params_add(&p, "a", 2, 2), *b = nn_params_add(&p, "b.weight", 1, 3);
    nn_params_alloc(&p);
    float ga[4] = {3, 0, 0, 0}, gb[3] = {0, 4, 0};
    memcpy(a->g, ga, sizeof ga);
    memcpy(b->g, gb, sizeof gb);
    CHECK_CLOSE(nn_grad_norm(&p), 5.0, 1e-7, 0);
    CHECK_CLOSE(nn_clip_grad_norm(&p, 10.0), 5.0, 1e-7, 0);
    CHECK(a->g[0] == 3.0f, "a norm under the limit was changed");
    CHECK_CLOSE(nn_clip_grad_norm(&p, 1.0), 5.0, 1e-7, 0);
    CHECK_CLOSE(nn_grad_norm(&p), 1.0, 1e-5, 0);
    CHECK(nn_grad_nonfinite(&p) == NULL, "finite gradients reported as non-finite");
    b->g[2] = NAN;
    b->g[0] = INFINITY;
    const char *bad = nn_grad_nonfinite(&p);
    CHECK(bad && !strcmp(bad, "b.weight"), "non-finite tensor named %s", bad ? bad : "(none)");
    CHECK(nn_grad_nan_to_num(&p) == 2 && b->g[2] == 0.0f && b->g[0] > 1e38f, "nan_to_num");
    CHECK_CLOSE(nn_lr_linear(1e-3f, 1e-5f, 0, 100), 1e-3, 1e-6, 0);
    CHECK_CLOSE(nn_lr_linear(1e-3f, 1e-5f, 50, 100), 5.05e-4, 1e-6, 0);
    CHECK_CLOSE(nn_lr_linear(1e-3f, 1e-5f, 200, 100), 1e-5, 1e-6, 0);
    nn_params_free(&p);
}

// ---- MLP gradients ----

typedef struct {
    nn_mlp m;
} mlp_ctx;

static nn_tensor *b_mlp(nn_graph *g, nn_tensor **in, void *ctx) { return nn_mlp_forward(g, &((mlp_ctx *)ctx)->m, in[0]); }

TEST(mlp_gradients) {
    nn_mlp_spec specs[] = {
        {.in = 5, .out = 16, .n_hidden = 2, .hidden = {12, 10}, .act = NN_ACT_MISH, .block = NN_BLOCK_NORM_ACT,
         .layernorm = 1, .out_kind = NN_OUT_SIMNORM, .simnorm_group = 8},
        {.in = 5, .out = 3, .n_hidden = 2, .hidden = {12, 10}, .act = NN_ACT_ELU, .block = NN_BLOCK_ACT_NORM,
         .layernorm = 1, .out_kind = NN_OUT_LINEAR},
        {.in = 5, .out = 4, .n_hidden = 1, .hidden = {9}, .act = NN_ACT_TANH, .block = NN_BLOCK_NORM_ACT,
         .layernorm = 0, .out_kind = NN_OUT_LINEAR},
    };
    for (int s = 0; s < 3; s++) {
        nn_params p;
        nn_params_init(&p, 0);
        mlp_ctx ctx;
        nn_mlp_declare(&ctx.m, &p, "net", &specs[s]);
        nn_params_alloc(&p);
        nn_rng r;
        nn_rng_init(&r, 3, 0);
        nn_mlp_init(&ctx.m, NN_INIT_TORCH, 0, &r);
        // perturb LayerNorm affine parameters so their gradients are not trivially symmetric
        for (int t = 0; t < p.n; t++)
            if (strstr(p.list[t].name, ".ln."))
                for (int i = 0; i < p.list[t].t.d; i++) p.list[t].t.x[i] += 0.3f * (nn_rng_uniform(&r) - 0.5f);
        float x[4 * 5];
        fd_fill(x, 20, -1, 1, 11);
        fd_inputs in = {.k = 1, .n = {4}, .d = {5}, .data = {x}};
        fd_check("mlp", b_mlp, &ctx, &in, &p, FD_TOL);
        nn_params_free(&p);
    }
}

TEST(mlp_frozen_still_gives_input_gradients) {
    nn_params p;
    nn_params_init(&p, 0);
    nn_mlp m;
    nn_mlp_spec spec = {.in = 3, .out = 2, .n_hidden = 1, .hidden = {8}, .act = NN_ACT_MISH, .layernorm = 1};
    nn_mlp_declare(&m, &p, "f", &spec);
    nn_params_alloc(&p);
    nn_rng r;
    nn_rng_init(&r, 4, 0);
    nn_mlp_init(&m, NN_INIT_TORCH, 0, &r);
    nn_params_set_frozen(&p, 1);
    nn_graph *g = nn_graph_new(0);
    float xv[6] = {0.1f, 0.2f, -0.3f, 0.5f, -1, 2};
    nn_tensor *x = nn_tensor_from(g, xv, 2, 3, 1);
    nn_backward(g, nn_mean(g, nn_mlp_forward(g, &m, x)));
    double gp = nn_grad_norm(&p), gx = 0;
    for (int i = 0; i < 6; i++) gx += fabs(x->g[i]);
    CHECK(gp == 0.0 && gx > 0.0, "frozen model: param grad norm %g, input grad sum %g", gp, gx);
    nn_graph_free(g);
    nn_params_free(&p);
}

// ---- training ----

// fit y = sin(2·x0)·cos(x1) on [−1, 1]² with an MLP and Adam; returns the final loss and copies
// the parameters into out (if non-NULL)
static double fit(int threads, int steps, int width, int batch, float *out, size_t *count) {
    nn_set_threads(threads);
    nn_params p;
    nn_params_init(&p, 0);
    nn_mlp m;
    nn_mlp_spec spec = {.in = 2, .out = 1, .n_hidden = 2, .hidden = {width, width}, .act = NN_ACT_MISH,
                        .block = NN_BLOCK_NORM_ACT, .layernorm = 1};
    nn_mlp_declare(&m, &p, "fit", &spec);
    nn_params_alloc(&p);
    nn_rng r;
    nn_rng_init(&r, 5, 0);
    nn_mlp_init(&m, NN_INIT_TORCH, 0, &r);
    nn_adam opt = nn_adam_default();
    nn_graph *g = nn_graph_new(0);
    float *xs = nn_malloc(sizeof(float) * 2 * batch), *ys = nn_malloc(sizeof(float) * batch);
    double loss = 0;
    for (int it = 0; it < steps; it++) {
        for (int i = 0; i < batch; i++) {
            xs[2 * i] = 2 * nn_rng_uniform(&r) - 1;
            xs[2 * i + 1] = 2 * nn_rng_uniform(&r) - 1;
            ys[i] = sinf(2 * xs[2 * i]) * cosf(xs[2 * i + 1]);
        }
        nn_graph_reset(g);
        nn_params_zero_grad(&p);
        nn_tensor *pred = nn_mlp_forward(g, &m, nn_tensor_from(g, xs, batch, 2, 0));
        nn_tensor *l = nn_mean(g, nn_mse(g, pred, nn_tensor_from(g, ys, batch, 1, 0)));
        nn_backward(g, l);
        nn_clip_grad_norm(&p, 10.0);
        nn_adam_step(&opt, &p, nn_lr_linear(3e-3f, 3e-4f, it, steps));
        loss = 0.95 * loss + 0.05 * l->x[0];
        if (it == 0) loss = l->x[0];
    }
    if (out) memcpy(out, p.values, sizeof(float) * p.count);
    if (count) *count = p.count;
    nn_free(xs);
    nn_free(ys);
    nn_graph_free(g);
    nn_params_free(&p);
    nn_set_threads(0);
    return loss;
}

TEST(mlp_fits_a_function) {
    // the target's variance is about 0.19; the fit must explain more than 99.5% of it
    double loss = fit(0, 1500, 64, 128, NULL, NULL);
    CHECK(loss < 1e-3, "MLP failed to fit: smoothed MSE %g after 1500 steps", loss);
}

TEST(bitwise_same_with_1_and_2_threads) {
    // large enough that OpenBLAS and the OpenMP loops really split the work
    size_t count;
    fit(1, 1, 256, 256, NULL, &count);
    float *a = nn_malloc(sizeof(float) * count), *b = nn_malloc(sizeof(float) * count);
    fit(1, 20, 256, 256, a, NULL);
    fit(2, 20, 256, 256, b, NULL);
    CHECK(!memcmp(a, b, sizeof(float) * count), "1-thread and 2-thread training differ");
    nn_free(a);
    nn_free(b);
}

// ---- normaliser ----

static nn_tensor *b_rms(nn_graph *g, nn_tensor **in, void *ctx) { return nn_rms_apply(g, ctx, in[0]); }

TEST(normalizer) {
    enum { N = 300, D = 3 };
    static float x[N * D];
    fd_fill(x, N * D, -2, 5, 21);
    for (int i = 0; i < N; i++) x[i * D + 2] = 100 + 10 * x[i * D + 2];
    nn_rms all, parts;
    nn_rms_init(&all, D, 1e-5f, 0);
    nn_rms_init(&parts, D, 1e-5f, 5);
    nn_rms_update(&all, x, N);
    nn_rms_update(&parts, x, 100);
    nn_rms_update(&parts, x + 100 * D, 120);
    nn_rms_update(&parts, x + 220 * D, 80);
    for (int c = 0; c < D; c++) {
        double m = 0, v = 0;
        for (int i = 0; i < N; i++) m += x[i * D + c];
        m /= N;
        for (int i = 0; i < N; i++) v += (x[i * D + c] - m) * (x[i * D + c] - m);
        v /= N;
        // the initial pseudo-count 1e-4 (mean 0, var 1) shifts the result by ~1e-6 relative
        CHECK_CLOSE(all.mean[c], m, 1e-5, 1e-5);
        CHECK_CLOSE(all.var[c], v, 1e-4, 1e-5);
        CHECK_CLOSE(parts.mean[c], all.mean[c], 1e-5, 1e-5);
        CHECK_CLOSE(parts.var[c], all.var[c], 1e-4, 1e-5);
    }
    float y[N * D];
    nn_rms_normalize(&parts, y, x, N);
    for (int i = 0; i < N * D; i++) CHECK(fabsf(y[i]) <= 5.0f, "clip ±5 not applied: %g", y[i]);
    // the graph version gives the same values and correct gradients
    nn_graph *g = nn_graph_new(0);
    nn_tensor *t = nn_rms_apply(g, &parts, nn_tensor_from(g, x, N, D, 0));
    CHECK(!memcmp(t->x, y, sizeof y), "nn_rms_apply and nn_rms_normalize differ");
    nn_graph_free(g);
    fd_inputs in = {.k = 1, .n = {4}, .d = {D}, .data = {x}};
    fd_check("normalizer", b_rms, &parts, &in, NULL, FD_TOL);
    // scale-only: x / std with the mean tracked but not subtracted, both versions, and its inverse
    all.scale_only = 1, all.clip = 0;
    nn_rms_normalize(&all, y, x, N);
    g = nn_graph_new(0);
    t = nn_rms_apply(g, &all, nn_tensor_from(g, x, N, D, 0));
    for (int i = 0; i < N * D; i++) {
        int c = i % D;
        CHECK_CLOSE(y[i], x[i] / sqrt(all.var[c] + 1e-5), 1e-6, 1e-5);
        CHECK(t->x[i] == y[i], "scale-only: nn_rms_apply %g, nn_rms_normalize %g", t->x[i], y[i]);
        CHECK_CLOSE(nn_rms_unnormalize(&all, y[i], c), x[i], 1e-5, 1e-5);
    }
    nn_graph_free(g);
    fd_check("normalizer, scale-only", b_rms, &all, &in, NULL, FD_TOL);
    nn_rms_free(&all);
    nn_rms_free(&parts);
}

const test_case optim_tests[] = {
    {"adam_matches_reference", adam_matches_reference},
    {"clip_and_nonfinite", clip_and_nonfinite},
    {"mlp_gradients", mlp_gradients},
    {"mlp_frozen_still_gives_input_gradients", mlp_frozen_still_gives_input_gradients},
    {"mlp_fits_a_function", mlp_fits_a_function},
    {"bitwise_same_with_1_and_2_threads", bitwise_same_with_1_and_2_threads},
    {"normalizer", normalizer},
    {0},
};
