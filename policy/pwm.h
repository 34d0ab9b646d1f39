// PWM (Georgiev et al., ICLR 2025): policy learning through a pretrained world model.
//
// Each epoch rolls the actor H steps in the model's latent space from the encoded observations
// of real environments: the actor sees a detached latent, a_k = tanh(μ(sg(z_k)) + σ·ε),
// r̂_k = R(z_k, a_k), z_{k+1} = d(z_k, a_k). The real environments step in lock-step with the
// same actions (no simulator gradients) and supply terminations, time-outs and data. The actor
// loss −(Σ γ^k r̂_k + γ^len·min_j V_j(z_end)) per segment (0 after a termination) is normalised by
// a running return std and backpropagated through the frozen model. Three critics fit TD(λ)
// targets on unshuffled minibatches, and the model is fine-tuned on the replay data.
// Offline mode (the paper's multi-task extraction): start latents from dataset observations, no
// environment, the model frozen. Facts: pwm-paper-and-code.md §2-§3; decisions: docs/pwm.md.
#ifndef PWM_POLICY_PWM_H
#define PWM_POLICY_PWM_H

#include "../nn/mlp.h"
#include "../nn/params.h"
#include "../nn/rng.h"
#include "../physics/physics.h"
#include "../worldmodel/dataset.h"
#include "../worldmodel/wm.h"

#define PWM_CKPT_FORMAT "pwm-pwm-1"  // the "format" metadata of PWM checkpoints
#define PWM_MAX_CRITICS 8
#define PWM_MAX_DATA 16
// the actor loss's gradient sources (lrn.h, docs/unified-learner.md): their index in pwm.c's table
#define PWM_GRADIENT_MODEL 0
#define PWM_GRADIENT_HYBRID 1
#define PWM_GRADIENT_TRUE 2
// what the critics learn from (--critic-data): the imagined rollout (the paper's); the real
// trajectory (inputs enc(o_k), real rewards, bootstraps at enc(o_{k+1})); or the imagined latents
// as inputs with the real trajectory's targets
#define PWM_CRITIC_MODEL 0
#define PWM_CRITIC_REAL 1
#define PWM_CRITIC_REAL_TARGETS 2

typedef struct {
    const char *env, *preset;
    const char *wm;                       // the pretrained world model (pwm wm train)
    const char *const *data;              // datasets (NULL-terminated, or NULL): the replay buffer's start
                                          // (online) or the start states (offline)
    int offline;
    int envs, horizon, epochs;            // envs: the actor's batch (real environments online)
    double gamma, lambda;
    const char *actor_units, *critic_units;
    int critics;
    double actor_lr, critic_lr, lr_end, actor_clip, critic_clip, beta1, beta2, logstd_init, logstd_min;
    int lr_decay_epochs;                  // the learning rates reach lr_end after this many epochs (0: --epochs;
                                          // the presets: the paper's 15,000, whatever --epochs is)
    double target_alpha;                  // > 0: target critics, target <- alpha target + (1 - alpha) critic each
                                          // epoch, give every bootstrap (not in the paper; 0: none, the paper's)
    int closed_loop;                      // online: the actor acts on enc(o_k) of the lock-step environments
                                          // instead of the predicted latent (not in the paper)
    int diagnose_every;                   // write DIR/diagnose.csv every N epochs (0: never)
    int critic_data;                      // online: PWM_CRITIC_REAL(_TARGETS): the critics fit TD(λ)
                                          // targets of the real trajectory (real rewards and ends, min V of
                                          // the encoded real next state) on enc(o_k) or, _TARGETS, on the
                                          // imagined latents (not in the paper; PWM_CRITIC_MODEL: the paper's)
    int critic_iters, critic_minibatches;
    int actor_average;                    // > 0: the evaluated and saved policy is the actor's moving average
                                          // over about this many epochs (lrn_average_step; not in the paper);
                                          // the raw actor still trains, collects and is diagnosed. 0: the actor
    int wm_iters, wm_batch;               // fine-tuning steps per epoch (online) and their batch
    double wm_lr, wm_clip;
    long buffer;                          // replay capacity in transitions (oldest episodes leave first)
    int reproduce_original;               // the public code's quirks instead of the fixes (docs/pwm.md)
    int gradient;                         // the actor gradient's source: PWM_GRADIENT_MODEL (the paper's
                                          // imagined rollout), PWM_GRADIENT_HYBRID (online: the real
                                          // rollout's values, the model's Jacobians; docs/pwm.md) or
                                          // PWM_GRADIENT_TRUE (online: the real rollout through the MuJoCo
                                          // Jacobians and the encoder)
    double bc_weight;                     // offline: weight of a behaviour-cloning term at the start states
                                          // (not in the paper; 0 = the paper's PWM; docs/pwm.md)
    long seed;
    int eval_episodes, eval_every, save_every, max_bad_updates, stop_after;
    ph_config physics;
} pwm_config;

// The critics' layout: in → Linear → Mish → LayerNorm blocks of units[0..n) → Linear → 1.
void pwm_critic_spec(nn_mlp_spec *s, int in, const int *units, int n);

// The preset's settings (the paper's PWM config, or the 2-core "quick" variant). -1 with a message
// for an unknown preset.
int pwm_preset(pwm_config *c, const char *env, const char *preset, char *err, size_t errlen);

// 0 when c's gradient source goes with its other options (hybrid and true: online, without
// --closed-loop and --critic-data real, which they imply), else -1 with a message.
int pwm_check_gradient(const pwm_config *c, char *err, size_t errlen);
// The --gradient name of a PWM_GRADIENT_* source ("model", "hybrid", "true").
const char *pwm_gradient_name(int gradient);

// Train into out_dir: log.csv, timing.csv, ckpt/best/final.safetensors, eval.csv and (online) the
// transitions seen, as a dataset in out_dir/online. resume continues from out_dir/ckpt.safetensors.
// Returns an exit code of nn/exitcode.h (lrn_run's), with a message on stderr. Every network,
// graph and optimizer state is made inside, on the device selected before the call (nn/device.h;
// the CPU unless a caller selected CUDA); the checkpoint holds plain values, so a run may resume on
// the other device.
int pwm_train(const pwm_config *c, const char *out_dir, int resume, int threads);

// The network work of PWM epochs, for `pwm bench nn` and the GPU checks: a learner as pwm_train
// builds it from c (the actor, c->critics critics and their optimizers) around a fresh world model
// of wc (seeded by c->seed), the episodes eps[0..neps) (borrowed) as its replay buffer, runs
// warmup + epochs of pwm_train's own epoch (the actor's H-step loss through the model and its
// backward pass, the clipped Adam step, TD(λ) and c->critic_iters × c->critic_minibatches critic
// fits, c->wm_iters fine-tuning steps) on the device selected before the call. No environment
// steps: the actor's starts are states drawn from the episodes, as offline extraction draws them
// (c->offline, c->diagnose_every and c->gradient are ignored). 0, or -1 with a message.
typedef struct {
    double actor_s, update_s, critic_s, wm_s, epoch_s;   // seconds per timed epoch (means): the actor loss's
                                                         // forward and backward, the actor's update, the
                                                         // critics, the fine-tuning, the whole epoch
    double actor_loss, grad_norm, critic_loss, wm_loss;  // the last epoch's log.csv values
    long model_params;
    float *actor;                                        // the actor's values after the last epoch (nn_free it)
    size_t actor_count;
} pwm_bench_result;
int pwm_bench_epochs(const pwm_config *c, const wm_config *wc, const ds_episode *eps, int neps, int warmup, int epochs,
                     pwm_bench_result *r, char *err, size_t errlen);

// A trained PWM policy: the world model's encoder and the actor (the learner's policy, lrn.h, of a
// PWM checkpoint; NULL with a message for any other).
typedef struct lrn_policy pwm_policy;
pwm_policy *pwm_policy_load(const char *ckpt, const char *env, char *err, size_t errlen);
void pwm_policy_free(pwm_policy *p);
// For loss landscapes: the actor's parameters (perturb them in place), and the mean H-step return
// of the deterministic policy from n start states — in the real task (model 0: the states of an
// environment batch seeded by seed, each sum stopping at its episode's end) or in the policy's
// world model (model 1: from the encoded observations obs, n × obs_dim, rewards in task units).
nn_params *pwm_policy_params(pwm_policy *p);
double pwm_policy_return(pwm_policy *p, const double *obs, int n, int H, int model, const ph_config *physics,
                         long seed);

// Check the actor loss's gradient of c's source (lrn_actor_gradcheck) against central differences of
// the epoch's loss in `samples` actor weights: for `model`, through the world-model rollout
// (dynamics, rewards and the critics' bootstrap; the actor's detached input); for `true`, through
// the real rollout's recorded Jacobians and the encoder. The config needs a world model; start
// states come from its environments (or data, offline). Returns 0 with the errors, or -1 with a
// message.
int pwm_actor_gradcheck(const pwm_config *c, int samples, double eps, double *max_rel, double *rel_l2, char *err,
                        size_t errlen);

// --gradient hybrid: the first epoch's window of a fresh learner from config c (online, no run
// directory), what its real rollout was and what the loss came to, for the tests. Arrays H × N
// (× A), step-major; nn_free each (pwm_hybrid_trace_free).
typedef struct {
    int N, H, A, Z;
    double loss;                 // the window's actor loss (return-normalised)
    double ret_scale;            // the return normaliser it used, 1/√(var + 1e-5)
    float *latent;               // H × N × Z: z_k, the actor's and the critics' inputs (enc(o_k))
    float *act;                  // the actions the real environments were given (before their clip)
    float *rew;                  // the real rewards, normalised as the model's (the learner's rew_rms)
    float *drda;                 // H × N × A: D, the normalised reward's derivative in the action
    float *value;                // min_j V_j of the encoded real next observation (the final one at an end)
    unsigned char *term, *trunc; // the real episode ends
    float *grad;                 // the actor loss's gradient in the actor's parameters (count of them)
    size_t count;
} pwm_hybrid_trace;
int pwm_hybrid_first_window(const pwm_config *c, pwm_hybrid_trace *t, char *err, size_t errlen);
void pwm_hybrid_trace_free(pwm_hybrid_trace *t);
// Check the hybrid gradient (docs/pwm.md, "--gradient hybrid") against central differences of its
// own surrogate loss in `samples` actor weights: the first window's real trajectory is recorded,
// then replayed with one weight moved and every stop-gradient quantity held at its recorded value
// (the actor's inputs, the offsets real − model of the latents and rewards, the actions inside
// sg(), the reward's scaled action derivative, the episode ends). 0 with the errors, or -1.
int pwm_hybrid_gradcheck(const pwm_config *c, int samples, double eps, double *max_rel, double *rel_l2, char *err,
                         size_t errlen);

// The pieces of the actor loss and the critic targets that the fixes change (docs/pwm.md), for the
// tests. At a step of the rollout (last: the window's last), each environment's segment with
// discount so far gam[i] = γ^{len−1} closes with weight close[i] (1 at an episode end or the
// window's end) as −(keep_rew[i]·R + boot[i]·V(z_next)): boot = γ^len (0 after a termination).
// original: the public code's γ^{len+1} for the open segments at the window's end, and an
// environment done exactly at the last step losing its rewards (keep_rew 0, boot γ).
void pwm_close_weights(int N, int last, double gamma, const double *gam, const unsigned char *term,
                       const unsigned char *trunc, int original, float *boot, float *keep_rew, float *close);
// The TD(λ) done flag of a step: episode ends and the window's end; original offline runs flag
// every step, which collapses the targets to one-step TD.
float pwm_done_flag(int done, int last, int offline, int original);

#endif
