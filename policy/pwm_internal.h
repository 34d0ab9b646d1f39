// PWM's learner inside policy/: its state and what its files give each other (not a public
// header; everything outside policy/ goes through pwm.h). pwm.c: setup and the `model` source's
// hooks; pwm_loss.c: the actor loss through the world model; pwm_hybrid.c: the hybrid gradient
// source (--gradient hybrid) and its check; pwm_ckpt.c: its part of checkpoints;
// pwm_policy.c: a trained policy; replay.h: the replay buffer.
#ifndef PWM_POLICY_PWM_INTERNAL_H
#define PWM_POLICY_PWM_INTERNAL_H

#include "../envs/env.h"
#include "../nn/graph.h"
#include "../nn/optim.h"
#include "../nn/normalizer.h"
#include "../worldmodel/dataset.h"
#include "../worldmodel/wm.h"
#include "actor.h"
#include "lrn.h"
#include "pwm.h"
#include "replay.h"

// the `model` source's state: the learner (networks, environments, critics' buffers) and what PWM
// adds: the world model and its fine-tuning, the replay buffer, the return normaliser
typedef struct {
    lrn_learner L;                // L.e: online the real environments; offline NULL; L.xbuf: the latents z_k
    pwm_config c;
    int Z;                        // the model's latent width (the networks' input)
    world_model w;
    nn_adam wopt;
    nn_rms rew_rms, ret_rms;
    float *obs_f;  // N × O
    float *creal;  // --critic-data real: the critics' inputs, enc(o_k) of the real environments (H × N × Z)
    float *bc_act, *bc_mask;  // offline: the start states' dataset actions and which starts have one (N × A)
    replay rb;             // the replay buffer: the datasets' episodes, then the run's own
    float *wobs, *wact, *wrew, *wterm;
    char online_dir[1024];
    char diag_path[1100];   // --diagnose-every: DIR/diagnose.csv
    double t_env, t_wm;
    double wm_loss;         // the last epoch's model loss
    int freeze_ret;         // the gradient check holds the return normaliser fixed
    const float *actor_in;  // and the actor's inputs (H × N × Z), which the loss sees through sg()
} pwm;

// The learner of config c (lrn_make_fn; setup->out_dir NULL: no online dataset).
lrn_learner *pwm_make(const void *config, const lrn_setup *setup, char *err, size_t errlen);
// The actor loss over one epoch's H-step imagined rollout, backpropagated into the actor's
// gradients; fills the critics' buffers; returns the loss (after the return normalisation).
float pwm_actor_window(pwm *s);
// --gradient hybrid (pwm_hybrid.c): the same from the real rollout, backpropagated through the
// model's Jacobians at the encoded real states; the critics' buffers hold the real trajectory.
float pwm_hybrid_window(pwm *s);
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
// The source's checkpoint hooks (lrn_source): the fine-tuned model, the return statistics, the
// environments and the online dataset's unfinished episodes.
void pwm_ckpt_save(const lrn_learner *L, const void *src, st_writer *w, strbuf *b);
int pwm_ckpt_check(const lrn_learner *L, const void *src, const st_file *f, char *msg, size_t n);
int pwm_ckpt_load(lrn_learner *L, void *src, const st_file *f, const char **state, long epoch, char *err, size_t n);

#endif
