// Training and evaluating world models on offline datasets (worldmodel/dataset.h).
#ifndef PWM_WORLDMODEL_TRAIN_H
#define PWM_WORLDMODEL_TRAIN_H

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
} wm_train_config;

// Train and write out (datasets of several tasks give a multi-task model: zero-padded observations
// and actions, a task embedding; one task gives PWM's single-task model, no embedding) (a safetensors checkpoint with Adam state, for --resume), out.log.csv, and
// out.step-N.safetensors every save_every steps (0: none). Returns 0 or 1 with a message on stderr.
int wm_train(const wm_train_config *c, const char *out, int resume);

typedef struct {
    int windows, horizon;
    double consistency_1, consistency_h;  // latent MSE after 1 and H open-loop steps
    double reward_mse, baseline_mse;       // H-step open-loop reward MSE (raw units) and the mean-reward predictor's
} wm_eval_result;

// Evaluate a world model on the held-out episodes of datasets (the same split as training with the
// same holdout): every window of H+1 steps. Returns 0 or -1 with a message.
int wm_evaluate(const char *wm_path, const char *const *data, double holdout, int horizon, wm_eval_result *r,
                char *err, size_t errlen);

#endif
