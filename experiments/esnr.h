// `pwm experiment esnr`: the PWM paper's double-pendulum gradient study (pwm-paper-and-code.md
// §4(d), its Fig. 4). A small stochastic policy acts on the latent of a world model's encoder; for
// each horizon H the gradient of −Σ_{t<H} r_t with respect to every policy parameter is sampled
// (the action noise is the only randomness) through
//   - the true dynamics: MuJoCo with the recorded transition Jacobians (physics.h's ph_backward),
//     the policy seeing enc(obs) of the H = 16 model, as the paper's script does;
//   - world models trained with H = 3 and H = 16: the rollout stays in latent space,
//     z_{t+1} = d(z_t, a_t), r_t = R(z_t, a_t).
// The policy's input is detached in both (PWM's actor: a = π(sg(z))), so the gradient flows through
// the actions only. Var = mean over parameters of the sample variance; ESNR = mean over parameters
// of E[g]²/(Var[g] + 1e-9) (nn_esnr, nn/stats.h).
//
// The paper script's quirks (pwm-fork-tasks.md §5), reproduced with reproduce_original:
//   - the reward scores the pre-step state, so an H-step return depends on a_0..a_{H−2} and the
//     true gradient at H = 1 is zero. Default: the post-step state (r_t = g(s_{t+1})), for the
//     true dynamics and for the data the world models learn from;
//   - samples do not restart from rest: each true-dynamics sample starts where the last ended
//     (only the 240-step truncation resets), and the model rollouts all start from the state the
//     true-dynamics loop ended in. Default: every sample starts upright at rest;
//   - reward units: the true reward rescaled to r/21554.2305 + 1, the models' in their own
//     normalised units. Default: every curve in the task's reward units (the models' predictions
//     de-normalised with their training statistics).
#ifndef PWM_EXPERIMENTS_ESNR_H
#define PWM_EXPERIMENTS_ESNR_H

#include <stddef.h>

#include "../envs/env.h"
#include "../nn/normalizer.h"
#include "../policy/actor.h"
#include "../worldmodel/wm.h"

typedef struct {
    const char *preset;
    long seed;
    int reproduce_original;
    int max_h, samples;      // H = 1..max_h, samples per H
    long collect;            // random-policy transitions for the world models
    const char *wm_size;     // small | paper
    long wm_steps;
    int wm_batch;
    const char *actor_units;
    const char *device;      // where the world models train (nn/device.h; NULL: the CPU); the rest runs on the CPU
} esnr_config;

// quick: small models, 2,000 steps of batch 256 on 24,000 transitions, 100 samples, H up to 50;
// paper: paper-size models, 20,000 steps of batch 1024 on 240,000 transitions. -1 if unknown.
int esnr_preset(esnr_config *c, const char *preset, char *err, size_t errlen);

// One gradient sampler: the environment, the encoder feeding the policy, the policy.
typedef struct {
    env_batch *e;                // one double-pendulum environment with gradients
    const world_model *enc;      // its encoder gives the policy's input on the true dynamics
    nn_params ap;                // the policy's parameters
    actor act;
    nn_graph *g, *gz;            // the policy's graph; a no-grad graph for encodings
    int from_rest;               // reset to rest before each true-dynamics sample
    double true_scale, true_shift;  // the true reward as reported: r·scale + shift
    int cap;                     // the longest horizon
} esnr_sampler;

// A sampler for horizons up to cap: the task's environment (reward on the post-step state unless
// reproduce_original), a policy of the given hidden widths on enc's latent (PyTorch's Linear init
// and log-std −1, from seed). 0, or -1 with a message.
int esnr_sampler_init(esnr_sampler *s, const world_model *enc, const char *actor_units, long seed, int cap,
                      int reproduce_original, char *err, size_t errlen);
void esnr_sampler_free(esnr_sampler *s);
// Number of policy parameters (the length of a gradient).
int esnr_params(const esnr_sampler *s);

// One sample through the true dynamics: H steps (from rest when from_rest, else from the current
// state) with action noise eps (H × act_dim). Returns the reported H-step return; grad (may be NULL)
// receives d(−return)/dθ. Policy inputs: z_fixed (H × latent) when non-NULL, else enc(obs), which
// z_out (may be NULL) receives (central differences hold the inputs of an unperturbed rollout).
double esnr_true_sample(esnr_sampler *s, int H, const float *eps, const float *z_fixed, float *z_out, double *grad);

// One sample through world model w from observation obs0: z_0 = enc(obs0), rewards R(z_t, a_t)
// reported as r̂·scale + shift; otherwise as esnr_true_sample.
double esnr_model_sample(esnr_sampler *s, const world_model *w, const double *obs0, double scale, double shift, int H,
                         const float *eps, const float *z_fixed, float *z_out, double *grad);

// The experiment: collect data, train the two models, sample the three curves; OUT/esnr.csv,
// variance.png, esnr.png, summary.md (command: the command line). 0, or 1 with a message.
int esnr_experiment(const esnr_config *c, const char *out, const char *command);

#endif
