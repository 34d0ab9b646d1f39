// The task definitions (one file each) and helpers they share. Private to envs/.
#ifndef PWM_ENVS_TASKS_H
#define PWM_ENVS_TASKS_H

#include "env.h"

extern const env_task task_hopper;
extern const env_task task_gym_hopper;
extern const env_task task_ant;
extern const env_task task_humanoid;
extern const env_task task_double_pendulum;
extern const env_task task_snu_humanoid;

// U(−s, s) from r.
double task_uniform(nn_rng *r, double s);

#endif
