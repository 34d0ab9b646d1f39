// Philox known answers, distribution moments, stream independence, and the initialisers.
#include <math.h>
#include <string.h>

#include "../nn/common.h"
#include "../nn/params.h"
#include "../nn/rng.h"
#include "test.h"

TEST(philox_known_answers) {
    // Random123's known-answer vectors for Philox4x32-10
    uint32_t out[4];
    nn_philox4x32((uint32_t[]){0, 0, 0, 0}, (uint32_t[]){0, 0}, out);
    CHECK(out[0] == 0x6627e8d5u && out[1] == 0xe169c58du && out[2] == 0xbc57ac4cu && out[3] == 0x9b00dbd8u,
          "philox(0, 0) = %08x %08x %08x %08x", out[0], out[1], out[2], out[3]);
    nn_philox4x32((uint32_t[]){0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                  (uint32_t[]){0xffffffffu, 0xffffffffu}, out);
    CHECK(out[0] == 0x408f276du && out[1] == 0x41c83b0eu && out[2] == 0xa20bc7c6u && out[3] == 0x6d5451fdu,
          "philox(ff.., ff..) = %08x %08x %08x %08x", out[0], out[1], out[2], out[3]);
}

TEST(moments) {
    nn_rng r;
    nn_rng_init(&r, 42, 0);
    int n = 200000;
    double su = 0, su2 = 0, sn = 0, sn2 = 0, st2 = 0;
    float tmax = 0;
    for (int i = 0; i < n; i++) {
        double u = nn_rng_uniform(&r), z = nn_rng_normal(&r), t = nn_rng_trunc_normal(&r, 0, 1, -2, 2);
        CHECK(u >= 0 && u < 1, "uniform out of [0, 1): %g", u);
        su += u, su2 += u * u, sn += z, sn2 += z * z, st2 += t * t;
        tmax = fmaxf(tmax, fabsf((float)t));
    }
    // 5-sigma bands for the sample size
    CHECK_CLOSE(su / n, 0.5, 0, 5 * sqrt(1.0 / 12 / n));
    CHECK_CLOSE(su2 / n - (su / n) * (su / n), 1.0 / 12, 0, 2e-3);
    CHECK_CLOSE(sn / n, 0.0, 0, 5 / sqrt(n));
    CHECK_CLOSE(sn2 / n, 1.0, 0, 0.02);
    // a standard normal truncated at ±2 has variance 1 − 2·2·φ(2)/(Φ(2) − Φ(−2)) = 0.7737
    CHECK_CLOSE(st2 / n, 0.77374, 0, 0.01);
    CHECK(tmax <= 2.0f, "truncated normal exceeded its bound: %g", tmax);
    CHECK_CLOSE(nn_erfinv(erf(0.3)), 0.3, 1e-12, 0);
    CHECK_CLOSE(nn_erfinv(erf(-2.5)), -2.5, 1e-10, 0);
}

TEST(streams_and_seeds) {
    // the same (seed, stream) repeats; other streams and seeds differ
    nn_rng a, b, c, d;
    nn_rng_init(&a, 7, 3);
    nn_rng_init(&b, 7, 3);
    nn_rng_init(&c, 7, 4);
    nn_rng_init(&d, 8, 3);
    int same_c = 0, same_d = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t x = nn_rng_u32(&a);
        CHECK(x == nn_rng_u32(&b), "same seed and stream diverged at %d", i);
        same_c += x == nn_rng_u32(&c);
        same_d += x == nn_rng_u32(&d);
    }
    CHECK(same_c < 3 && same_d < 3, "streams or seeds are not independent (%d, %d)", same_c, same_d);
}

TEST(init_orthogonal) {
    nn_rng r;
    nn_rng_init(&r, 1, 0);
    int shapes[2][2] = {{6, 10}, {12, 5}};
    for (int s = 0; s < 2; s++) {
        int rows = shapes[s][0], cols = shapes[s][1], k = rows < cols ? rows : cols;
        float W[120];
        nn_init_orthogonal(W, rows, cols, 2.0f, &r);
        // the short side's vectors are orthogonal with norm = gain
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
                double dot = 0;
                for (int t = 0; t < (rows < cols ? cols : rows); t++)
                    dot += rows < cols ? (double)W[i * cols + t] * W[j * cols + t] : (double)W[t * cols + i] * W[t * cols + j];
                CHECK_CLOSE(dot, i == j ? 4.0 : 0.0, 1e-5, 1e-5);
            }
    }
}

TEST(init_torch_and_trunc_normal) {
    nn_rng r;
    nn_rng_init(&r, 2, 0);
    enum { OUT = 64, IN = 25 };
    static float W[OUT * IN], b[OUT];
    nn_init_torch_linear(W, b, OUT, IN, &r);
    float mx = 0;
    for (int i = 0; i < OUT * IN; i++) mx = fmaxf(mx, fabsf(W[i]));
    CHECK(mx <= 0.2f && mx > 0.19f, "torch init bound 1/sqrt(25) = 0.2, max |w| %g", mx);
    static float T[10000];
    nn_init_trunc_normal(T, 10000, 0.02f, -2.0f, 2.0f, &r);
    double s2 = 0;
    for (int i = 0; i < 10000; i++) s2 += (double)T[i] * T[i];
    CHECK_CLOSE(sqrt(s2 / 10000), 0.02, 0.05, 0);
}

const test_case rng_tests[] = {
    {"philox_known_answers", philox_known_answers},
    {"moments", moments},
    {"streams_and_seeds", streams_and_seeds},
    {"init_orthogonal", init_orthogonal},
    {"init_torch_and_trunc_normal", init_torch_and_trunc_normal},
    {0},
};
