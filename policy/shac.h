// SHAC (Xu et al., ICLR 2022): first-order policy learning through the MuJoCo dynamics.
//
// Each epoch rolls N environments for h steps with the stochastic actor, recording the physics
// Jacobians; the actor loss −(Σ γ^k r_k + γ^h V′(s_h))/(h·N) (terminations bootstrap 0, time-outs
// V′ of the observation before the reset) is backpropagated through the actor, the rewards, the
// observations and the recorded Jacobians, cut at the window start. The critic is fitted to TD(λ)
// targets on unshuffled minibatches; the target critic follows by Polyak averaging.
// SHAC is a preset of the one learner (lrn.h): its networks on normalised observations with the
// `true` gradient source (lrn_true.c); its checkpoints load through policy.h.
// Facts: shac-and-tasks.md §2.
#ifndef PWM_POLICY_SHAC_H
#define PWM_POLICY_SHAC_H

#include "../nn/rng.h"
#include "../physics/physics.h"

#define SHAC_CKPT_FORMAT "pwm-shac-2"  // the "format" metadata of SHAC checkpoints

typedef struct {
    const char *env;
    const char *preset;          // quick | paper: the defaults below come from it
    int envs, horizon, epochs;
    double gamma, lambda;
    const char *actor_units, *critic_units;  // "128,64,32"
    double actor_lr, critic_lr, lr_end;
    int lr_decay_epochs;                 // the learning rates reach lr_end after this many epochs (0: --epochs)
    double target_alpha, actor_clip, critic_clip, beta1, beta2, logstd_init;
    int critic_iters, critic_minibatches;
    int actor_average;           // > 0: the evaluated and saved policy is the actor's moving average over
                                 // about this many epochs (lrn_average_step; not in SHAC); 0: the actor
    long seed;
    int eval_episodes, eval_every, save_every, max_bad_updates;
    int stop_after;              // > 0: checkpoint and stop after this epoch, as if killed (resume later)
    const char *save_data;       // non-NULL: every transition the run sees, as a dataset (worldmodel/dataset.h)
    ph_config physics;
} shac_config;

// The preset's settings for a task (the paper's per-task configs, or a 2-core "quick" variant).
// Returns -1 with a message for an unknown preset or task.
int shac_preset(shac_config *c, const char *env, const char *preset, char *err, size_t errlen);

// Train, writing into out_dir: config.txt (resolved, with the git commit), log.csv, checkpoints
// (ckpt.safetensors, final.safetensors) and eval.csv. With resume, continue from
// out_dir/ckpt.safetensors. config_text is the resolved config to record. Returns an exit code
// of nn/exitcode.h (lrn_run's: 0, fail, diverged, preempted), with a message on stderr.
int shac_train(const shac_config *c, const char *out_dir, int resume, int threads);

// Check the actor loss's gradient (through the actor, observations, rewards, the target critic and
// the recorded physics Jacobians) against central differences of the whole window's loss, for
// `samples` actor weights spread over its tensors (perturbed by eps). Returns 0 with the max
// relative and the relative L2 errors, or -1 with a message.
int shac_actor_gradcheck(const shac_config *c, int samples, double eps, double *max_rel, double *rel_l2, char *err,
                         size_t errlen);

#endif
