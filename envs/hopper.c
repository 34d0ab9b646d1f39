// The PWM paper's Hopper (DiffRL/dflex HopperEnv as in the PWM fork), on envs/models/hopper.xml.
//
// qpos = qvel = (rootx, rootz, rooty, thigh, leg, foot); rootz is the torso's height above its
// start (1.25 m), rooty the pitch. The tangent state is x = (qpos, qvel): every joint is a slide
// or hinge, so ∂/∂dqpos is ∂/∂qpos.
//   observation (11): qpos[1:6], qvel[0:6]
//   reward: vx + H(z) + (1 − θ²/θmax²) − 0.1·Σa², with h = clip(z + 0.3, −1, 0.3),
//           H = −200h² if h < 0 else h; θmax = 0.524 (the fork's yaml; NVlabs π/6)
//   termination: z < −0.45 (torso below 0.80 m); the angle is not used
//   start: every qpos and qvel + U(±0.05)
#include <math.h>
#include <string.h>

#include "tasks.h"

#define HOPPER_ANGLE_MAX 0.524
#define HOPPER_NX 12

double task_uniform(nn_rng *r, double s) { return s * (2.0 * nn_rng_uniform(r) - 1.0); }

static void hopper_reset(const env_task *t, const mjModel *m, mjData *d, nn_rng *r) {
    for (int i = 0; i < 6; i++) d->qpos[i] = m->qpos0[i] + task_uniform(r, 0.05);
    for (int i = 0; i < 6; i++) d->qvel[i] = task_uniform(r, 0.05);
}

static void hopper_observe(const env_task *t, const mjModel *m, const mjData *d, const double *prev, double *obs,
                           double *J) {
    for (int i = 0; i < 5; i++) obs[i] = d->qpos[1 + i];
    for (int i = 0; i < 6; i++) obs[5 + i] = d->qvel[i];
    if (J) {
        memset(J, 0, sizeof(double) * 11 * HOPPER_NX);
        for (int i = 0; i < 5; i++) J[i * HOPPER_NX + 1 + i] = 1.0;
        for (int i = 0; i < 6; i++) J[(5 + i) * HOPPER_NX + 6 + i] = 1.0;
    }
}

static double hopper_reward(const env_task *t, const mjModel *m, const mjData *s, const mjData *post, const double *a,
                            double *dx, double *dpost, double *da) {
    double vx = s->qvel[0], z = s->qpos[1], th = s->qpos[2];
    // height term: h = clip(z + 0.3, −1, 0.3)
    double h = z + 0.3, dh = 1.0;
    if (h < -1.0) h = -1.0, dh = 0.0;
    if (h > 0.3) h = 0.3, dh = 0.0;
    double H = h < 0 ? -200.0 * h * h : h, dH = (h < 0 ? -400.0 * h : 1.0) * dh;
    double angle = 1.0 - th * th / (HOPPER_ANGLE_MAX * HOPPER_ANGLE_MAX);
    double pen = 0.0;
    for (int j = 0; j < 3; j++) pen += a[j] * a[j];
    if (dx) {
        memset(dx, 0, sizeof(double) * HOPPER_NX);
        dx[6] = 1.0;
        dx[1] = dH;
        dx[2] = -2.0 * th / (HOPPER_ANGLE_MAX * HOPPER_ANGLE_MAX);
    }
    if (da)
        for (int j = 0; j < 3; j++) da[j] = -0.2 * a[j];
    return vx + H + angle - 0.1 * pen;
}

static int hopper_terminated(const env_task *t, const mjModel *m, const mjData *d) { return d->qpos[1] < -0.45; }

const env_task task_hopper = {
    .name = "hopper",
    .summary = "PWM/DiffRL Hopper (dflex port, fork defaults)",
    .model = "hopper.xml",
    .obs_dim = 11,
    .act_dim = 3,
    .substeps = 4,
    .episode_len = 1000,
    .reset = hopper_reset,
    .observe = hopper_observe,
    .reward = hopper_reward,
    .terminated = hopper_terminated,
};
