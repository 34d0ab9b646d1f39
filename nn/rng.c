#include "rng.h"

#include <math.h>

void nn_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3], k0 = key[0], k1 = key[1];
    for (int i = 0; i < 10; i++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0, hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

void nn_rng_init(nn_rng *r, uint64_t seed, uint64_t stream) {
    *r = (nn_rng){.seed = seed, .stream = stream, .counter = 0, .pos = 4};
}

uint32_t nn_rng_u32(nn_rng *r) {
    if (r->pos == 4) {
        // counter words: block index (low, high), stream (low, high); key: the seed
        uint32_t ctr[4] = {(uint32_t)r->counter, (uint32_t)(r->counter >> 32), (uint32_t)r->stream,
                           (uint32_t)(r->stream >> 32)};
        uint32_t key[2] = {(uint32_t)r->seed, (uint32_t)(r->seed >> 32)};
        nn_philox4x32(ctr, key, r->buf);
        r->counter++;
        r->pos = 0;
    }
    return r->buf[r->pos++];
}

float nn_rng_uniform(nn_rng *r) { return (float)(nn_rng_u32(r) >> 8) * (1.0f / 16777216.0f); }

float nn_rng_normal(nn_rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    // u1 in (0, 1] so the log is finite
    double u1 = ((double)(nn_rng_u32(r) >> 8) + 1.0) / 16777216.0;
    double u2 = (double)(nn_rng_u32(r) >> 8) / 16777216.0;
    double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
    r->spare = (float)(rad * sin(th));
    r->has_spare = 1;
    return (float)(rad * cos(th));
}

double nn_erfinv(double y) {
    if (y <= -1.0) return -INFINITY;
    if (y >= 1.0) return INFINITY;
    // Giles' single-precision approximation, then two Newton steps on erf(x) = y
    double w = -log((1.0 - y) * (1.0 + y)), x;
    if (w < 5.0) {
        w -= 2.5;
        x = 2.81022636e-08;
        x = 3.43273939e-07 + x * w;
        x = -3.5233877e-06 + x * w;
        x = -4.39150654e-06 + x * w;
        x = 0.00021858087 + x * w;
        x = -0.00125372503 + x * w;
        x = -0.00417768164 + x * w;
        x = 0.246640727 + x * w;
        x = 1.50140941 + x * w;
    } else {
        w = sqrt(w) - 3.0;
        x = -0.000200214257;
        x = 0.000100950558 + x * w;
        x = 0.00134934322 + x * w;
        x = -0.00367342844 + x * w;
        x = 0.00573950773 + x * w;
        x = -0.0076224613 + x * w;
        x = 0.00943887047 + x * w;
        x = 1.00167406 + x * w;
        x = 2.83297682 + x * w;
    }
    x *= y;
    for (int i = 0; i < 2; i++) x -= (erf(x) - y) / (1.1283791670955126 * exp(-x * x));
    return x;
}

float nn_rng_trunc_normal(nn_rng *r, float mean, float std, float a, float b) {
    // uniform between the CDF values of the bounds, mapped back through the inverse CDF
    double lo = 0.5 * (1.0 + erf((a - mean) / (std * sqrt(2.0))));
    double hi = 0.5 * (1.0 + erf((b - mean) / (std * sqrt(2.0))));
    double u = lo + (hi - lo) * ((double)(nn_rng_u32(r) >> 8) + 0.5) / 16777216.0;
    double x = mean + std * sqrt(2.0) * nn_erfinv(2.0 * u - 1.0);
    return (float)(x < a ? a : x > b ? b : x);
}
