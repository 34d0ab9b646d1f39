// The fused CPU kernels against the unfused ops they replace (bitwise, as ops.h promises) and
// against finite differences: Linear → LayerNorm → act/SimNorm (ops.h: layernorm_act_*, graph.h:
// nn_linear_norm_act, used by nn_mlp_forward), Adam with the clip factor folded in, and the
// gradient norm; each also bitwise the same on 1 and 2 threads.
#include <math.h>
#include <string.h>

#include "../nn/common.h"
#include "../nn/graph.h"
#include "../nn/mlp.h"
#include "../nn/optim.h"
#include "gradcheck.h"
#include "test.h"

// the post-ops under test: each activation, then SimNorm over groups of 8
static const struct {
    nn_act act;
    int group;
} posts[] = {{NN_ACT_MISH, 0}, {NN_ACT_RELU, 0}, {NN_ACT_ELU, 0}, {NN_ACT_TANH, 0}, {NN_ACT_NONE, 0}, {NN_ACT_NONE, 8}};
#define NPOSTS (int)(sizeof posts / sizeof posts[0])

// all outputs of the fused kernels for one post-op, on the current thread count
typedef struct {
    float *out, *ln, *mean, *rstd, *dinp, *gln, *dw, *db, *dbias;
} fused_run;

static void fused_run_alloc(fused_run *r, int N, int C) {
    size_t nc = sizeof(float) * (size_t)N * C;
    *r = (fused_run){nn_malloc(nc), nn_malloc(nc), nn_malloc(sizeof(float) * N), nn_malloc(sizeof(float) * N),
                     nn_malloc(nc), nn_malloc(nc), nn_malloc(sizeof(float) * C), nn_malloc(sizeof(float) * C),
                     nn_malloc(sizeof(float) * C)};
}

static void fused_run_free(fused_run *r) {
    float *p[] = {r->out, r->ln, r->mean, r->rstd, r->dinp, r->gln, r->dw, r->db, r->dbias};
    for (int i = 0; i < 9; i++) nn_free(p[i]);
}

static void fused(fused_run *r, const float *h, const float *w, const float *b, const float *dout, int N, int C,
                  int post) {
    layernorm_act_forward(r->out, r->ln, r->mean, r->rstd, h, w, b, N, C, posts[post].act, posts[post].group);
    memset(r->dw, 0, sizeof(float) * C), memset(r->db, 0, sizeof(float) * C), memset(r->dbias, 0, sizeof(float) * C);
    layernorm_act_backward(r->dinp, r->dw, r->db, r->dbias, r->gln, dout, h, r->ln, r->out, w, r->mean, r->rstd, N, C,
                           posts[post].act, posts[post].group);
}

// the same through the unfused ops, into zeroed gradient buffers
static void unfused(fused_run *r, const float *h, const float *w, const float *b, const float *dout, int N, int C,
                    int post) {
    size_t nc = (size_t)N * C;
    layernorm_forward(r->ln, r->mean, r->rstd, h, w, b, N, C);
    if (posts[post].group) simnorm_forward(r->out, r->ln, N, C, posts[post].group);
    else act_forward(r->out, r->ln, nc, posts[post].act);
    memset(r->gln, 0, sizeof(float) * nc), memset(r->dinp, 0, sizeof(float) * nc);
    memset(r->dw, 0, sizeof(float) * C), memset(r->db, 0, sizeof(float) * C), memset(r->dbias, 0, sizeof(float) * C);
    if (posts[post].group) simnorm_backward(r->gln, dout, r->out, N, C, posts[post].group);
    else act_backward(r->gln, dout, r->ln, r->out, nc, posts[post].act);
    layernorm_backward(r->dinp, r->dw, r->db, r->gln, h, w, r->mean, r->rstd, N, C);
    linear_backward(NULL, NULL, r->dbias, r->dinp, NULL, NULL, N, 0, C);
}

static int same(const fused_run *a, const fused_run *b, int N, int C, const char **what) {
    size_t nc = sizeof(float) * (size_t)N * C, c = sizeof(float) * C;
    const struct { const char *name; const float *x, *y; size_t bytes; } parts[] = {
        {"out", a->out, b->out, nc},   {"ln", a->ln, b->ln, nc},       {"mean", a->mean, b->mean, sizeof(float) * N},
        {"dinp", a->dinp, b->dinp, nc}, {"gln", a->gln, b->gln, nc},   {"dw", a->dw, b->dw, c},
        {"db", a->db, b->db, c},       {"dbias", a->dbias, b->dbias, c}};
    for (int i = 0; i < 8; i++)
        if (memcmp(parts[i].x, parts[i].y, parts[i].bytes)) {
            *what = parts[i].name;
            return 0;
        }
    return 1;
}

TEST(layernorm_act_bitwise_as_unfused_and_over_threads) {
    // 300 rows (uneven over threads), 136 columns (two 64-column blocks and a partial one; 17 groups of 8)
    int N = 300, C = 136;
    float *h = nn_malloc(sizeof(float) * N * C), *dout = nn_malloc(sizeof(float) * N * C);
    float *w = nn_malloc(sizeof(float) * C), *b = nn_malloc(sizeof(float) * C);
    fd_fill(h, (size_t)N * C, -3, 3, 11);
    fd_fill(dout, (size_t)N * C, -1, 1, 12);
    fd_fill(w, (size_t)C, 0.5f, 1.5f, 13);
    fd_fill(b, (size_t)C, -0.5f, 0.5f, 14);
    fused_run f1, f2, u;
    fused_run_alloc(&f1, N, C), fused_run_alloc(&f2, N, C), fused_run_alloc(&u, N, C);
    for (int p = 0; p < NPOSTS; p++) {
        const char *what = "";
        unfused(&u, h, w, b, dout, N, C, p);
        nn_set_threads(1);
        fused(&f1, h, w, b, dout, N, C, p);
        nn_set_threads(2);
        fused(&f2, h, w, b, dout, N, C, p);
        nn_set_threads(0);
        CHECK(same(&f1, &u, N, C, &what), "%s (group %d): fused %s differs from the unfused ops",
              nn_act_name(posts[p].act), posts[p].group, what);
        CHECK(same(&f1, &f2, N, C, &what), "%s (group %d): fused %s differs between 1 and 2 threads",
              nn_act_name(posts[p].act), posts[p].group, what);
    }
    fused_run_free(&f1), fused_run_free(&f2), fused_run_free(&u);
    nn_free(h), nn_free(dout), nn_free(w), nn_free(b);
}

static nn_tensor *b_lna(nn_graph *g, nn_tensor **in, void *ctx) {
    int p = *(int *)ctx;
    return nn_linear_norm_act(g, in[0], in[1], in[2], in[3], in[4], posts[p].act, posts[p].group);
}

TEST(linear_norm_act_finite_differences) {
    // x (5×7), W (16×7), b, ln_w, ln_b (1×16): every input's gradient against central differences
    for (int p = 0; p < NPOSTS; p++) {
        fd_inputs in = {.k = 5, .n = {5, 16, 1, 1, 1}, .d = {7, 7, 16, 16, 16}};
        for (int i = 0; i < 5; i++) {
            in.data[i] = nn_malloc(sizeof(float) * in.n[i] * in.d[i]);
            fd_fill(in.data[i], (size_t)in.n[i] * in.d[i], i == 3 ? 0.5f : -1, i == 3 ? 1.5f : 1, 40u + (unsigned)i);
        }
        // ReLU: a LayerNorm output within eps of its kink would spoil the differences; the
        // looser atol leaves room for one near it
        fd_tol tol = FD_TOL;
        if (posts[p].act == NN_ACT_RELU) tol.atol = 2e-3f;
        char what[64];
        snprintf(what, sizeof what, "linear_norm_act %s/%d", nn_act_name(posts[p].act), posts[p].group);
        fd_check(what, b_lna, &p, &in, NULL, tol);
        for (int i = 0; i < 5; i++) nn_free(in.data[i]);
    }
}

// the world model's block order by hand, with the unfused graph ops
static nn_tensor *mlp_unfused(nn_graph *g, const nn_mlp *m, nn_tensor *x) {
    for (int i = 0; i < m->n_layers; i++) {
        x = nn_linear(g, x, m->W[i], m->b[i]);
        if (i < m->n_layers - 1) x = nn_activation(g, nn_layernorm(g, x, m->ln_w[i], m->ln_b[i]), m->spec.act);
        else x = nn_simnorm(g, nn_layernorm(g, x, m->ln_w[i], m->ln_b[i]), m->spec.simnorm_group);
    }
    return x;
}

TEST(mlp_fused_bitwise_as_unfused) {
    // TD-MPC2's encoder shape: Linear → LN → Mish twice, then Linear → LN → SimNorm(8); values and
    // every parameter gradient must match the unfused graph bit for bit
    nn_params p;
    nn_params_init(&p, 0);
    nn_mlp m;
    nn_mlp_spec spec = {.in = 11, .out = 64, .n_hidden = 2, .hidden = {96, 80}, .act = NN_ACT_MISH,
                        .block = NN_BLOCK_NORM_ACT, .layernorm = 1, .out_kind = NN_OUT_SIMNORM, .simnorm_group = 8};
    nn_mlp_declare(&m, &p, "enc", &spec);
    nn_params_alloc(&p);
    nn_rng r;
    nn_rng_init(&r, 3, 0);
    nn_mlp_init(&m, NN_INIT_TORCH, 0, &r);
    int B = 200;
    float *x = nn_malloc(sizeof(float) * B * 11), *wy = nn_malloc(sizeof(float) * B * 64);
    fd_fill(x, (size_t)B * 11, -2, 2, 7);
    fd_fill(wy, (size_t)B * 64, -1, 1, 8);
    float *vals[2], *grads[2], *dx[2];
    for (int k = 0; k < 2; k++) {
        nn_graph *g = nn_graph_new(0);
        nn_params_zero_grad(&p);
        nn_tensor *in = nn_tensor_from(g, x, B, 11, 1);
        nn_tensor *y = k ? mlp_unfused(g, &m, in) : nn_mlp_forward(g, &m, in);
        nn_backward(g, nn_mean(g, nn_mul(g, y, nn_tensor_from(g, wy, B, 64, 0))));
        vals[k] = nn_malloc(sizeof(float) * B * 64), grads[k] = nn_malloc(sizeof(float) * p.count);
        dx[k] = nn_malloc(sizeof(float) * B * 11);
        memcpy(vals[k], y->x, sizeof(float) * B * 64);
        memcpy(grads[k], p.grads, sizeof(float) * p.count);
        memcpy(dx[k], in->g, sizeof(float) * B * 11);
        nn_graph_free(g);
    }
    CHECK(!memcmp(vals[0], vals[1], sizeof(float) * B * 64), "fused MLP output differs from the unfused ops");
    CHECK(!memcmp(grads[0], grads[1], sizeof(float) * p.count), "fused MLP parameter gradients differ");
    CHECK(!memcmp(dx[0], dx[1], sizeof(float) * B * 11), "fused MLP input gradient differs");
    for (int k = 0; k < 2; k++) nn_free(vals[k]), nn_free(grads[k]), nn_free(dx[k]);
    nn_free(x), nn_free(wy);
    nn_params_free(&p);
}

// two identical parameter sets of 40000 values (three norm chunks) with gradients of norm ~60
static void two_param_sets(nn_params *p, nn_params *q) {
    nn_params *s[2] = {p, q};
    for (int k = 0; k < 2; k++) {
        nn_params_init(s[k], 0);
        nn_params_add(s[k], "w", 200, 200);
        nn_params_add_vec(s[k], "b", 7);
        nn_params_alloc(s[k]);
        fd_fill(s[k]->values, s[k]->count, -1, 1, 21);
        fd_fill(s[k]->grads, s[k]->count, -0.5f, 0.5f, 22);
    }
}

TEST(clip_adam_bitwise_as_clip_then_adam) {
    // clipping active (max norm 5) and inactive (1e3); weight decay on; three steps
    double limits[2] = {5.0, 1e3};
    for (int l = 0; l < 2; l++) {
        nn_params p, q;
        two_param_sets(&p, &q);
        nn_adam a = nn_adam_default(), b = nn_adam_default();
        a.weight_decay = b.weight_decay = 0.01f;
        for (int it = 0; it < 3; it++) {
            nn_set_threads(1 + it % 2);
            double n1 = nn_clip_grad_norm(&p, limits[l]);
            nn_adam_step(&a, &p, 1e-3f);
            double n2 = nn_clip_adam_step(&b, &q, 1e-3f, limits[l]);
            CHECK(n1 == n2, "norms differ: %.17g vs %.17g", n1, n2);
            // fresh gradients for the next step, the same in both
            fd_fill(p.grads, p.count, -0.5f, 0.5f, 30u + (unsigned)it);
            memcpy(q.grads, p.grads, sizeof(float) * p.count);
        }
        nn_set_threads(0);
        CHECK(!memcmp(p.values, q.values, sizeof(float) * p.count), "max norm %g: parameters differ", limits[l]);
        CHECK(!memcmp(p.m, q.m, sizeof(float) * p.count) && !memcmp(p.v, q.v, sizeof(float) * p.count),
              "max norm %g: Adam moments differ", limits[l]);
        nn_params_free(&p), nn_params_free(&q);
    }
}

TEST(grad_norm_same_over_threads) {
    nn_params p, q;
    two_param_sets(&p, &q);
    double ref = 0;
    for (size_t i = 0; i < p.count; i++) ref += (double)p.grads[i] * p.grads[i];
    nn_set_threads(1);
    double n1 = nn_grad_norm(&p);
    nn_set_threads(2);
    double n2 = nn_grad_norm(&p);
    nn_set_threads(0);
    CHECK(n1 == n2, "grad norm differs between 1 and 2 threads: %.17g vs %.17g", n1, n2);
    CHECK_CLOSE(n1, sqrt(ref), 1e-12, 0);
    nn_params_free(&p), nn_params_free(&q);
}

const test_case fused_tests[] = {
    {"layernorm_act_bitwise_as_unfused_and_over_threads", layernorm_act_bitwise_as_unfused_and_over_threads},
    {"linear_norm_act_finite_differences", linear_norm_act_finite_differences},
    {"mlp_fused_bitwise_as_unfused", mlp_fused_bitwise_as_unfused},
    {"clip_adam_bitwise_as_clip_then_adam", clip_adam_bitwise_as_clip_then_adam},
    {"grad_norm_same_over_threads", grad_norm_same_over_threads},
    {0},
};
