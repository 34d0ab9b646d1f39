// The paper's tasks on a free-floating torso (Ant, Humanoid, SNU Humanoid): one observation layout,
// reward form, termination and start distribution, parameterised per task. Private to envs/.
//
// The model's first joint is the torso's free joint; the joints after it are hinges or ball joints.
// x (tangent) = (dpos 3, dθ 3 in the torso frame, joint tangents, linear velocity 3 (world),
// angular velocity 3 (torso frame), joint velocities), as MuJoCo defines them.
//   observation: [0] torso height, [1:5] torso quaternion (MuJoCo order w, x, y, z), [5:8] linear
//     velocity of the torso origin (world), [8:11] angular velocity (world), joint coordinates
//     qpos[7:] (ball joints as quaternions, w first), 0.1·joint velocities qvel[6:], up (torso z axis
//     · world z), heading (torso x axis · the horizontal direction to the target), then the previous
//     actions if the task observes them
//   reward: v_x + 0.1·up + heading + height term − c·Σa²
//   termination: torso height below term_height
//   start: the model's "start" keyframe (else qpos0); position + U(±0.1), a rotation by U(±π/24)
//     about a random axis, joint coordinates + U(±0.2) (ball joints' quaternions renormalised),
//     every velocity U(±0.25)
#ifndef PWM_ENVS_LOCOMOTION_H
#define PWM_ENVS_LOCOMOTION_H

#include "tasks.h"

typedef enum {
    LOCO_HEIGHT_NONE,      // no height term (SNU: DiffRL computes one but does not add it)
    LOCO_HEIGHT_ANT,       // z − 0.27
    LOCO_HEIGHT_HUMANOID,  // h = clip(z − 0.84, −1, 0.1): −200h² if h < 0 else 10h
} loco_height;

typedef struct {
    double target_x;      // the target is (target_x, 0) on the ground
    double term_height;
    loco_height height;
    double action_cost;   // c
    int prev_actions;     // the observation ends with the previous actions
} loco_params;

// The env_task functions; t->params points to a loco_params.
void loco_reset(const env_task *t, const mjModel *m, mjData *d, nn_rng *r);
void loco_observe(const env_task *t, const mjModel *m, const mjData *d, const double *prev, double *obs, double *J);
double loco_reward(const env_task *t, const mjModel *m, const mjData *s, const mjData *post, const double *a,
                   double *dx, double *dpost, double *da);
int loco_terminated(const env_task *t, const mjModel *m, const mjData *d);

#endif
