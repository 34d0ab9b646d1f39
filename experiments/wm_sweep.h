// The paper's world-model ablations on the Hopper, each a sweep over world models trained on the
// same random-policy data: the model's held-out error against the return of the PWM policy
// learned through it (online, with the usual fine-tuning).
//   smoothness: SimNorm vs Mish-only vs ReLU models (§4(a), the dflex variants)
//   accuracy:   one model saved at several training lengths (§4(c))
#ifndef PWM_EXPERIMENTS_WM_SWEEP_H
#define PWM_EXPERIMENTS_WM_SWEEP_H

#include "executor.h"

typedef struct {
    const char *preset;  // quick | paper
    int seeds, threads;
    const char *out;     // NULL: results/<experiment>/<timestamp>
    const char *device;  // --device of the world-model and PWM stages (NULL: theirs, the CPU)
    // the stages (executor.h): per seed "seedS-collect" (wave 0); "seedS-wm-ACTIVATION" (smoothness)
    // or "seedS-wm" (accuracy) (1); "seedS-pwm-LABEL" (2)
    ex_ctl ex;
} wm_sweep_config;

int smoothness_run(const wm_sweep_config *c, const char *exe, const char *command);
int accuracy_run(const wm_sweep_config *c, const char *exe, const char *command);

#endif
