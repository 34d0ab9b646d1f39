// Every op's backward against central finite differences (tolerance: FD_TOL in gradcheck.h,
// eps 3e-3, |a − n| <= 1e-3 + 1e-2·max(|a|, |n|), unless a case states otherwise).
#include <math.h>
#include <string.h>

#include "../nn/common.h"
#include "../nn/graph.h"
#include "gradcheck.h"
#include "test.h"

// inputs: k arrays of the given shapes, filled with U(lo, hi)
static fd_inputs make_inputs(int k, const int *n, const int *d, float lo, float hi) {
    fd_inputs in = {.k = k};
    for (int i = 0; i < k; i++) {
        in.n[i] = n[i];
        in.d[i] = d[i];
        in.data[i] = nn_malloc(sizeof(float) * (size_t)n[i] * d[i]);
        fd_fill(in.data[i], (size_t)n[i] * d[i], lo, hi, 1234u + (unsigned)i);
    }
    return in;
}

static void free_inputs(fd_inputs *in) {
    for (int i = 0; i < in->k; i++) nn_free(in->data[i]);
}

// keep values at least margin away from 0 (kinks of relu, elu, clamp at 0)
static void push_from_zero(float *x, size_t n, float margin) {
    for (size_t i = 0; i < n; i++)
        if (fabsf(x[i]) < margin) x[i] = x[i] < 0 ? x[i] - margin : x[i] + margin;
}

static nn_tensor *b_linear(nn_graph *g, nn_tensor **in, void *ctx) { return nn_linear(g, in[0], in[1], in[2]); }
static nn_tensor *b_linear_nobias(nn_graph *g, nn_tensor **in, void *ctx) { return nn_linear(g, in[0], in[1], NULL); }

TEST(linear) {
    fd_inputs in = make_inputs(3, (int[]){5, 4, 1}, (int[]){7, 7, 4}, -1, 1);
    fd_check("linear", b_linear, NULL, &in, NULL, FD_TOL);
    in.k = 2;
    fd_check("linear without bias", b_linear_nobias, NULL, &in, NULL, FD_TOL);
    in.k = 3;
    free_inputs(&in);
}

TEST(linear_matches_naive) {
    // forward against a plain triple loop, at a size where OpenBLAS uses its threads
    int N = 64, C = 96, OC = 80;
    float *x = nn_malloc(sizeof(float) * N * C), *W = nn_malloc(sizeof(float) * OC * C), *b = nn_malloc(sizeof(float) * OC);
    float *y = nn_malloc(sizeof(float) * N * OC);
    fd_fill(x, (size_t)N * C, -1, 1, 1);
    fd_fill(W, (size_t)OC * C, -1, 1, 2);
    fd_fill(b, (size_t)OC, -1, 1, 3);
    linear_forward(y, x, W, b, N, C, OC);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            double s = b[o];
            for (int c = 0; c < C; c++) s += (double)x[n * C + c] * W[o * C + c];
            CHECK_CLOSE(y[n * OC + o], s, 1e-5, 1e-5);
        }
    nn_free(x), nn_free(W), nn_free(b), nn_free(y);
}

static nn_tensor *b_layernorm(nn_graph *g, nn_tensor **in, void *ctx) { return nn_layernorm(g, in[0], in[1], in[2]); }

TEST(layernorm) {
    fd_inputs in = make_inputs(3, (int[]){4, 1, 1}, (int[]){9, 9, 9}, -2, 2);
    fd_check("layernorm", b_layernorm, NULL, &in, NULL, FD_TOL);
    // the forward normalises: with w = 1, b = 0 each row has mean 0 and variance 1/(1 + eps/var)
    nn_graph *g = nn_graph_new(0);
    float one[9], zero[9] = {0};
    for (int i = 0; i < 9; i++) one[i] = 1.0f;
    nn_tensor *y = nn_layernorm(g, nn_tensor_from(g, in.data[0], 4, 9, 0), nn_tensor_from(g, one, 1, 9, 0),
                                nn_tensor_from(g, zero, 1, 9, 0));
    for (int r = 0; r < 4; r++) {
        double m = 0, v = 0;
        for (int c = 0; c < 9; c++) m += y->x[r * 9 + c];
        for (int c = 0; c < 9; c++) v += (y->x[r * 9 + c] - m / 9) * (y->x[r * 9 + c] - m / 9);
        CHECK_CLOSE(m / 9, 0.0, 0, 1e-6);
        CHECK_CLOSE(v / 9, 1.0, 1e-4, 0);
    }
    nn_graph_free(g);
    free_inputs(&in);
}

static nn_tensor *b_act(nn_graph *g, nn_tensor **in, void *ctx) { return nn_activation(g, in[0], *(nn_act *)ctx); }

TEST(activations) {
    fd_inputs in = make_inputs(1, (int[]){3}, (int[]){11}, -3, 3);
    push_from_zero(in.data[0], 33, 0.05f);
    for (nn_act a = NN_ACT_NONE; a <= NN_ACT_MISH; a++) fd_check(nn_act_name(a), b_act, &a, &in, NULL, FD_TOL);
    // mish at a few points against x·tanh(log(1+e^x)) in double
    float xs[] = {-30, -5, -1, 0, 0.5f, 3, 25}, ys[7];
    act_forward(ys, xs, 7, NN_ACT_MISH);
    for (int i = 0; i < 7; i++) CHECK_CLOSE(ys[i], xs[i] * tanh(log1p(exp((double)xs[i]))), 1e-6, 1e-7);
    CHECK(nn_act_parse("mish") == NN_ACT_MISH && nn_act_parse("swish") == -1, "nn_act_parse");
    free_inputs(&in);
}

static nn_tensor *b_softmax(nn_graph *g, nn_tensor **in, void *ctx) { return nn_softmax(g, in[0]); }
static nn_tensor *b_log_softmax(nn_graph *g, nn_tensor **in, void *ctx) { return nn_log_softmax(g, in[0]); }
static nn_tensor *b_simnorm(nn_graph *g, nn_tensor **in, void *ctx) { return nn_simnorm(g, in[0], 8); }

TEST(softmax_family) {
    fd_inputs in = make_inputs(1, (int[]){3}, (int[]){16}, -3, 3);
    fd_check("softmax", b_softmax, NULL, &in, NULL, FD_TOL);
    fd_check("log_softmax", b_log_softmax, NULL, &in, NULL, FD_TOL);
    fd_check("simnorm", b_simnorm, NULL, &in, NULL, FD_TOL);
    // simnorm: every group of 8 sums to 1
    nn_graph *g = nn_graph_new(0);
    nn_tensor *y = nn_simnorm(g, nn_tensor_from(g, in.data[0], 3, 16, 0), 8);
    for (int grp = 0; grp < 6; grp++) {
        double s = 0;
        for (int i = 0; i < 8; i++) s += y->x[grp * 8 + i];
        CHECK_CLOSE(s, 1.0, 1e-6, 0);
    }
    nn_graph_free(g);
    free_inputs(&in);
}

static nn_tensor *b_symlog(nn_graph *g, nn_tensor **in, void *ctx) { return nn_symlog(g, in[0]); }
static nn_tensor *b_symexp(nn_graph *g, nn_tensor **in, void *ctx) { return nn_symexp(g, in[0]); }

TEST(symlog_symexp) {
    fd_inputs in = make_inputs(1, (int[]){2}, (int[]){10}, -4, 4);
    push_from_zero(in.data[0], 20, 0.05f);
    fd_check("symlog", b_symlog, NULL, &in, NULL, FD_TOL);
    fd_check("symexp", b_symexp, NULL, &in, NULL, FD_TOL);
    // inverse pair
    float x[4] = {-1000, -0.3f, 0, 77}, y[4], z[4];
    symlog_forward(y, x, 4);
    symexp_forward(z, y, 4);
    for (int i = 0; i < 4; i++) CHECK_CLOSE(z[i], x[i], 1e-5, 1e-6);
    free_inputs(&in);
}

static nn_tensor *b_two_hot(nn_graph *g, nn_tensor **in, void *ctx) { return nn_two_hot(g, in[0], NN_BINS_DEFAULT); }
static nn_tensor *b_expect(nn_graph *g, nn_tensor **in, void *ctx) { return nn_two_hot_expect(g, in[0], NN_BINS_DEFAULT); }
static nn_tensor *b_inv(nn_graph *g, nn_tensor **in, void *ctx) { return nn_two_hot_inv(g, in[0], NN_BINS_DEFAULT); }

TEST(two_hot) {
    // values placed inside bins (20–80% of the way), away from the kinks at bin edges
    nn_bins b = NN_BINS_DEFAULT;
    float x[12];
    for (int i = 0; i < 12; i++) {
        float s = b.vmin + 0.2f * ((float)(38 + 2 * i) + 0.2f + 0.05f * (float)i);
        x[i] = copysignf(expm1f(fabsf(s)), s);
    }
    fd_inputs in = {.k = 1, .n = {12}, .d = {1}, .data = {x}};
    fd_check("two_hot", b_two_hot, NULL, &in, NULL, (fd_tol){1e-2f, 1e-2f, 1e-3f});
    // encoding is exact: weights sum to 1 and decode back through the bins
    float enc[12 * 101], s[12];
    two_hot_forward(enc, x, 12, b);
    symlog_forward(s, x, 12);
    for (int i = 0; i < 12; i++) {
        double tot = 0, e = 0;
        for (int k = 0; k < 101; k++) {
            tot += enc[i * 101 + k];
            e += enc[i * 101 + k] * (b.vmin + 0.2 * k);
        }
        CHECK_CLOSE(tot, 1.0, 1e-6, 0);
        CHECK_CLOSE(e, s[i], 1e-5, 1e-5);
    }
    // the clamp: values beyond ±symexp(10) land on the end bins
    float big[2] = {1e6f, -1e6f}, eb[202];
    two_hot_forward(eb, big, 2, b);
    CHECK(eb[100] == 1.0f && eb[101] == 1.0f, "clamped two-hot not on the end bins");

    fd_inputs lg = make_inputs(1, (int[]){3}, (int[]){101}, -2, 2);
    fd_check("two_hot_expect", b_expect, NULL, &lg, NULL, FD_TOL);
    fd_check("two_hot_inv", b_inv, NULL, &lg, NULL, FD_TOL);
    free_inputs(&lg);
}

static nn_tensor *b_soft_ce(nn_graph *g, nn_tensor **in, void *ctx) { return nn_soft_ce(g, in[0], in[1]); }
static nn_tensor *b_mse(nn_graph *g, nn_tensor **in, void *ctx) { return nn_mse(g, in[0], in[1]); }

TEST(losses) {
    fd_inputs in = make_inputs(2, (int[]){4, 4}, (int[]){6, 6}, 0, 1);
    fd_check("soft_ce", b_soft_ce, NULL, &in, NULL, FD_TOL);
    fd_check("mse", b_mse, NULL, &in, NULL, FD_TOL);
    // soft CE of a one-hot target is −log softmax at that class
    float logits[3] = {1, 2, 3}, target[3] = {0, 1, 0}, loss, logp[3];
    soft_ce_forward(&loss, logp, logits, target, 1, 3);
    CHECK_CLOSE(loss, -(2.0 - log(exp(1.0) + exp(2.0) + exp(3.0))), 1e-6, 0);
    free_inputs(&in);
}

static nn_tensor *b_concat(nn_graph *g, nn_tensor **in, void *ctx) { return nn_concat(g, in, 3); }
static nn_tensor *b_split(nn_graph *g, nn_tensor **in, void *ctx) {
    return nn_mul(g, nn_split(g, in[0], 2, 3), nn_split(g, in[0], 4, 3));  // overlapping slices
}
static nn_tensor *b_rows(nn_graph *g, nn_tensor **in, void *ctx) {
    return nn_mul(g, nn_rows(g, in[0], 0, 2), nn_rows(g, in[0], 1, 2));  // overlapping views
}

TEST(concat_split) {
    fd_inputs in = make_inputs(3, (int[]){3, 3, 3}, (int[]){2, 5, 1}, -1, 1);
    fd_check("concat", b_concat, NULL, &in, NULL, FD_TOL);
    fd_inputs one = make_inputs(1, (int[]){3}, (int[]){8}, -1, 1);
    fd_check("split", b_split, NULL, &one, NULL, FD_TOL);
    fd_check("rows", b_rows, NULL, &one, NULL, FD_TOL);
    free_inputs(&in);
    free_inputs(&one);
}

static nn_tensor *b_arith(nn_graph *g, nn_tensor **in, void *ctx) {
    // full, row-broadcast (1×d), column-broadcast (n×1) and scalar operands
    nn_tensor *y = nn_add(g, in[0], in[1]);
    y = nn_mul(g, y, in[2]);
    y = nn_sub(g, y, in[3]);
    y = nn_mul(g, y, in[4]);
    y = nn_add(g, nn_scale(g, y, -1.5f), in[0]);
    return nn_clamp(g, y, -0.9f, 0.9f);
}

static void custom_square_bwd(nn_graph *g, void *ctx, nn_tensor *out, nn_tensor **in) {
    float *dx = nn_grad(g, in[0]);
    for (int i = 0; i < out->n * out->d; i++) dx[i] += out->g[i] * 2.0f * in[0]->x[i];
}

static nn_tensor *b_exp_custom(nn_graph *g, nn_tensor **in, void *ctx) {
    // a caller-defined op (x²) between two library ops
    nn_tensor *x = nn_exp(g, in[0]);
    nn_tensor *y = nn_custom(g, x->n, x->d, &x, 1, custom_square_bwd, NULL);
    for (int i = 0; i < x->n * x->d; i++) y->x[i] = x->x[i] * x->x[i];
    return nn_scale(g, y, 0.5f);
}

static nn_tensor *b_reduce(nn_graph *g, nn_tensor **in, void *ctx) {
    return nn_add(g, nn_sum_cols(g, in[0]), nn_mean(g, in[0]));
}

TEST(arithmetic) {
    fd_inputs in = make_inputs(5, (int[]){4, 4, 1, 4, 1}, (int[]){3, 3, 3, 1, 1}, -1, 1);
    fd_check("add/sub/mul/scale/clamp", b_arith, NULL, &in, NULL, FD_TOL);
    fd_check("sum_cols/mean", b_reduce, NULL, &in, NULL, FD_TOL);
    fd_check("exp/custom", b_exp_custom, NULL, &in, NULL, FD_TOL);
    free_inputs(&in);
}

TEST(detach_and_no_grad) {
    nn_graph *g = nn_graph_new(0);
    float v[4] = {1, 2, 3, 4};
    nn_tensor *x = nn_tensor_from(g, v, 2, 2, 1);
    // y = x·detach(x): dy/dx = detach(x) only
    nn_tensor *y = nn_mean(g, nn_mul(g, x, nn_detach(g, x)));
    nn_backward(g, y);
    for (int i = 0; i < 4; i++) CHECK_CLOSE(x->g[i], v[i] / 4.0f, 1e-6, 0);
    // no_grad records nothing: the output needs no gradient
    nn_graph_set_no_grad(g, 1);
    nn_tensor *z = nn_scale(g, x, 2.0f);
    CHECK(!z->requires_grad, "no_grad output requires a gradient");
    nn_graph_free(g);
}

TEST(arena_reuse) {
    // a second identical pass allocates nothing new
    nn_graph *g = nn_graph_new(4096);
    float v[64 * 32];
    fd_fill(v, 64 * 32, -1, 1, 5);
    size_t bytes[3];
    for (int pass = 0; pass < 3; pass++) {
        nn_graph_reset(g);
        nn_tensor *x = nn_tensor_from(g, v, 64, 32, 1);
        for (int i = 0; i < 20; i++) x = nn_activation(g, nn_scale(g, x, 0.9f), NN_ACT_TANH);
        nn_backward(g, nn_mean(g, x));
        bytes[pass] = nn_graph_bytes(g);
    }
    CHECK(bytes[1] == bytes[0] && bytes[2] == bytes[0], "arena grew: %zu, %zu, %zu", bytes[0], bytes[1], bytes[2]);
    nn_graph_free(g);
}

const test_case ops_tests[] = {
    {"linear", linear},
    {"linear_matches_naive", linear_matches_naive},
    {"layernorm", layernorm},
    {"activations", activations},
    {"softmax_family", softmax_family},
    {"symlog_symexp", symlog_symexp},
    {"two_hot", two_hot},
    {"losses", losses},
    {"concat_split", concat_split},
    {"arithmetic", arithmetic},
    {"detach_and_no_grad", detach_and_no_grad},
    {"arena_reuse", arena_reuse},
    {0},
};
