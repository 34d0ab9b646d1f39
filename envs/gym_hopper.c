// A Gymnasium-compatible Hopper (Hopper-v5's definitions) on envs/models/gym_hopper.xml.
//
// qpos = (x, z, angle, thigh, leg, foot), z the torso's height; x = (qpos, qvel) in tangent form.
//   observation (11): qpos[1:6], clip(qvel, ±10)
//   reward: (x_after − x_before)/0.008 + 1·healthy − 1e-3·‖a‖²  (v5: healthy reward only while healthy)
//   termination (v5): not healthy; healthy = z > 0.7, |angle| < 0.2, and every entry of
//           (qpos[2:], qvel) inside (−100, 100)
//   start: qpos0 + U(±5e-3), qvel U(±5e-3)
#include <math.h>
#include <string.h>

#include "tasks.h"

#define GYM_DT 0.008
#define GYM_NX 12

static void gym_reset(const env_task *t, const mjModel *m, mjData *d, nn_rng *r) {
    for (int i = 0; i < 6; i++) d->qpos[i] = m->qpos0[i] + task_uniform(r, 5e-3);
    for (int i = 0; i < 6; i++) d->qvel[i] = task_uniform(r, 5e-3);
}

static void gym_observe(const env_task *t, const mjModel *m, const mjData *d, const double *prev, double *obs,
                        double *J) {
    for (int i = 0; i < 5; i++) obs[i] = d->qpos[1 + i];
    for (int i = 0; i < 6; i++) obs[5 + i] = d->qvel[i] < -10.0 ? -10.0 : d->qvel[i] > 10.0 ? 10.0 : d->qvel[i];
    if (J) {
        memset(J, 0, sizeof(double) * 11 * GYM_NX);
        for (int i = 0; i < 5; i++) J[i * GYM_NX + 1 + i] = 1.0;
        for (int i = 0; i < 6; i++) J[(5 + i) * GYM_NX + 6 + i] = fabs(d->qvel[i]) < 10.0 ? 1.0 : 0.0;
    }
}

static int gym_healthy(const mjData *d) {
    for (int i = 2; i < 6; i++)
        if (!(fabs(d->qpos[i]) < 100.0)) return 0;
    for (int i = 0; i < 6; i++)
        if (!(fabs(d->qvel[i]) < 100.0)) return 0;
    return d->qpos[1] > 0.7 && fabs(d->qpos[2]) < 0.2;
}

static double gym_reward(const env_task *t, const mjModel *m, const mjData *pre, const mjData *post, const double *a,
                         double *dpre, double *dpost, double *da) {
    double pen = 0.0;
    for (int j = 0; j < 3; j++) pen += a[j] * a[j];
    if (dpre) {
        memset(dpre, 0, sizeof(double) * GYM_NX);
        dpre[0] = -1.0 / GYM_DT;
    }
    if (dpost) {
        memset(dpost, 0, sizeof(double) * GYM_NX);
        dpost[0] = 1.0 / GYM_DT;
    }
    if (da)
        for (int j = 0; j < 3; j++) da[j] = -2e-3 * a[j];
    return (post->qpos[0] - pre->qpos[0]) / GYM_DT + (gym_healthy(post) ? 1.0 : 0.0) - 1e-3 * pen;
}

static int gym_terminated(const env_task *t, const mjModel *m, const mjData *d) { return !gym_healthy(d); }

const env_task task_gym_hopper = {
    .name = "gym-hopper",
    .summary = "Gymnasium Hopper-v5 definitions (RK4, 0.002 s x 4)",
    .model = "gym_hopper.xml",
    .obs_dim = 11,
    .act_dim = 3,
    .substeps = 4,
    .episode_len = 1000,
    .reward_uses_post = 1,
    .reset = gym_reset,
    .observe = gym_observe,
    .reward = gym_reward,
    .terminated = gym_terminated,
};
