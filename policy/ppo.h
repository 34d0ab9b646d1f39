// PPO (Schulman et al. 2017), the zeroth-order baseline: no simulator gradients, plain MuJoCo
// stepping.
//
// Each epoch rolls N environments for h steps with a Gaussian policy a = μ(obs) + σ·ε (a
// state-independent log σ); the environment clips a to [−1, 1] (the policy is clipped, not
// tanh-squashed, as CleanRL's and rl_games' are), and the log-probabilities are those of the
// unclipped a. Advantages are GAE(γ, λ) (time-outs bootstrap V of the observation before the
// reset, terminations 0). Then `update_epochs` passes over shuffled minibatches minimise the
// clipped surrogate plus vf_coef × the (optionally clipped) value loss minus ent_coef × entropy,
// with the global gradient norm clipped. Observations are normalised by running statistics
// (clamped); rewards are scaled by a running std of the discounted return (CleanRL) and/or a
// constant (rl_games). Facts and the two presets: docs/ppo.md.
#ifndef PWM_POLICY_PPO_H
#define PWM_POLICY_PPO_H

#include "../nn/rng.h"
#include "../physics/physics.h"

#define PPO_CKPT_FORMAT "pwm-ppo-1"  // the "format" metadata of PPO checkpoints

typedef struct {
    const char *env;
    const char *preset;            // quick (CleanRL's continuous-control PPO) | paper (SHAC's rl_games PPO)
    int envs, horizon, epochs;     // an epoch: envs × horizon environment steps, then the update
    int update_epochs, minibatches;
    double gamma, lambda, clip, vf_coef, ent_coef, max_grad_norm;
    int clip_vloss, norm_adv;      // clipped value loss; advantages normalised per minibatch
    double lr, lr_end;             // linear decay from lr to lr_end over the epochs (without kl_target)
    double kl_target;              // > 0: rl_games' adaptive learning rate on the minibatch KL instead
    const char *units;             // hidden widths of the actor and of the critic: "64,64"
    const char *activation;        // tanh | elu
    int torch_init;                // 1: PyTorch's Linear default; 0: orthogonal (√2, actor out 0.01, critic out 1)
    double logstd_init, adam_eps;
    double obs_clip;               // normalised observations clamped to ±obs_clip
    int reward_norm;               // rewards divided by the running std of the discounted return
    double reward_scale, reward_clip;  // then multiplied by reward_scale and clamped to ±reward_clip (0: none)
    long seed;
    int eval_episodes, eval_every, save_every, max_bad_updates;
    int stop_after;                // > 0: checkpoint and stop after this epoch, as if killed (resume later)
    ph_config physics;
} ppo_config;

// The preset's settings for a task. -1 with a message for an unknown preset or task.
int ppo_preset(ppo_config *c, const char *env, const char *preset, char *err, size_t errlen);

// Train into out_dir (config.txt is the caller's; log.csv, timing.csv, ckpt/best/final.safetensors,
// eval.csv as the other learners). With resume, continue bit for bit from out_dir/ckpt.safetensors.
// Returns an exit code of nn/exitcode.h (lrn_run's), with a message on stderr.
int ppo_train(const ppo_config *c, const char *out_dir, int resume, int threads);

// GAE over a time-major h × N rollout: rewards, done (1 where the step ended the episode; a
// time-out's reward already holds γ·V of its last observation), values V(s_t), and the values of
// the states after the last step. Writes advantages and returns (advantage + value).
void ppo_gae(int N, int h, double gamma, double lambda, const float *rew, const float *done, const float *val,
             const float *last_val, float *adv, float *ret);

// A minibatch of B rows of A actions: what the rollout recorded.
typedef struct {
    int B, A;
    const float *act;       // B × A: the unclipped sampled actions
    const float *logp_old;  // B: their log-probabilities under the rollout policy
    const float *adv;       // B: advantages (normalised already, if so configured)
    const float *ret;       // B: value targets
    const float *val_old;   // B: the rollout's values
} ppo_batch;

typedef struct {
    double loss, pg_loss, v_loss, entropy, approx_kl, clipfrac;
} ppo_stats;

// The PPO loss of a minibatch for policy means mu (B × A), log-stds logstd (A) and values v (B):
// pg + vf_coef·value loss − ent_coef·entropy, with
//   pg = mean max(−Â·ρ, −Â·clip(ρ, 1 − ε, 1 + ε)), ρ = exp(log π(a) − log π_old(a)),
//   value loss = ½·mean (v − R)², or with clip_vloss ½·mean max((v − R)², (v_old + clip(v − v_old, ±ε) − R)²),
//   entropy = Σ_j (½ + ½·log 2π + logstd_j).
// Gradients into g_mu (B × A), g_logstd (A), g_v (B) when non-NULL (overwritten). Returns the loss.
double ppo_loss(const ppo_batch *b, const ppo_config *c, const float *mu, const float *logstd, const float *v,
                float *g_mu, float *g_logstd, float *g_v, ppo_stats *st);

// Check the gradient of the first minibatch's loss of a fresh learner's first rollout, through
// both networks and log σ, against central differences in `samples` parameters spread over every
// tensor (perturbed by eps). 0 with the max relative and the relative L2 errors, or -1 with a message.
int ppo_gradcheck(const ppo_config *c, int samples, double eps, double *max_rel, double *rel_l2, char *err,
                  size_t errlen);

// A trained policy from a PPO checkpoint: the actor's mean, clipped to [−1, 1], or sampled with
// its σ (and clipped) when r is non-NULL.
typedef struct ppo_policy ppo_policy;
ppo_policy *ppo_policy_load(const char *ckpt, const char *env, char *err, size_t errlen);
const char *ppo_policy_env(const ppo_policy *p);
void ppo_policy_act(ppo_policy *p, const double *obs, int n, double *u, nn_rng *r);
void ppo_policy_free(ppo_policy *p);

#endif
