// One learner for SHAC and PWM (docs/unified-learner.md): the actor, K critics (and their targets),
// the optimizers, the progress, the real environments and the critics' buffers, run epoch by epoch
// (lrn_run). What differs is the gradient source: a table of hooks (lrn_source) over the source's
// own state, whose window builds the actor loss on L->g and fills the critics' buffers. `true`
// (shac.c): a real rollout backpropagated through the recorded MuJoCo Jacobians; `model`
// (pwm*.c): an imagined rollout through a frozen world model. The networks read an input map
// (lrn_input) chosen by the preset: normalised observations (SHAC) or a frozen encoder's latents
// (PWM), both graph functions of the observation tensor.
#ifndef PWM_POLICY_LRN_H
#define PWM_POLICY_LRN_H

#include "../nn/normalizer.h"
#include "../worldmodel/dataset.h"
#include "../worldmodel/wm.h"
#include "actor.h"
#include "learner.h"

#define LRN_MAX_CRITICS 8

// The settings every learner has (shac_config and pwm_config carry them under the same names)
// and what the preset fixes: the networks' activation, the critics' tensor names, the target
// critics, the checkpoint's format.
typedef struct {
    const char *env, *actor_units, *critic_units;
    int envs, horizon, epochs, critics;
    double gamma, lambda, actor_lr, critic_lr, lr_end, actor_clip, critic_clip, beta1, beta2, logstd_init;
    double target_alpha;  // target critics move by this each epoch (targets: see `targets`)
    int lr_decay_epochs, critic_iters, critic_minibatches;
    int actor_average;    // > 0: evaluate and save a moving average of the actor (lrn_average_step); 0: the actor
    long seed;
    int eval_episodes, eval_every, save_every, max_bad_updates, stop_after;
    ph_config physics;
    // the preset's
    nn_act act;                    // the actor's and critics' activation (SHAC: ELU; PWM: Mish)
    int one_critic;                // one critic named "critic" (SHAC's tensor names), else "critic0".."critic{K-1}"
    int targets;                   // target critics: 1 always (SHAC's); 0 only when target_alpha > 0 (PWM's)
    const char *prog, *format, *what;  // "pwm shac", its checkpoint format, "SHAC" (for messages)
} lrn_config;

// The shared settings of a shac_config or pwm_config c (same field names)
#define LRN_CONFIG_OF(c)                                                                                             \
    ((lrn_config){.env = (c)->env, .actor_units = (c)->actor_units, .critic_units = (c)->critic_units,             \
                  .envs = (c)->envs, .horizon = (c)->horizon, .epochs = (c)->epochs, .gamma = (c)->gamma,            \
                  .lambda = (c)->lambda, .actor_lr = (c)->actor_lr, .critic_lr = (c)->critic_lr,                    \
                  .lr_end = (c)->lr_end, .actor_clip = (c)->actor_clip, .critic_clip = (c)->critic_clip,            \
                  .beta1 = (c)->beta1, .beta2 = (c)->beta2, .logstd_init = (c)->logstd_init,                        \
                  .target_alpha = (c)->target_alpha, .lr_decay_epochs = (c)->lr_decay_epochs,                       \
                  .critic_iters = (c)->critic_iters, .critic_minibatches = (c)->critic_minibatches,                 \
                  .actor_average = (c)->actor_average,                                                              \
                  .seed = (c)->seed, .eval_episodes = (c)->eval_episodes, .eval_every = (c)->eval_every,            \
                  .save_every = (c)->save_every, .max_bad_updates = (c)->max_bad_updates,                           \
                  .stop_after = (c)->stop_after, .physics = (c)->physics})

// The networks' input: a graph function of the observations (n × obs_dim), so that a source can
// differentiate through it. Exactly one of rms and w is set.
typedef struct {
    const nn_rms *rms;       // normalised observations (o − mean)/std (SHAC)
    const world_model *w;    // the encoder's latents enc(o) of a frozen world model (PWM)
    int obs_dim;
} lrn_input;
nn_tensor *lrn_input_apply(nn_graph *g, const lrn_input *m, nn_tensor *obs);
// Actions u (n × act_dim) = tanh(μ(in(obs)) + σ·eps) on the scratch graph g without gradients
// (eps NULL: the deterministic tanh(μ(in(obs)))).
void lrn_policy_forward(nn_graph *g, const lrn_input *in, const actor *act, const double *obs, int n,
                        const float *eps, double *u);

// A trained policy of a SHAC or PWM checkpoint: its actor behind its input map
typedef struct lrn_policy {
    char env[64];
    lrn_input in;
    nn_rms rms;       // SHAC's: the observation statistics
    world_model w;    // PWM's: the world model (its encoder is the map)
    nn_rms rew_rms;   // and its reward statistics (the model's rewards in task units)
    nn_params ap;
    actor act;
    nn_graph *g;
    float *eps;
    int cap;
} lrn_policy;
// Load ckpt (SHAC's or PWM's format); env (may be NULL) must match its task. NULL with a message.
lrn_policy *lrn_policy_load(const char *ckpt, const char *env, char *err, size_t errlen);
const char *lrn_policy_env(const lrn_policy *p);
// Actions u (n × act_dim) for observations obs (n × obs_dim): tanh of the mean, or sampled with
// the actor's own standard deviation when r is non-NULL.
void lrn_policy_act(lrn_policy *p, const double *obs, int n, double *u, nn_rng *r);
void lrn_policy_free(lrn_policy *p);

typedef struct lrn_learner lrn_learner;

// A gradient source: hooks over its state `src` (which holds the learner: L->src_state == src).
typedef struct {
    const char *name;                              // --gradient: "model", "hybrid", "true"
    const char *log_columns;                       // log.csv's columns between critic_loss and skipped ("" or "x,")
    const char *timing_header;                     // timing.csv's columns after epoch
    // The actor loss over one window on L->g, backpropagated into L->ap's gradients; fills the
    // critics' buffers (L->xbuf or its own L->critic_in, rew_buf, done_buf, next_val); returns the loss.
    float (*window)(lrn_learner *L, void *src);
    // After the critics' fit: the source's own epoch work (PWM: fine-tuning, diagnosis); its log
    // columns (each followed by a comma) and every timing column into cols and tcols.
    void (*after_epoch)(lrn_learner *L, void *src, long ep, char *cols, char *tcols, size_t n);
    // A run checkpoint: after "a/", "c/", "t/" and the progress, the source's tensors (w) and the rest
    // of its exact state (b)
    void (*save)(const lrn_learner *L, const void *src, st_writer *w, strbuf *b);
    // Resuming: check the source's tensors against f (0, or -1 with msg); then read the rest of the
    // run state from *state and, when all of it is there, its tensors: 0, 1 (state truncated or
    // corrupt: nothing changed), or -1 with a message in err. epoch: the checkpoint's.
    int (*check)(const lrn_learner *L, const void *src, const st_file *f, char *msg, size_t n);
    int (*load)(lrn_learner *L, void *src, const st_file *f, const char **state, long epoch, char *err, size_t n);
    void (*describe)(const lrn_learner *L, const void *src);  // the run's first line on stdout
    void (*free)(void *src);                                    // the source's state and its learner
} lrn_source;

struct lrn_learner {
    lrn_config c;
    const lrn_source *src;
    void *src_state;
    env_batch *e;                  // the real environments (the source makes them; NULL offline)
    int N, H, O, A, D;             // environments (the batch), window, observation, action, network input
    lrn_input in;                  // the input map of evaluations and saved policies
    nn_params ap, cp, tp;          // actor, critics, target critics (tp empty without targets)
    actor act;
    nn_params mp;                  // --actor-average: the actor's moving average (empty without), the policy
    actor mact;                    // that evaluations and saved policies use ("m/" in checkpoints)
    nn_mlp critics[LRN_MAX_CRITICS], targets_net[LRN_MAX_CRITICS];
    int has_targets;
    nn_adam aopt, copt;
    nn_graph *g;
    lrn_progress pr;
    float *xbuf;                   // H × N × D: the critics' inputs (a source may point critic_in elsewhere)
    const float *critic_in;
    float *rew_buf, *done_buf, *next_val, *targets;  // H × N
    float *eps;                    // N × A
    double *u;                     // N × A
    double t_actor, t_backward, t_critic;  // the epoch's time (s): actor forward, backward, critics
    double last[3];                // the last epoch's actor loss, actor gradient norm, critic loss
    ds_recorder rec;               // the real transitions as a dataset (SHAC's --save-data, PWM's online data)
    int recording;
    const char *rec_name;          // for messages: "--save-data", "online data"
};

// The critics' layout: in → Linear → act → LayerNorm blocks of units[0..n) → Linear → 1.
void lrn_critic_spec(nn_mlp_spec *s, int in, const int *units, int n, nn_act act);
// Check c's widths and sizes (0, or -1 with a message).
int lrn_check_config(const lrn_config *c, char *err, size_t errlen);
// The learner of config c for `src` (its state src_state), observations O, actions A, network inputs
// D, through input map in: the actor (PyTorch's default init), the critics (orthogonal, gain √2) and
// targets, their optimizers and the buffers. 0, or -1 with a message; lrn_free either way.
int lrn_init(lrn_learner *L, const lrn_config *c, const lrn_source *src, void *src_state, int O, int A, int D,
             lrn_input in, char *err, size_t errlen);
void lrn_free(lrn_learner *L);
// After env_step: the step's transitions into L->rec when recording (a failure stops the recording,
// with a message).
void lrn_record_step(lrn_learner *L);

// --actor-average tau: after epoch ep's update, avg <- d·avg + (1 − d)·actor with d = min(1 − 1/tau,
// (ep − 1)/ep): the uniform mean of the iterates for the first tau epochs, then an exponential
// average with time constant tau epochs (Polyak–Ruppert averaging of the iterates).
void lrn_average_step(nn_params *avg, const nn_params *cur, long ep, int tau);

// The bootstrap value min_j V_j(x) of the target critics (the critics without targets)
nn_tensor *lrn_min_value(const lrn_learner *L, nn_tensor *x);

// The learning rate lr0 of epoch ep (from 1): linear decay to c->lr_end over c->lr_decay_epochs
// (0: c->epochs), then constant.
float lrn_lr(const lrn_config *c, double lr0, long ep);
// One epoch (learning rates, the source's window, the actor's update, TD(λ), the critics, the
// targets, the source's after_epoch), its log and timing columns; lrn_loop's epoch.
void lrn_epoch(void *learner, long ep, char *cols, char *tcols, size_t n);
// The deterministic policy's return in the real task (lrn_loop's evaluate).
int lrn_eval(void *learner, int episodes, long seed, double *mean, double *std, char *err, size_t errlen);
// A run checkpoint (format c.format) and resuming from one (ckpt.c).
int lrn_save(void *learner, const char *path, char *err, size_t errlen);
int lrn_load(lrn_learner *L, const char *path, char *err, size_t errlen);

// The `true` source's window (lrn_true.c): a real rollout of L->H steps in L->e (made with that
// horizon and env_batch_enable_grads), the actor loss backpropagated through the recorded MuJoCo
// Jacobians and the input map (differentiated through: d map(o)/d o) into L->ap's gradients; the
// critics' buffers filled with the real trajectory (inputs map(o_k), real rewards and ends, the
// bootstrap values). Returns the loss; the physics time, split into Jacobians and the rest, in a.
typedef struct {
    lrn_input map;     // the networks' input in this window (SHAC: statistics frozen for the window)
    nn_rms *stats;     // non-NULL: statistics updated with each step's observations (SHAC's obs_rms)
    nn_rng *noise;     // the exploration noise stream
    double t_physics, t_jacobians;
} lrn_true_args;
float lrn_true_window(lrn_learner *L, lrn_true_args *a);

// How a learner is made: from a source's config, for training in out_dir (NULL: none, as for the
// gradient check) with `threads`; first (the gradient check's differenced passes): the analytic
// pass's learner, whose inputs the source may hold. NULL with a message.
typedef struct {
    const char *out_dir;
    int threads;
    int gradcheck;             // for the gradient check (PWM: epoch 1, its return normaliser held)
    const lrn_learner *first;  // the gradient check's differenced passes: its analytic pass's learner
} lrn_setup;
typedef lrn_learner *(*lrn_make_fn)(const void *config, const lrn_setup *s, char *err, size_t errlen);
void lrn_destroy(lrn_learner *L);  // the source's free

// Train a learner from config into out_dir (resume: from its ckpt.safetensors): lrn_run's exit code.
int lrn_train(lrn_make_fn make, const void *config, const char *prog, const char *out_dir, int resume, int threads);

// The actor loss's gradient of any source against central differences of the first window's loss
// of fresh learners, in `samples` actor weights moved by eps: 0 with the max relative and relative
// L2 errors, or -1 with a message.
int lrn_actor_gradcheck(lrn_make_fn make, const void *config, int samples, double eps, double *max_rel,
                        double *rel_l2, char *err, size_t errlen);

#endif
