// Benchmark subcommands: commands that print figures (never timed tests).
#ifndef PWM_BENCH_BENCH_H
#define PWM_BENCH_BENCH_H

#include "../policy/actor.h"
#include "../worldmodel/wm.h"

// `pwm bench TARGET ...`; argv[0] is "bench". Returns the process exit code.
int bench_main(int argc, char **argv);
// `pwm bench nn ...`; argv[0] is "nn".
int bench_nn(int argc, char **argv);

// PWM's policy-extraction loss for a batch of B latent starts through a frozen world model (the
// step `bench nn` times and tests/test_cuda.c checks on the GPU): z0 = enc(obs) (B × obs_dim);
// H steps of u = actor(z), r = R(z, u), z = dyn(z, u); loss = −(Σ γ^t mean r_t + γ^H mean V(z_H)) / H.
// Backward reaches the actor's parameters (freeze the model's and the critic's).
nn_tensor *bench_actor_loss(nn_graph *g, const world_model *w, const actor *a, const nn_mlp *critic, const float *obs,
                             int B, int H, float gamma);
// `pwm bench physics ...`; argv[0] is "physics".
int bench_physics(int argc, char **argv);
// `pwm bench jacobians ...`; argv[0] is "jacobians".
int bench_jacobians(int argc, char **argv);

#endif
