// Why a PWM policy does or does not learn: figures measured on the deterministic policy's own
// real states (tanh(μ(enc(o))) rolled in MuJoCo, its episodes recorded). docs/pwm.md, "Diagnosing
// a run", says what each figure is; `pwm diagnose` prints them and `pwm train --diagnose-every N`
// appends the core ones to DIR/diagnose.csv.
//
//   per k = 1..K  the model rolled open loop from enc(o_t) under the recorded actions: latent error
//                 against the true latent change, action drift, reward bias (task units)
//   gradients     cosines between the model's gradient of the H-step return with respect to the
//                 action sequence and the true one (central differences through MuJoCo from the
//                 exact saved state), at H, at a long horizon, and for the actor's own objective
//   critic        min_j V_j(enc(o_t)) against the Monte-Carlo return in normalised reward units
//   returns       deterministic and stochastic closed loop, and the training-time behaviour
//   latents       per-dimension variance and effective rank of enc(o) over the policy's states
// and, at a pwm train run's checkpoint (`pwm diagnose --sources`), the actor gradients of the true,
// model and hybrid sources over noise streams: norms, variance, ESNR, wall time, pairwise cosines.
#ifndef PWM_POLICY_PWM_DIAGNOSE_H
#define PWM_POLICY_PWM_DIAGNOSE_H

#include <stdio.h>

#include "../envs/env.h"
#include "../nn/mlp.h"
#include "../nn/normalizer.h"
#include "../worldmodel/wm.h"
#include "actor.h"
#include "pwm.h"

#define PWM_DIAG_MAX_K 64

// What is diagnosed. Nothing here is changed: parameter tensors get no gradient (their
// requires_grad flags are restored on return).
typedef struct {
    const world_model *w;    // single-task, scalar reward
    const nn_rms *rew_rms;   // the model's reward statistics (its rewards are normalised by them)
    const actor *act;        // on latents: u = tanh(μ(z) + σ·ε)
    const nn_mlp *critics;   // on latents; the bootstrap is their minimum
    int ncritics;
    double gamma;
    const env_task *task;
    const ph_config *physics;
} pwm_diag_nets;

typedef struct {
    long seed;         // environments, noise and start-state picks
    int episodes;      // real episodes (one per environment) of each closed loop (8)
    int max_steps;     // each episode stops (as a time-out) after this many steps (0: the task's length)
    int K;             // per-k figures for k = 1..K (16)
    int H;             // the gradient horizon and the actor objective's window (16)
    int H_long;        // the long horizon; the return stops at a termination (64)
    int grad_starts;   // start states for the gradient cosines (8)
    int k_starts;      // at most this many start states for the per-k figures (512)
    double fd_eps;     // central-difference step on the actions (1e-3; one-sided at the ±1 clip)
} pwm_diag_config;

// The defaults above.
pwm_diag_config pwm_diag_defaults(void);

typedef struct {
    int K;
    long states;                    // recorded policy states (every step of every episode)
    int episodes, terminated;       // recorded episodes and how many ended by a termination
    // per k (index k−1): means over n_k[k−1] start states
    long n_k[PWM_DIAG_MAX_K];
    double lat_err[PWM_DIAG_MAX_K];     // MSE(ẑ_k, enc(o_{t+k}))
    double lat_change[PWM_DIAG_MAX_K];  // MSE(enc(o_{t+k}), enc(o_t))
    double act_drift[PWM_DIAG_MAX_K];   // RMS of tanh μ(ẑ_k) − tanh μ(enc(o_{t+k}))
    double rew_pred[PWM_DIAG_MAX_K];    // predicted reward R(ẑ_{k−1}, a_{t+k−1}) in task units
    double rew_real[PWM_DIAG_MAX_K];    // real reward r_{t+k−1}
    double rew_bias[PWM_DIAG_MAX_K];    // rew_pred − rew_real
    double val_gap[PWM_DIAG_MAX_K];     // min V(ẑ_k) − min V(enc(o_{t+k})), model units: a bootstrap's error
                                        // from valuing the predicted latent instead of the real state
    // gradient cosines, means over n_grad start states (NaN when none)
    int n_grad;
    double cos_H, cos_long, cos_objective;
    // the critic's term alone: the gradient of γ^H·min V(ẑ_H) (the objective's minus its H-step
    // rewards, both in normalised units) against the true gradient of the return's tail (the long
    // return's minus the H-step one), over the first H steps' actions; and each tail's share of its
    // whole gradient's norm over those actions (model: |critic term| / |objective|; true: |tail| / |long return|)
    double cos_critic, critic_share, true_tail_share;
    // the same against the policy's own tail: the gradient (over the first H steps' actions) of the
    // true return after step H with the deterministic policy acting from step H on (closed loop, what
    // V^π(s_H) values), by central differences through MuJoCo. cos_critic_cl: the critic's term through
    // the model against it; cos_critic_real: the critic's term through the true dynamics, γ^H·min
    // V(enc(o_H)) differenced through MuJoCo, against it (the critic's own value gradient, with no
    // model in the chain); cos_tail_cl: the open-loop tail above against it
    double cos_critic_cl, cos_critic_real, cos_tail_cl;
    // how far the two differenced gradients above can be trusted: each against itself differenced
    // with a step 4x smaller (near 1: the step resolves a gradient; near 0: contact events or chaos
    // make the differences noise at this scale)
    double fd_tail_cl, fd_critic_real;
    // the critic's term through the model against the same term through the true dynamics (both
    // well resolved): whether the model's chain ∂ẑ_H/∂a carries the critic's gradient as MuJoCo's does
    double cos_critic_chains;
    double long_len;                // mean length of the long-horizon returns (shorter at a fall)
    double replay_err;              // max |reward| difference of the unperturbed replay from the record (0: exact)
    // critic − Monte-Carlo return, normalised reward units
    long n_critic, n_near;          // states overall and within 20 steps of a termination
    int bootstrapped;               // episodes that timed out: their returns end with γ^n·min V
    double critic_bias, critic_rmse, near_bias, near_rmse;  // NaN when the count is 0
    // mean return of finished episodes
    double ret_det, ret_stoch, ret_train;
    // latent spread over the policy's states
    double lat_var;                 // mean per-dimension variance of enc(o)
    double eff_rank;                // exp(entropy of the normalised singular values), 1..latent
} pwm_diag_result;

// Measure every figure. 0, or -1 with a message (bad config, a task the model does not fit).
int pwm_diagnose(const pwm_diag_nets *n, const pwm_diag_config *c, pwm_diag_result *r, char *err, size_t errlen);

// Print the figures as a readable table.
void pwm_diag_print(FILE *f, const pwm_diag_config *c, const pwm_diag_result *r);
// All figures as CSV rows "figure,k,value,count" (k 0 where it does not apply), header included.
void pwm_diag_write_long_csv(FILE *f, const pwm_diag_result *r);

// The core figures of a training run, one row per call (pwm train --diagnose-every): the header
// line, and one row for epoch (k = 1 and K of the per-k figures). pwm_diag_append opens path for
// appending, writes the header when the file is new, then the row. 0, or -1 with a message.
void pwm_diag_csv_header(FILE *f);
void pwm_diag_csv_row(FILE *f, long epoch, const pwm_diag_result *r);
int pwm_diag_append(const char *path, long epoch, const pwm_diag_result *r, char *err, size_t errlen);

// ---- pieces, exposed for the tests ------------------------------------------------------------
// enc(obs) of rows observations (rows × obs_dim) into z (rows × latent), and min_k V_k(z) of rows
// latents into v, on scratch graphs without gradients
void pwm_diag_encode(const world_model *w, const float *obs, int rows, float *z);
void pwm_diag_min_values(const pwm_diag_nets *n, const float *z, int rows, double *v);

// Effective rank (Roy & Vetterli 2007) of the column-centred n × d matrix x: exp(−Σ p_i log p_i)
// with p_i = s_i / Σ s the normalised singular values. Also the mean per-column variance.
double pwm_diag_effective_rank(const float *x, int n, int d, double *mean_var);

// Monte-Carlo returns of one episode of T steps: G_t = Σ_j γ^j rew[t+j] to the end, plus γ^{T−t}·boot
// when the episode did not terminate (a time-out bootstrapped with the critic); 0 after a termination.
void pwm_diag_mc_returns(const float *rew, int T, int terminated, double boot, double gamma, double *G);

// Environment i of e put back to a state saved with lrn_env_get (its exact physics and previous
// action), its episode's return zeroed.
void pwm_diag_restore(env_batch *e, int i, const double *s);

// The true gradient of the discounted return J = Σ_{j<h} γ^j r_j (task units; rewards after a
// termination do not count) with respect to the h × A open-loop actions u from the saved state s,
// by central differences through MuJoCo (one-sided where ±eps leaves [−1, 1]). fd is a batch of
// the task (any size; it is used in chunks). Also J at u, and J over the first h_short steps and
// its gradient (grad_short h × A, zero beyond h_short; may be NULL).
void pwm_diag_true_grad(env_batch *fd, const double *s, const double *u, int h, double gamma, double eps,
                        double *grad, double *J, int h_short, double *grad_short);

// From the saved state s, with the first H steps' actions u (H × A) and then the deterministic
// policy tanh(μ(enc(o))) acting until step h (>= H): the gradients with respect to u, by central
// differences through MuJoCo, of the critic's term γ^H·min_k V_k(enc(o_H)) (0 after a termination;
// normalised units) into vgrad, and of the true return after step H, Σ_{H<=j<h} γ^j r_j (task
// units; nothing after a termination) into tgrad (both H × A).
void pwm_diag_true_tail(const pwm_diag_nets *n, env_batch *fd, const double *s, const double *u, int H, int h,
                        double eps, double *vgrad, double *tgrad);
// The world model's gradient with respect to the actions for n rows at once: the return
// Σ_{j<len_i} γ^j r̂_j from latents z0 (n × Z) under actions u (h × n × A, time-major), with r̂ in
// task units (task_units) or the model's normalised units, plus γ^h·min_j V_j(ẑ_h) when value
// (rows with len_i = h only). len NULL: every row h. grad (h × n × A) and ret (n) may be NULL.
void pwm_diag_model_grad(const pwm_diag_nets *n, const float *z0, const float *u, int rows, int h, const int *len,
                         int task_units, int value, float *grad, double *ret);

// Mean return of the first episode of each of n environments (seeded by seed) in closed loop:
// mode 0 the deterministic policy on enc(o), 1 the stochastic one on enc(o), 2 the training-time
// behaviour (the stochastic actor on the model's predicted latents, re-anchored to enc(o) every H
// steps and at resets). Noise from (seed, one stream) in the same order for modes 1 and 2.
double pwm_diag_closed_loop(const pwm_diag_nets *n, int mode, int envs, int max_steps, int H, long seed, char *err,
                            size_t errlen);

// ---- a PWM checkpoint's networks -------------------------------------------------------------

#define PWM_DIAG_MAX_CRITICS PWM_MAX_CRITICS

// What pwm_diag_load reads and owns; nets points into it (do not move it).
typedef struct {
    pwm_diag_nets nets;
    world_model w;
    nn_rms rew_rms;
    nn_params ap, cp;
    actor act;
    nn_mlp critics[PWM_DIAG_MAX_CRITICS];
    const env_task *task;
} pwm_diag_loaded;

// The actor, critics and world model (with its reward statistics) of a pwm train checkpoint;
// wm_file (NULL: none) replaces the world model with a pwm wm train file's or another PWM
// checkpoint's. env (may be NULL) must be the checkpoint's task. 0, or -1 with a message naming
// the file (not a PWM checkpoint, another task, a model the actor does not fit).
int pwm_diag_load(pwm_diag_loaded *L, const char *ckpt, const char *wm_file, const char *env, double gamma,
                  const ph_config *physics, char *err, size_t errlen);
void pwm_diag_unload(pwm_diag_loaded *L);

// ---- the gradient sources at one run state (pwm diagnose --sources) ---------------------------

// PWM's three actor-gradient sources (true, model, hybrid: PWM_GRADIENT_* indices) at the same
// policy and start states. Each is a learner of the run's config with --gradient set to it, rebuilt
// from the run's checkpoint as --resume does (pwm_make, lrn_load) but with no run directory (no
// online data recorded, nothing written). Per noise stream k the learner is loaded from the
// checkpoint again (networks, world model, statistics, environments, random streams, progress),
// its return normaliser held (as the gradient check holds it), and the source's window run once
// with the window noise of epoch E + 1 + noise[k] (E the checkpoint's epoch: stream 0 is the next
// training epoch's; the three sources draw the same ε); the actor loss's gradient (every actor
// parameter, before clipping) is kept. --closed-loop and --critic-data real stay the model
// source's (true and hybrid imply both); an offline run has no environments and is refused.
#define PWM_SRC_N 3

typedef struct {
    int K;              // noise streams (>= 2)
    const long *noise;  // their indices (K values, >= 0; NULL: 0..K-1)
    int threads;
} pwm_src_config;

typedef struct {
    long epoch;                              // the checkpoint's epoch E
    int K;
    size_t count;                            // actor parameters
    double *grad[PWM_SRC_N];                 // per source: K × count gradients of the actor loss
    // per source, over the K streams: mean loss, mean gradient norm, Var (mean over parameters of
    // the sample variance), ESNR (mean over parameters of E[g]²/(Var[g] + 1e-9); nn_esnr), mean
    // wall seconds of one window with its backward pass
    double loss[PWM_SRC_N], norm[PWM_SRC_N], var[PWM_SRC_N], esnr[PWM_SRC_N], secs[PWM_SRC_N];
    double cos_mean[PWM_SRC_N][PWM_SRC_N];   // cosine between two sources' mean gradients
    double cos_seed[PWM_SRC_N][PWM_SRC_N];   // mean over k of the cosine of their gradients at stream k
} pwm_src_result;

// The figures above for the run of config `run` (its config.txt) at checkpoint ckpt. 0, or -1 with a
// message (r then freed).
int pwm_diag_sources(const pwm_config *run, const char *ckpt, const pwm_src_config *c, pwm_src_result *r, char *err,
                     size_t errlen);
void pwm_src_result_free(pwm_src_result *r);
// The figures as a table, and as CSV rows "figure,source,other,value,count" (other empty for a
// source's own figures; count: the streams), header included.
void pwm_src_print(FILE *f, const pwm_src_result *r);
void pwm_src_write_csv(FILE *f, const pwm_src_result *r);

#endif
