// A trained policy from any learner's checkpoint (SHAC's, PWM's or PPO's, told apart by its format),
// for evaluation, rollouts and data collection.
#ifndef PWM_POLICY_POLICY_H
#define PWM_POLICY_POLICY_H

#include "../nn/rng.h"
#include "../physics/physics.h"

typedef struct trained_policy trained_policy;

// Load ckpt; env (may be NULL) must match its task. NULL with a message on any problem.
trained_policy *policy_load(const char *ckpt, const char *env, char *err, size_t errlen);
const char *policy_env(const trained_policy *p);
// Actions u (n × act_dim) for observations obs (n × obs_dim): tanh of the actor's mean, or
// sampled with the actor's own standard deviation when r is non-NULL.
void policy_act(trained_policy *p, const double *obs, int n, double *u, nn_rng *r);
void policy_free(trained_policy *p);

// The deterministic policy's return over `episodes` episodes of its task (env NULL: the
// checkpoint's), each printed; mean and std through the pointers. 0, or -1 with a message.
int policy_evaluate(const char *env, const char *ckpt, int episodes, long seed, const ph_config *physics, double *mean,
                    double *std, char *err, size_t errlen);

#endif
