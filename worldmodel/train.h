// Training and evaluating world models on offline datasets (worldmodel/dataset.h).
#ifndef PWM_WORLDMODEL_TRAIN_H
#define PWM_WORLDMODEL_TRAIN_H

#include "dataset.h"
#include "wm.h"

typedef struct {
    const char *const *data;  // dataset directories, NULL-terminated (same task)
    const char *env;          // the task the data must be of (NULL: any)
    const char *size, *activation, *reward;  // reward: mse | twohot
    long steps;
    int batch, horizon;
    double lr, clip, rho, holdout;
    long seed;
    int save_every, log_every;
    int task_dim;  // the task embedding's width when the datasets hold several tasks
    int termination;  // also train a termination head on the episodes' terminated flags
    int reproduce_original;  // rewards as (r − mean)/std, the public code's, instead of r/std
} wm_train_config;

// Train and write out (datasets of several tasks give a multi-task model: zero-padded observations
// and actions, a task embedding; one task gives PWM's single-task model, no embedding) (a safetensors checkpoint with Adam state, for --resume), out.log.csv, and
// out.step-N.safetensors every save_every steps (0: none). SIGTERM or SIGUSR1 stops it after the
// current step with out written (nn/exitcode.h). Returns an exit code: PWM_EXIT_OK, PWM_EXIT_FAIL
// with a message on stderr, PWM_EXIT_DIVERGED (a non-finite gradient) or PWM_EXIT_PREEMPTED.
int wm_train(const wm_train_config *c, const char *out, int resume);

// B windows of H+1 steps drawn by r from episodes eps[lo, hi) (time-major: obs (H+1)·B × O,
// act H·B × A, rew H·B normalised by rms when non-NULL, term H·B terminated flags (may be NULL);
// smaller tasks zero-padded to O and A);
// task (may be NULL) receives each window's ep_task entry (0 when ep_task is NULL). -1 when no
// episode has H steps.
int wm_sample_windows(const ds_episode *const *eps, const int *ep_task, int lo, int hi, int O, int A, int B, int H,
                      nn_rng *r, const nn_rms *rms, float *obs, float *act, float *rew, float *term, int *task);
// One Adam step (gradient clipped to clip) of the world-model loss on such a batch. Returns the
// loss, or NAN without updating when a gradient is non-finite (*bad then names the tensor).
double wm_train_step(nn_graph *g, world_model *w, nn_adam *opt, const float *obs, const float *act, const float *rew,
                     const float *term, const int *task, int B, int H, double rho, double clip, float lr, double *dyn, double *rewp,
                     const char **bad);

typedef struct {
    int windows, horizon;
    double consistency_1, consistency_h;  // latent MSE after 1 and H open-loop steps
    double reward_mse, baseline_mse;       // H-step open-loop reward MSE (raw units) and the mean-reward predictor's
} wm_eval_result;

// Evaluate a world model on the held-out episodes of datasets (the same split as training with the
// same holdout; holdout 1: every episode, for data the model never saw): every window of H+1 steps,
// batch windows per forward pass (the figures agree with one window at a time to float rounding).
// Returns 0 or -1 with a message.
#define WM_EVAL_BATCH 256  // windows per forward pass by default
int wm_evaluate(const char *wm_path, const char *const *data, double holdout, int horizon, int batch, wm_eval_result *r,
                char *err, size_t errlen);

#endif
