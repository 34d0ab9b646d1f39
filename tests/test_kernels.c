// What the CPU can check of the CUDA backend (nn/cuda/): the row-major → column-major mapping of
// every cuBLAS call, through a column-major stand-in with cuBLAS's argument convention, against
// nn_sgemm; and the kernels' rows run in the GPU's order (one thread, sums in index order: this
// file compiles nn/kernels.h with its OpenMP hints off) against the CPU ops.
#define NN_PRAGMA(x)
#include "../nn/kernels.h"

#include <string.h>

#include "../nn/arena.h"
#include "../nn/common.h"
#include "../nn/rng.h"
#include "gradcheck.h"
#include "test.h"

// cublasSgemm's semantics on the CPU: column-major C(m,n) = alpha·op(A)(m,k)·op(B)(k,n) + beta·C,
// op(A)(i,l) = A[i + l·lda], or A[l + i·lda] when transposed
static void colmajor_sgemm(const nn_k_colmajor_gemm *g, float alpha, float beta, float *C, int ldc) {
    for (int j = 0; j < g->n; j++)
        for (int i = 0; i < g->m; i++) {
            double s = 0.0;
            for (int l = 0; l < g->k; l++) {
                float a = g->trans_a ? g->A[l + (size_t)i * g->lda] : g->A[i + (size_t)l * g->lda];
                float b = g->trans_b ? g->B[j + (size_t)l * g->ldb] : g->B[l + (size_t)j * g->ldb];
                s += (double)a * b;
            }
            float *c = C + i + (size_t)j * ldc;
            *c = (float)(alpha * s + (beta != 0.0f ? beta * *c : 0.0));
        }
}

TEST(cublas_mapping_matches_nn_sgemm) {
    // every transpose pair, odd sizes, padded leading dimensions, alpha and beta both in play; and
    // the three shapes linear_forward / linear_backward use
    int M = 37, N = 21, K = 53, pad = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
            size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb, nc = (size_t)M * ldc;
            float *A = nn_malloc(sizeof(float) * na), *B = nn_malloc(sizeof(float) * nb);
            float *C1 = nn_malloc(sizeof(float) * nc), *C2 = nn_malloc(sizeof(float) * nc);
            fd_fill(A, na, -1, 1, 1), fd_fill(B, nb, -1, 1, 2), fd_fill(C1, nc, -1, 1, 3);
            memcpy(C2, C1, sizeof(float) * nc);
            nn_sgemm(ta, tb, M, N, K, 0.75f, A, lda, B, ldb, 0.5f, C1, ldc);
            nn_k_colmajor_gemm g = nn_k_gemm_to_colmajor(ta, tb, M, N, K, A, lda, B, ldb);
            colmajor_sgemm(&g, 0.75f, 0.5f, C2, ldc);
            for (int r = 0; r < M; r++)
                for (int c = 0; c < N; c++)
                    CHECK_CLOSE(C1[(size_t)r * ldc + c], C2[(size_t)r * ldc + c], 1e-5, 1e-5);
            // the padding between rows stays untouched
            for (int r = 0; r < M; r++)
                CHECK(C1[(size_t)r * ldc + N] == C2[(size_t)r * ldc + N], "trans %d%d: padding written", ta, tb);
            nn_free(A), nn_free(B), nn_free(C1), nn_free(C2);
        }
}

// one matrix of N×C filled from a seed
static float *filled(int N, int C, float lo, float hi, unsigned seed) {
    float *x = nn_malloc(sizeof(float) * (size_t)N * C);
    fd_fill(x, (size_t)N * C, lo, hi, seed);
    return x;
}

static void check_close_all(const char *what, const float *a, const float *b, size_t n, double rtol, double atol) {
    for (size_t i = 0; i < n; i++)
        CHECK(fabs((double)a[i] - b[i]) <= atol + rtol * fmax(fabs(a[i]), fabs(b[i])), "%s[%zu]: %.9g vs %.9g", what, i,
              (double)a[i], (double)b[i]);
}

TEST(gpu_order_rows_match_cpu_ops) {
    // the fused LayerNorm → Mish and → SimNorm rows as a GPU thread runs them (layernorm_act_k,
    // layernorm_act_dx_k and affine_grads_k of nn/cuda/ops.cu), against the CPU's fused op
    int N = 33, C = 520;
    float *h = filled(N, C, -3, 3, 5), *dout = filled(N, C, -1, 1, 6), *w = filled(1, C, 0.5f, 1.5f, 7);
    float *b = filled(1, C, -0.5f, 0.5f, 8);
    size_t nc = (size_t)N * C;
    float *y[2], *ln[2], *mean[2], *rstd[2], *dinp[2], *gln[2], *dw[2], *db[2], *dbias[2];
    for (int k = 0; k < 2; k++) {
        y[k] = nn_malloc(sizeof(float) * nc), ln[k] = nn_malloc(sizeof(float) * nc);
        dinp[k] = nn_malloc(sizeof(float) * nc), gln[k] = nn_malloc(sizeof(float) * nc);
        mean[k] = nn_malloc(sizeof(float) * N), rstd[k] = nn_malloc(sizeof(float) * N);
        dw[k] = nn_malloc(sizeof(float) * C), db[k] = nn_malloc(sizeof(float) * C), dbias[k] = nn_malloc(sizeof(float) * C);
    }
    for (int group = 0; group <= 8; group += 8) {
        for (int k = 0; k < 2; k++) memset(dw[k], 0, sizeof(float) * C), memset(db[k], 0, sizeof(float) * C),
                                    memset(dbias[k], 0, sizeof(float) * C);
        layernorm_act_forward(y[0], ln[0], mean[0], rstd[0], h, w, b, N, C, NN_ACT_MISH, group);
        layernorm_act_backward(dinp[0], dw[0], db[0], dbias[0], gln[0], dout, h, ln[0], y[0], w, mean[0], rstd[0], N, C,
                               NN_ACT_MISH, group);
        for (int n = 0; n < N; n++) {
            size_t o = (size_t)n * C;
            nn_k_ln_row_forward(ln[1] + o, mean[1] + n, rstd[1] + n, h + o, w, b, C);
            if (group)
                for (int c = 0; c < C; c += group) nn_k_softmax_row(y[1] + o + c, ln[1] + o + c, group);
            else
                nn_k_act_row(y[1] + o, ln[1] + o, C, NN_ACT_MISH);
            if (group)
                for (int c = 0; c < C; c += group)
                    nn_k_softmax_row_backward(gln[1] + o + c, dout + o + c, y[1] + o + c, group, 0);
            else
                nn_k_act_row_backward(gln[1] + o, dout + o, ln[1] + o, y[1] + o, C, NN_ACT_MISH);
            nn_k_ln_row_backward(dinp[1] + o, gln[1] + o, h + o, w, mean[1][n], rstd[1][n], C, 0);
        }
        for (int c = 0; c < C; c++)
            for (int n = 0; n < N; n++) {
                size_t i = (size_t)n * C + c;
                dw[1][c] += gln[1][i] * (h[i] - mean[1][n]) * rstd[1][n];
                db[1][c] += gln[1][i];
                dbias[1][c] += dinp[1][i];
            }
        check_close_all("out", y[0], y[1], nc, 1e-5, 1e-6);
        check_close_all("mean", mean[0], mean[1], (size_t)N, 1e-5, 1e-6);
        check_close_all("rstd", rstd[0], rstd[1], (size_t)N, 1e-5, 1e-6);
        check_close_all("dinp", dinp[0], dinp[1], nc, 1e-4, 1e-5);
        check_close_all("dw", dw[0], dw[1], (size_t)C, 1e-4, 1e-5);
        check_close_all("db", db[0], db[1], (size_t)C, 1e-4, 1e-5);
        check_close_all("dbias", dbias[0], dbias[1], (size_t)C, 1e-4, 1e-5);
    }
    for (int k = 0; k < 2; k++) {
        float *p[] = {y[k], ln[k], mean[k], rstd[k], dinp[k], gln[k], dw[k], db[k], dbias[k]};
        for (int i = 0; i < 9; i++) nn_free(p[i]);
    }
    nn_free(h), nn_free(dout), nn_free(w), nn_free(b);
}

TEST(gpu_order_log_softmax_matches_cpu) {
    int N = 17, C = 101;
    float *x = filled(N, C, -5, 5, 9), *a = filled(N, C, 0, 0, 1), *b2 = filled(N, C, 0, 0, 1);
    log_softmax_forward(a, x, N, C);
    for (int n = 0; n < N; n++) nn_k_log_softmax_row(b2 + (size_t)n * C, x + (size_t)n * C, C);
    check_close_all("log_softmax", a, b2, (size_t)N * C, 1e-5, 1e-6);
    nn_free(x), nn_free(a), nn_free(b2);
}

// the arena's pieces against a byte map of the region: each piece aligned, inside the region and
// overlapping no other live piece
static void check_pieces(const nn_arena *a, unsigned char *map) {
    memset(map, 0, a->size);
    size_t live = 0;
    for (int i = 0; i < a->n; i++) {
        CHECK(a->off[i] % a->align == 0 && a->len[i] % a->align == 0, "piece %d unaligned", i);
        CHECK(a->off[i] + a->len[i] <= a->size && a->off[i] + a->len[i] <= a->high, "piece %d past the end", i);
        CHECK(i == 0 || a->off[i - 1] < a->off[i], "pieces out of order at %d", i);
        for (size_t b = a->off[i]; b < a->off[i] + a->len[i]; b++) {
            CHECK(!map[b], "pieces overlap at byte %zu", b);
            map[b] = 1;
        }
        live += a->len[i];
    }
    CHECK(live == a->live, "live bytes %zu, the pieces hold %zu", a->live, live);
}

TEST(arena_reuses_freed_pieces) {
    // the device arena's bookkeeping (nn/arena.h, what nn/cuda/ops.cu hands out): a run's pattern
    // (parameters, a training graph that grows now and then, a gradient norm's scratch kept, an
    // evaluation graph made and freed again and again) keeps the high-water mark flat; random
    // takes and gives never overlap; a full arena says so; a piece given twice is refused
    nn_arena a;
    nn_arena_init(&a, 1 << 20, 256);
    unsigned char *map = nn_malloc(a.size);
    size_t params = nn_arena_take(&a, 100000), train = nn_arena_take(&a, 65536), scratch = nn_arena_take(&a, 24);
    CHECK(params == 0 && train != NN_ARENA_NONE && scratch != NN_ARENA_NONE, "first pieces");
    size_t high = 0, grown = 0;
    for (int i = 0; i < 200; i++) {
        size_t eval = nn_arena_take(&a, 50000);
        CHECK(eval != NN_ARENA_NONE, "evaluation %d: the arena is full", i);
        if (i % 50 == 49) {
            grown += 4096;
            CHECK(nn_arena_take(&a, 4096) != NN_ARENA_NONE, "training block");
        }
        CHECK(nn_arena_give(&a, eval) == 0, "give evaluation %d", i);
        if (i == 0) high = a.high;
    }
    CHECK(a.high <= high + grown, "high water %zu after 200 evaluation graphs, %zu after the first", a.high, high);
    check_pieces(&a, map);
    CHECK(nn_arena_give(&a, scratch) == 0 && nn_arena_give(&a, scratch) == -1, "a piece given twice was taken back");
    CHECK(nn_arena_give(&a, params + 256) == -1, "a pointer inside a piece was taken back");
    nn_arena_free(&a);
    // random takes and gives of random sizes
    nn_arena_init(&a, 1 << 20, 256);
    nn_rng r;
    nn_rng_init(&r, 7, 0);
    size_t held[64];
    int nheld = 0;
    for (int i = 0; i < 3000; i++) {
        if (nheld == 64 || (nheld && nn_rng_uniform(&r) < 0.45)) {
            int k = (int)(nn_rng_u32(&r) % (unsigned)nheld);
            CHECK(nn_arena_give(&a, held[k]) == 0, "give %d", i);
            held[k] = held[--nheld];
        } else {
            size_t off = nn_arena_take(&a, 1 + nn_rng_u32(&r) % 40000);
            if (off != NN_ARENA_NONE) held[nheld++] = off;
        }
        if (i % 100 == 0) check_pieces(&a, map);
    }
    check_pieces(&a, map);
    while (nheld) CHECK(nn_arena_give(&a, held[--nheld]) == 0, "give back");
    CHECK(a.live == 0 && a.n == 0, "everything given back: %zu bytes live", a.live);
    // the whole region in one piece, then nothing more; a zero-byte piece takes one unit
    CHECK(nn_arena_take(&a, a.size) == 0 && nn_arena_take(&a, 1) == NN_ARENA_NONE, "a full arena");
    CHECK(nn_arena_give(&a, 0) == 0 && nn_arena_take(&a, (size_t)-100) == NN_ARENA_NONE, "an impossible size");
    CHECK(nn_arena_take(&a, 0) == 0 && a.live == 256, "a zero-byte piece");
    nn_arena_free(&a);
    nn_free(map);
}

const test_case kernels_tests[] = {
    {"cublas_mapping_matches_nn_sgemm", cublas_mapping_matches_nn_sgemm},
    {"gpu_order_rows_match_cpu_ops", gpu_order_rows_match_cpu_ops},
    {"gpu_order_log_softmax_matches_cpu", gpu_order_log_softmax_matches_cpu},
    {"arena_reuses_freed_pieces", arena_reuses_freed_pieces},
    {0},
};
