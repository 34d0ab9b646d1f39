// Gradient check of the recorded-Jacobian backward pass against central differences of whole
// rollouts, on any MJCF model.
//
// For each trajectory: a random start near the model's default state, random controls inside
// their ranges, and a scalar L = Σ_t (c·pos_t + w·(qvel_t, act_t)) over the K control steps with
// fixed random weights (pos_t: the translational and hinge/slide coordinates). dL/dx_0 and dL/du_t
// come from ph_backward and from (L(+eps) − L(−eps)) / 2eps with plain rollouts.
#ifndef PWM_PHYSICS_GRADCHECK_H
#define PWM_PHYSICS_GRADCHECK_H

#include "physics.h"

typedef struct {
    int steps;            // control steps K
    int trajectories;     // independent trajectories (one environment each)
    unsigned long seed;
    double rollout_eps;   // perturbation of whole-rollout differences
    double state_noise;   // start: default state moved by U(−noise, noise) in every tangent direction
    double action_scale;  // controls U(−scale, scale) of the half-range around the range centre
} ph_gc_config;

typedef struct {
    double max_rel;  // max over components of |a − n| / max(|a|, |n|, 1e-3·max|n|)
    double rel_l2;   // ‖a − n‖ / ‖n‖ over all components
    int max_contacts;
    int blowups;
} ph_gc_traj;

ph_gc_config ph_gc_default(void);
// Run the check; res gets one entry per trajectory. Returns 0, or -1 if a trajectory blew up
// (its result is then meaningless and marked in blowups).
int ph_gradcheck(const ph_model *pm, const ph_gc_config *c, ph_gc_traj *res);

#endif
