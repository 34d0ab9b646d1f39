// Counter-based random numbers (Philox4x32-10). A generator is (seed, stream, counter): the same
// seed and stream give the same sequence whatever thread draws it, so give each environment or
// model its own stream and results do not depend on the thread count.
#ifndef PWM_NN_RNG_H
#define PWM_NN_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t seed, stream, counter;  // counter counts 128-bit blocks drawn
    uint32_t buf[4];
    int pos;                         // next unused word of buf (4: empty)
    int has_spare;                   // Box–Muller's second normal
    float spare;
} nn_rng;

// Start the generator for (seed, stream) at counter 0.
void nn_rng_init(nn_rng *r, uint64_t seed, uint64_t stream);
// One Philox4x32-10 block: out = philox(counter ctr, key key).
void nn_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
uint32_t nn_rng_u32(nn_rng *r);
// Uniform in [0, 1).
float nn_rng_uniform(nn_rng *r);
// Standard normal (Box–Muller).
float nn_rng_normal(nn_rng *r);
// Normal(mean, std) truncated to [a, b] (absolute bounds), by inverse CDF as PyTorch's trunc_normal_.
float nn_rng_trunc_normal(nn_rng *r, float mean, float std, float a, float b);
// Inverse error function (double precision).
double nn_erfinv(double y);

#endif
