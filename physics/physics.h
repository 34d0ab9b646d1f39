// Differentiable MuJoCo: N environments of one model stepped in parallel, with the Jacobians of
// every control step recorded for backpropagation through rollouts.
//
// State: x = (dqpos, qvel, act) of size nx = 2·nv + na, as mjd_transitionFD defines it: the
// position part lives in the tangent space (mj_integratePos / mj_differentiatePos), so free and
// ball joints are handled through their quaternions correctly.
//
// A control step holds the action for `substeps` physics steps. Its Jacobians A = ∂x'/∂x
// (nx×nx) and B = ∂x'/∂u (nx×nu) are chained from per-physics-step finite-difference Jacobians:
// A = A_K···A_1, B = Σ_k A_K···A_{k+1}·B_k. See docs/physics.md for the method, its accuracy and cost.
//
// Threads: environments are spread over the OpenMP threads (nn_set_threads); each environment is
// computed by one thread in a fixed order, so results do not depend on the thread count.
#ifndef PWM_PHYSICS_PHYSICS_H
#define PWM_PHYSICS_PHYSICS_H

#include <mujoco/mujoco.h>
#include <stddef.h>

// How per-physics-step Jacobians are computed.
typedef enum {
    PH_JAC_AUTO,    // mjd_transitionFD for Euler/implicit models, direct for RK4 (2.2.2's mjd is wrong there)
    PH_JAC_MJD,     // mjd_transitionFD
    PH_JAC_DIRECT,  // finite differences of whole mj_step calls on the environment's own data
} ph_jac_method;

// Model overrides and gradient settings. A negative value means "keep the model's".
typedef struct {
    double timestep;                           // physics step (s)
    int substeps;                              // physics steps per control step (frame skip); 0: 1
    double contact_stiffness, contact_damping;  // direct solref form (−k, −d) on every geom and pair
    double solref_timeconst, solref_dampratio;  // standard solref form on every geom and pair
    double friction;                           // sliding friction of every geom and pair
    int centered;                              // central differences (2× the cost)
    double fd_eps;                             // finite-difference step
    ph_jac_method method;
    int force_space;                           // 1: allow generalised-force columns when nu > nv (exact cases only)
} ph_config;

// Defaults: keep the model's physics, substeps 0 (1 for a bare model, the task's for a task),
// forward differences with eps 1e-6, auto method, force space allowed.
ph_config ph_config_default(void);

typedef struct {
    mjModel *m;
    ph_config cfg;
    int nq, nv, na, nu, nx;  // nx = 2·nv + na
    int use_mjd;             // per-step Jacobians from mjd_transitionFD (else direct)
    int force_space;         // B from nv generalised-force columns mapped through the moment arms
    int calls_per_step;      // mj_step calls (or equivalents) per physics step when recording
} ph_model;

// Load an MJCF file and apply the overrides. On failure NULL with a message in err.
ph_model *ph_load(const char *path, const ph_config *cfg, char *err, size_t errlen);
void ph_free(ph_model *pm);

typedef struct {
    const ph_model *pm;
    int n;             // environments
    mjData **d;        // one per environment
    // recording (ph_record_begin .. ph_step with record = 1)
    int cap, len;      // capacity and number of recorded control steps
    double *A, *B;     // [t][env] nx×nx and nx×nu, row-major
    unsigned char *cut;  // [t][env]: the state after step t was replaced before step t+1
    // safety
    unsigned char *bad;  // [env]: blew up during the last ph_step (and was reset to the model's default)
    long blowups;        // over the batch's life
    double last_step_seconds;  // one-thread-equivalent time of the last ph_step (serial below 50 µs)
    double *t_jacobians, *t_steps;  // [env]: seconds in Jacobians / in whole control steps, accumulated
    double *work;        // per-environment scratch
    size_t work_per_env;
} ph_batch;

// N environments of pm, each reset to the model's default state; cap = most control steps
// recorded between ph_record_begin calls (0: no recording).
ph_batch *ph_batch_new(const ph_model *pm, int n, int cap);
void ph_batch_free(ph_batch *b);
// Bytes of recorded Jacobians per control step for the whole batch.
size_t ph_jacobian_bytes(const ph_batch *b);

// Start a new recording window (drops what was recorded).
void ph_record_begin(ph_batch *b);
// One control step of every environment with controls u (n×nu; NULL keeps each d->ctrl). With
// record, the step's Jacobians are stored at index b->len, which then advances. An environment
// that becomes unstable (NaN/Inf, a MuJoCo bad-qpos/qvel/qacc warning, |qvel| > 1e6) is reset to
// the model's default state, flagged in b->bad, counted in b->blowups, and its Jacobians for the
// step are zero; the other environments are unaffected.
void ph_step(ph_batch *b, const double *u, int record);
// T plain control steps of every environment with open-loop controls u (T × n × nu), in one
// parallel region (no synchronisation between steps: for random or scripted controls).
// Blow-ups are handled as in ph_step; b->bad reports the environments that blew up at any step.
void ph_rollout(ph_batch *b, int T, const double *u);
// Set environment env's state (qpos nq, qvel nv, act na or NULL for zeros; they may point into
// the environment's own data), run mj_forward, and, when recording, mark that the state after the
// last recorded step was replaced.
void ph_set_state(ph_batch *b, int env, const double *qpos, const double *qvel, const double *act);
// Restore environment env to a state saved from a batch of the same model (qpos nq, qvel nv, act
// na or NULL, the warm start qacc_warmstart nv; copies, not the environment's own data), so that
// it continues bit for bit as the saved environment would have: ph_set_state, then the saved qpos
// and warm start verbatim. (mj_forward normalises free and ball joints' quaternions in qpos in
// place, and normalising an already normalised quaternion again can move its last bits:
// ph_set_state alone would step from another state.)
void ph_restore_state(ph_batch *b, int env, const double *qpos, const double *qvel, const double *act,
                      const double *warmstart);

// Vector-Jacobian product through recorded step t for every env: gin(n×nx) = A_t^T·gout and
// gu(n×nu) += B_t^T·gout. gin may equal gout.
void ph_vjp(const ph_batch *b, int t, const double *gout, double *gin, double *gu);
// Whether env's state after step t was replaced (a reset) before step t+1, so that gradients with
// respect to the start of step t+1 must not flow into step t.
int ph_was_cut(const ph_batch *b, int t, int env);
// Backpropagation through whole windows and on graphs, with this cut rule: physics/diffstep.h.

// The per-physics-step Jacobians by direct finite differences of mj_step on d (restored after):
// A (nx×nx) and B (nx×nu), either may be NULL. For tests and RK4 models.
void ph_fd_step_direct(const ph_model *pm, mjData *d, double *work, double *A, double *B);
// Scratch doubles ph_fd_step_direct needs.
size_t ph_fd_work_size(const ph_model *pm);

// Move d's state along a tangent vector dx (nx) by scale: qpos through mj_integratePos, qvel and
// act by addition. Derived quantities are not recomputed.
void ph_state_perturb(const ph_model *pm, mjData *d, const double *dx, double scale);

#endif
