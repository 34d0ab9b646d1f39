// The pedagogical double pendulum (PWM fork's DoublePendulumEnv, pwm-fork-tasks.md §5) on
// envs/models/double_pendulum.xml, a true chain (see the model). θ = 0: both rods upright.
//   observation (6): cos θ1, sin θ1, cos θ2, sin θ2, θ̇1, θ̇2 (θ2 relative to the first rod)
//   reward: −(θ1² + θ2²) − 0.1·(θ̇1² + θ̇2²), angles wrapped to [−π, π]; no action penalty
//   no termination; truncation after 240 steps; start: upright at rest (no noise, as PWM's
//   landscape script runs it)
#include <math.h>
#include <string.h>

#include "tasks.h"

static void dp_reset(const env_task *t, const mjModel *m, mjData *d, nn_rng *r) {
    memset(d->qpos, 0, sizeof(double) * 2);
    memset(d->qvel, 0, sizeof(double) * 2);
}

static void dp_observe(const env_task *t, const mjModel *m, const mjData *d, const double *prev, double *obs,
                       double *J) {
    for (int i = 0; i < 2; i++) {
        obs[2 * i] = cos(d->qpos[i]);
        obs[2 * i + 1] = sin(d->qpos[i]);
        obs[4 + i] = d->qvel[i];
    }
    if (J) {
        memset(J, 0, sizeof(double) * 6 * 4);
        for (int i = 0; i < 2; i++) {
            J[(2 * i) * 4 + i] = -sin(d->qpos[i]);
            J[(2 * i + 1) * 4 + i] = cos(d->qpos[i]);
            J[(4 + i) * 4 + 2 + i] = 1.0;
        }
    }
}

static double dp_reward(const env_task *t, const mjModel *m, const mjData *s, const mjData *post, const double *a,
                        double *dx, double *dpost, double *da) {
    double r = 0.0;
    if (dx) memset(dx, 0, sizeof(double) * 4);
    for (int i = 0; i < 2; i++) {
        // the angle as atan2 of its observation: wrapped to [−π, π], derivative 1
        double th = atan2(sin(s->qpos[i]), cos(s->qpos[i])), w = s->qvel[i];
        r -= th * th + 0.1 * w * w;
        if (dx) {
            dx[i] = -2.0 * th;
            dx[2 + i] = -0.2 * w;
        }
    }
    if (da) da[0] = 0.0;
    return r;
}

static int dp_terminated(const env_task *t, const mjModel *m, const mjData *d) { return 0; }

const env_task task_double_pendulum = {
    .name = "double-pendulum",
    .summary = "pedagogical double pendulum, one motor on the second joint (true chain)",
    .model = "double_pendulum.xml",
    .obs_dim = 6,
    .act_dim = 1,
    .substeps = 4,
    .episode_len = 240,
    .reset = dp_reset,
    .observe = dp_observe,
    .reward = dp_reward,
    .terminated = dp_terminated,
};
