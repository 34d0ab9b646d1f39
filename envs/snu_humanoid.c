// The PWM paper's SNU Humanoid (DiffRL/dflex SNUHumanoidEnv, PWM fork defaults): the lower body of
// the MASS human model with 152 muscles, on envs/models/snu_humanoid.xml (made by
// `pwm snu-convert`, envs/snu_convert.h). The free-torso task of locomotion.h with the pelvis as
// the torso:
//   observation (53 = 1+4+3+3+22+18+1+1): height, quaternion, linear and angular velocity, the 22
//     joint coordinates (4 ball joints as w, x, y, z quaternions, 6 hinges), 0.1·the 18 joint
//     velocities, up, heading to the target at x = 10000 m; no previous actions
//   reward: v_x + 0.1·up + heading − 0.001·Σ|a'|: DiffRL computes a height term but does not add it;
//     a' = a ∈ [−1, 1] under the fork's signed force law (the default model), a' = 0.5a + 0.5 under
//     NVlabs' pull-only law (a model converted with --force-law nvlabs: its actuators carry the
//     affine bias)
//   termination: pelvis below 0.46 m
//   start: pelvis 1 m up facing +x; position U(±0.1), rotation U(±π/24) about a random axis, every
//     joint coordinate U(±0.2) (the fork; ball quaternions renormalised), velocities U(±0.25)
#include <math.h>

#include "locomotion.h"

#define SNU_ACTION_COST 0.001

static const loco_params snu_params = {.target_x = 10000.0, .term_height = 0.46, .height = LOCO_HEIGHT_NONE,
                                       .action_cost = 0.0, .prev_actions = 0};

// NVlabs' pull-only law: the model's actuators have an affine bias (the fork's have none)
static int snu_pull_only(const mjModel *m) { return m->nu > 0 && m->actuator_biastype[0] == mjBIAS_AFFINE; }

static double snu_reward(const env_task *t, const mjModel *m, const mjData *s, const mjData *post, const double *a,
                         double *dx, double *dpost, double *da) {
    double r = loco_reward(t, m, s, post, a, dx, dpost, da);  // the state terms (da = 0)
    int pull = snu_pull_only(m);
    double scale = pull ? 0.5 : 1.0, shift = pull ? 0.5 : 0.0;
    for (int j = 0; j < t->act_dim; j++) {
        double act = scale * a[j] + shift;
        r -= SNU_ACTION_COST * fabs(act);
        if (da) da[j] = -SNU_ACTION_COST * scale * (act > 0 ? 1.0 : act < 0 ? -1.0 : 0.0);
    }
    return r;
}

const env_task task_snu_humanoid = {
    .name = "snu-humanoid",
    .summary = "PWM/DiffRL SNU Humanoid: MASS lower body, 152 muscles (fork force law)",
    .model = "snu_humanoid.xml",
    .obs_dim = 53,
    .act_dim = 152,
    .substeps = 4,
    .episode_len = 1000,
    .params = &snu_params,
    .reset = loco_reset,
    .observe = loco_observe,
    .reward = snu_reward,
    .terminated = loco_terminated,
};
