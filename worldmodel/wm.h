// The TD-MPC2-style world model PWM learns policies through: an encoder z = enc(obs), latent
// dynamics z' = dyn(z, a) and a scalar reward R(z, a) (pwm-paper-and-code.md §1,
// tdmpc2-world-model.md). Weights are trunc-normal(0.02) with zero biases; the reward head's last
// layer starts at zero.
//
// Activation variants (the smoothness ablation), recorded in the checkpoint:
//   simnorm  hidden Linear → LayerNorm → Mish; encoder and dynamics end Linear → LayerNorm → SimNorm(8)
//   mish     the same without SimNorm: they end Linear → LayerNorm → Mish
//   relu     hidden Linear → ReLU, no LayerNorm; linear outputs
#ifndef PWM_WORLDMODEL_WM_H
#define PWM_WORLDMODEL_WM_H

#include "../nn/mlp.h"
#include "../nn/normalizer.h"
#include "../nn/optim.h"
#include "../nn/safetensors.h"

typedef enum { WM_SIMNORM, WM_MISH, WM_RELU } wm_activation;

typedef struct {
    int obs_dim, act_dim;
    int latent, enc_dim, enc_layers, mlp_dim;
    wm_activation activation;
    int reward_bins;  // 0: a scalar reward with MSE (single-task default); 101: two-hot over ±10 in symlog space
    int num_tasks, task_dim;  // multi-task: a learned embedding per task (max-norm 1); 0 tasks: none
    int termination;  // 1: a termination head (not in PWM; for offline extraction on tasks that end)
} wm_config;

typedef struct {
    wm_config c;
    nn_params p;
    nn_mlp enc, dyn, rew, term;  // term: only with c.termination
    nn_tensor *task_emb;  // num_tasks × task_dim, or NULL
    char tasks[256];      // the task names, comma-separated in id order (saved with the model)
} world_model;

const char *wm_activation_name(wm_activation a);
int wm_activation_parse(const char *s);  // -1 if unknown
// Sizes: "paper" (latent 512, encoder [256], dynamics/reward [512, 512]) or "small" (latent 128,
// encoder [128], dynamics/reward [128, 128], for 2-core runs). -1 if unknown.
int wm_size(wm_config *c, const char *size);

void wm_init(world_model *w, const wm_config *c, unsigned long seed);
void wm_free(world_model *w);
// The task embeddings of n rows (task ids), n × task_dim; as PyTorch's Embedding(max_norm=1),
// a looked-up row with norm above 1 is first scaled back to norm 1 in place, without gradient.
// NULL for a single-task model.
nn_tensor *wm_task_embed(nn_graph *g, world_model *w, const int *task, int n);
// The networks; e is the rows' task embedding (NULL for a single-task model). Observations and
// actions of a multi-task model are zero-padded to its obs_dim and act_dim.
nn_tensor *wm_encode(nn_graph *g, const world_model *w, nn_tensor *obs, nn_tensor *e);
nn_tensor *wm_dynamics(nn_graph *g, const world_model *w, nn_tensor *z, nn_tensor *a, nn_tensor *e);
// The predicted reward (n × 1); with two-hot bins the decoded softmax expectation, differentiable.
nn_tensor *wm_reward(nn_graph *g, const world_model *w, nn_tensor *z, nn_tensor *a, nn_tensor *e);

// The probability that the transition (z, a) ends the episode (n × 1, differentiable): the
// termination head's sigmoid. Only for a model with c.termination.
nn_tensor *wm_termination(nn_graph *g, const world_model *w, nn_tensor *z, nn_tensor *a, nn_tensor *e);

// PWM's world-model loss for B sub-trajectories of H steps (time-major: obs (H+1)·B × obs_dim,
// act H·B × act_dim, rew H·B, rewards already normalised): z0 = enc(o0), z_{t+1} = dyn(z_t, a_t),
// targets enc(o_{t+1}) without gradient; (Σ_t ρ^t·MSE(z_{t+1}, target) + mean_t ρ^t·(R(z_t, a_t) −
// r_t)²)/H (two-hot: the soft cross-entropy of the logits against two_hot(r_t) instead of the
// squared error). dyn_part and rew_part (may be NULL) receive the two terms. targets (H·B × latent) may
// give the encoded next observations instead (tests hold them fixed); NULL computes them.
// task (B ids, NULL for a single-task model) selects each sub-trajectory's embedding.
nn_tensor *wm_loss(nn_graph *g, world_model *w, const float *obs, const float *act, const float *rew, const float *term,
                   const int *task, int B, int H, float rho, const float *targets, double *dyn_part, double *rew_part);

// The id of task name in w->tasks, or -1.
int wm_task_id(const world_model *w, const char *name);
// The model's tensors ("wm/*", with its Adam state and reward statistics when non-NULL) and its
// config as metadata (with the statistics, "reward_norm": scale for r/std, center for (r − mean)/std), into a checkpoint being written (other learners embed the model this way).
void wm_write(st_writer *sw, const world_model *w, const nn_adam *opt, const nn_rms *rew_rms, long step);
// Build a model from the config metadata of an open checkpoint (path names it in messages) and read
// it, all or nothing.
int wm_read(const st_file *f, world_model *w, nn_adam *opt, nn_rms *rew_rms, long *step, const char *path, char *err,
            size_t errlen);
// Save the model (with its Adam state and reward statistics, each optional) and its config.
int wm_save(const world_model *w, const nn_adam *opt, const nn_rms *rew_rms, long step, const char *path, char *err,
            size_t errlen);
// Build a model from a checkpoint's config and load it (and opt, rew_rms when non-NULL); *step
// receives the training step. All or nothing.
int wm_load(world_model *w, nn_adam *opt, nn_rms *rew_rms, long *step, const char *path, char *err, size_t errlen);

#endif
