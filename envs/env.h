// Tasks: an MJCF model plus observation, reward, termination and reset, with analytic derivatives
// of the observation and the reward with respect to the state x (the tangent layout of
// physics.h: dqpos, qvel, act) and the action.
//
// Reward timing. The PWM fork of dflex scores r_t = g(s_t) + p(a_t): the state terms g on the
// state before the step and the action penalty p on this step's action (pwm-fork-tasks.md §2).
// NVlabs' original scores g(s_{t+1}). A task's reward takes both states and the action, and the
// batch runner (env_batch) chooses which state the state terms see (ENV_REWARD_PRE, the default, or
// ENV_REWARD_POST); tasks whose reward needs both (Gymnasium's finite-difference velocity) use both.
#ifndef PWM_ENVS_ENV_H
#define PWM_ENVS_ENV_H

#include <stddef.h>

#include "../nn/rng.h"
#include "../physics/physics.h"

typedef struct env_task env_task;

struct env_task {
    const char *name;     // e.g. "hopper"
    const char *summary;  // one line for `pwm envs`
    const char *model;    // MJCF file name under envs/models/
    int obs_dim, act_dim;
    int substeps;         // physics steps per control step
    int episode_len;      // control steps before truncation
    int reward_uses_post; // the reward needs the post-step state (Gymnasium's velocity)
    int prev_action_obs;  // > 0: observation entries [k, k + act_dim) are the previous clipped action
                          // (so ∂obs/∂prev is the identity there); 0: the observation does not hold it
    const void *params;   // task-specific constants
    // Write a start state into d (qpos, qvel, act) drawn from r.
    void (*reset)(const env_task *t, const mjModel *m, mjData *d, nn_rng *r);
    // The observation of d (after mj_forward); prev (act_dim) is the previous clipped action.
    // J (obs_dim × nx, row-major) = ∂obs/∂x when non-NULL.
    void (*observe)(const env_task *t, const mjModel *m, const mjData *d, const double *prev, double *obs, double *J);
    // The reward for clipped action a between states pre and post (post may be NULL when the
    // task does not use it). Gradients, each optional: dpre, dpost (nx) and da (act_dim).
    double (*reward)(const env_task *t, const mjModel *m, const mjData *pre, const mjData *post, const double *a,
                     double *dpre, double *dpost, double *da);
    // Whether the episode ends at state d (termination, not truncation).
    int (*terminated)(const env_task *t, const mjModel *m, const mjData *d);
};

// Every task, in the order `pwm envs` lists them; NULL-terminated.
extern const env_task *const env_tasks[];
// The task called name, or NULL.
const env_task *env_find(const char *name);
// The path of a task's model: $PWM_MODELS/<file> if set, else envs/models/<file> of the source tree
// holding the binary, else relative to the working directory (nn_tree_file).
void env_model_path(const env_task *t, char *buf, size_t n);
// Load a task's model (model_override: another MJCF file, or NULL) with the overrides in cfg
// (NULL: none); the task's substeps apply unless cfg sets them (> 0).
ph_model *env_load(const env_task *t, const ph_config *cfg, const char *model_override, char *err, size_t errlen);

typedef enum { ENV_REWARD_PRE, ENV_REWARD_POST } env_reward_timing;

// N environments of one task stepping together, with episodes, resets and returns.
typedef struct {
    const env_task *task;
    ph_model *pm;
    ph_batch *b;
    int n;
    env_reward_timing timing;
    nn_rng *rng;             // one stream per environment
    mjData **pre;            // per environment: the state before the step (tasks with reward_uses_post):
                             // time, qpos, qvel and act only, no derived quantities
    double *obs;             // n × obs_dim: the current observation (after resets)
    double *obs_final;       // n × obs_dim: the observation the last step produced, before any reset
    double *prev;            // n × act_dim: previous clipped action
    double *act;             // n × act_dim: this step's clipped action
    double *rew;             // n: reward of the last step
    unsigned char *term, *trunc;  // n: the last step ended the episode by termination / time-out
    int *steps;              // n: steps into the current episode
    double *ret;             // n: return of the current episode so far
    double *ret_final;       // n: return of the episode that ended at the last step (where term|trunc)
    int *len_final;          // n: its length
    long episodes;           // finished episodes
    long blowups;            // physics blow-ups (also terminate the episode)
    // derivatives, filled by env_step after env_batch_enable_grads (NULL before)
    double *J;               // n × obs_dim × nx: ∂obs/∂x of the current observation (after resets)
    double *J_final;         // n × obs_dim × nx: ∂obs_final/∂x at the state the step produced
    double *drdx;            // n × nx: ∂r/∂x at the state the reward's state terms saw
    double *drdx_post;       // n × nx: ∂r/∂x at the post-step state (tasks whose reward uses both)
    double *drda;            // n × act_dim: ∂r/∂a (also alone, after env_batch_enable_drda)
} env_batch;

// A batch of n environments of task t (model overrides in cfg; NULL for the task's defaults),
// seeded by seed; horizon = control steps recorded per window (0: no gradients).
env_batch *env_batch_new(const env_task *t, const ph_config *cfg, const char *model_override, int n,
                         unsigned long seed, int horizon, char *err, size_t errlen);
void env_batch_free(env_batch *e);
// Reset every environment (a new episode each).
void env_reset_all(env_batch *e);
// From now on env_step (and resets) also compute the derivative fields above.
void env_batch_enable_grads(env_batch *e);
// From now on env_step also fills drda, the reward's derivative in the clipped action, and nothing
// else of the derivatives (no physics or observation Jacobians; the values stay the same).
void env_batch_enable_drda(env_batch *e);
// One control step: actions (n × act_dim) are clipped to [−1, 1]; rewards, termination and
// truncation are computed; finished environments are reset (obs then holds the reset
// observation and obs_final the last one).
void env_step(env_batch *e, const double *actions, int record);

#endif
