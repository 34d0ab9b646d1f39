// PWM's learner inside policy/: its state and what its files give each other (not a public
// header; everything outside policy/ goes through pwm.h). pwm.c: setup, the epoch and the training
// loop; pwm_loss.c: the actor loss through the world model and its gradient check; pwm_hybrid.c:
// the hybrid gradient source (--gradient hybrid) and its check; pwm_ckpt.c:
// checkpoints and resume; pwm_policy.c: a trained policy; replay.h: the replay buffer.
#ifndef PWM_POLICY_PWM_INTERNAL_H
#define PWM_POLICY_PWM_INTERNAL_H

#include "../envs/env.h"
#include "../nn/graph.h"
#include "../nn/optim.h"
#include "../nn/normalizer.h"
#include "../worldmodel/dataset.h"
#include "../worldmodel/wm.h"
#include "actor.h"
#include "learner.h"
#include "pwm.h"
#include "replay.h"

// the learner's state
typedef struct {
    pwm_config c;
    env_batch *e;                 // online: the real environments; offline: NULL
    int N, H, O, A, Z;
    world_model w;
    nn_adam wopt;
    nn_rms rew_rms, ret_rms;
    nn_params ap, cp, tp;  // tp: the target critics (--target-alpha > 0; else empty)
    actor act;
    nn_mlp critics[PWM_MAX_CRITICS], targets_net[PWM_MAX_CRITICS];
    nn_adam aopt, copt;
    nn_graph *g;
    lrn_progress pr;
    float *zbuf, *rew_buf, *done_buf, *next_val, *targets, *eps, *obs_f;  // H × N (× Z) and N × (A, O)
    float *creal;  // --critic-data real: the critics' inputs, enc(o_k) of the real environments (H × N × Z)
    float *bc_act, *bc_mask;  // offline: the start states' dataset actions and which starts have one (N × A)
    double *u;
    replay rb;             // the replay buffer: the datasets' episodes, then the run's own
    float *wobs, *wact, *wrew, *wterm;
    ds_recorder rec;
    int recording;
    char online_dir[1024];
    char diag_path[1100];   // --diagnose-every: DIR/diagnose.csv
    double t_env, t_actor, t_backward, t_critic, t_wm;
    double last[4];         // the last epoch's actor loss, actor gradient norm, critic loss, model loss
    int freeze_ret;         // the gradient check holds the return normaliser fixed
    const float *actor_in;  // and the actor's inputs (H × N × Z), which the loss sees through sg()
} pwm;

// A learner from config c (out_dir NULL: no online dataset, as for the gradient check). 0, or -1
// with a message; pwm_free either way.
int pwm_init(pwm *s, const pwm_config *c, const char *out_dir, int threads, char *err, size_t errlen);
void pwm_free(pwm *s);
// The actor loss over one epoch's H-step imagined rollout, backpropagated into the actor's
// gradients; fills the critics' buffers; returns the loss (after the return normalisation).
float pwm_actor_window(pwm *s);
// --gradient hybrid (pwm_hybrid.c): the same from the real rollout, backpropagated through the
// model's Jacobians at the encoded real states; the critics' buffers hold the real trajectory.
float pwm_hybrid_window(pwm *s);
// The bootstrap value min_j V_j(z): the target critics' with --target-alpha, else the critics'.
nn_tensor *pwm_min_value(pwm *s, nn_tensor *z);
// The latents of observations (double, N × O) as a constant tensor.
nn_tensor *pwm_encode_obs(pwm *s, const double *obs);
// The actor loss of the per-environment closed segments L (N × 1): −mean(L)·scale, scale = 1/√(var +
// 1e-5) of the running variance of −L (updated first unless freeze_ret).
nn_tensor *pwm_return_loss(pwm *s, nn_tensor *L, float *scale);
// The start of an actor window: the graph reset, the critics frozen, the log-std clamped in place
// to >= logstd_min, the epoch's exploration noise stream.
void pwm_window_begin(pwm *s, nn_rng *noise);
// A step's segment closes (pwm_close_weights' boot, keep_rew, close) with bootstrap values v:
// L += close·(keep_rew·R + boot·v), then R *= keep (0 where an episode ended).
void pwm_segment_close(pwm *s, nn_tensor **R, nn_tensor **L, nn_tensor *v, const float *boot, const float *keep_rew,
                       const float *close, const float *keep);
// The next latents: z where keep is 1, the constant zr (encoded reset observations) where it is 0.
nn_tensor *pwm_restart(pwm *s, nn_tensor *z, nn_tensor *zr, const float *keep);
// One lock-step of the real environments with actions a (N × A): the step count, the online
// data, and with --reproduce-original the reward statistics.
void pwm_env_step(pwm *s, const float *a);
// The run's checkpoint: networks, optimizers, the fine-tuned model, statistics and the exact state.
int pwm_save_checkpoint(const pwm *s, const char *path, char *err, size_t errlen);
int pwm_load_checkpoint(pwm *s, const char *path, char *err, size_t errlen);
// Actions u (n × act_dim) = tanh(μ(enc(obs)) + σ·eps) on a scratch graph without gradients (eps
// NULL: the deterministic tanh(μ(enc(obs)))).
void pwm_det_forward(nn_graph *g, const world_model *w, const actor *act, const double *obs, int n, const float *eps,
                     double *u);

#endif
