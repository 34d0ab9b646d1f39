// The physics layer: recorded Jacobians against direct finite differences, backprop through
// rollouts against whole-rollout central differences, thread-count independence, blow-up
// containment, gradient cuts and the physical overrides. Models: tests/models/.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../nn/common.h"
#include "../physics/diffstep.h"
#include "../physics/gradcheck.h"
#include "../physics/physics.h"
#include "test.h"

#define MODELS "tests/models/"

static ph_model *load(const char *file, const ph_config *c) {
    char err[512];
    ph_model *pm = ph_load(file, c, err, sizeof err);
    CHECK(pm, "%s", err);
    return pm;
}

// a random-ish, reproducible control in each range
static double control(int t, int e, int j) { return 0.6 * sin(0.7 * t + 1.3 * e + 2.1 * j); }

static void controls(const ph_model *pm, int n, int t, double *u) {
    for (int e = 0; e < n; e++)
        for (int j = 0; j < pm->nu; j++) u[e * pm->nu + j] = control(t, e, j);
}

// max |a − b| / (1e-6 + max |b|)
static double rel_diff(const double *a, const double *b, size_t n) {
    double diff = 0, big = 0;
    for (size_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs(a[i] - b[i]));
        big = fmax(big, fabs(b[i]));
    }
    return diff / (1e-6 + big);
}

TEST(recorded_matches_direct_fd) {
    // one physics step per control step, at a state a few steps into a rollout: the recorded A, B
    // (mjd_transitionFD, or generalised-force columns for the tendon arm) against central
    // differences of mj_step on a copy
    const char *models[] = {MODELS "pendulum2.xml", MODELS "floating.xml", MODELS "tendon_muscles.xml",
                            MODELS "hopper_contact.xml", MODELS "arm_small_stack.xml"};
    for (int i = 0; i < 5; i++) {
        ph_config c = ph_config_default();
        ph_model *pm = load(models[i], &c);
        CHECK(pm->use_mjd, "%s: Euler model not on mjd_transitionFD", models[i]);
        CHECK(pm->force_space == (i == 2), "%s: force space %d", models[i], pm->force_space);
        ph_batch *b = ph_batch_new(pm, 1, 1);
        double u[8];
        for (int t = 0; t < 5; t++) {
            controls(pm, 1, t, u);
            ph_step(b, u, 0);
        }
        controls(pm, 1, 5, u);
        memcpy(b->d[0]->ctrl, u, sizeof(double) * pm->nu);
        // the reference, on a copy of the data
        ph_config cc = c;
        cc.centered = 1;
        ph_model *ref = load(models[i], &cc);
        mjData *d2 = mj_copyData(NULL, pm->m, b->d[0]);
        int nx = pm->nx, nu = pm->nu;
        double *A = nn_malloc(sizeof(double) * nx * nx), *B = nn_malloc(sizeof(double) * nx * nu);
        double *work = nn_malloc(sizeof(double) * ph_fd_work_size(ref));
        ph_fd_step_direct(ref, d2, work, A, B);
        ph_record_begin(b);
        ph_step(b, u, 1);
        double ea = rel_diff(b->A, A, (size_t)nx * nx), eb = rel_diff(b->B, B, (size_t)nx * nu);
        CHECK(ea < 1e-5 && eb < 1e-5, "%s: recorded vs direct: A %.2e, B %.2e", models[i], ea, eb);
        nn_free(A), nn_free(B), nn_free(work);
        mj_deleteData(d2);
        ph_batch_free(b);
        ph_free(ref);
        ph_free(pm);
    }
}

static void gradcheck_model(const char *file, ph_jac_method method, int centered, double tol_l2, double tol_max) {
    ph_config c = ph_config_default();
    c.substeps = 4;
    c.method = method;
    c.centered = centered;
    ph_model *pm = load(file, &c);
    ph_gc_config g = ph_gc_default();
    g.steps = 16;
    g.trajectories = 3;
    ph_gc_traj res[3];
    CHECK(ph_gradcheck(pm, &g, res) == 0, "%s: a trajectory blew up", file);
    for (int i = 0; i < 3; i++)
        CHECK(res[i].rel_l2 < tol_l2 && res[i].max_rel < tol_max, "%s traj %d: rel L2 %.2e, max rel %.2e", file, i,
              res[i].rel_l2, res[i].max_rel);
    ph_free(pm);
}

TEST(backprop_matches_rollout_differences_without_contacts) {
    // 16 control steps of 4 physics steps; measured: rel L2 errors 5e-9 .. 4e-7
    gradcheck_model(MODELS "pendulum2.xml", PH_JAC_AUTO, 0, 1e-5, 1e-3);
    gradcheck_model(MODELS "cartpole.xml", PH_JAC_AUTO, 0, 1e-5, 1e-3);
    gradcheck_model(MODELS "floating.xml", PH_JAC_AUTO, 0, 1e-5, 1e-3);
    gradcheck_model(MODELS "tendon_muscles.xml", PH_JAC_AUTO, 0, 1e-5, 1e-3);
    gradcheck_model(MODELS "floating.xml", PH_JAC_DIRECT, 1, 1e-6, 1e-4);
}

TEST(models_this_project_did_not_tune) {
    // muscles with activation states, a fixed and two spatial tendons, a soft joint-coupling
    // equality and an nstack sized for mj_step alone (mjd_transitionFD used to stop with
    // MuJoCo's "Stack overflow"). Centred Jacobians: with 4 substeps, forward differences are off
    // by rel L2 4e-2 on this model (centred: 6e-8, mjd_transitionFD and direct alike)
    gradcheck_model(MODELS "arm_small_stack.xml", PH_JAC_MJD, 1, 1e-5, 1e-3);
    gradcheck_model(MODELS "arm_small_stack.xml", PH_JAC_DIRECT, 1, 1e-5, 1e-3);
    // a four-bar linkage closed by a connect equality, a tendon-driven motor, nstack 100
    // (transitionFD needs 152); centred: rel L2 5e-8 (forward differences: 1.2e-4)
    gradcheck_model(MODELS "fourbar_connect.xml", PH_JAC_MJD, 1, 1e-5, 1e-3);
    gradcheck_model(MODELS "fourbar_connect.xml", PH_JAC_DIRECT, 1, 1e-5, 1e-3);
}

TEST(rk4_uses_direct_differences) {
    // mjd_transitionFD is wrong for RK4 in 2.2.2; auto picks direct differences, which check out
    char path[300];
    snprintf(path, sizeof path, "%s/rk4.xml", test_tmpdir());
    FILE *f = fopen(path, "w");
    CHECK(f, "cannot write %s", path);
    fputs("<mujoco><option timestep='0.01' integrator='RK4'/><worldbody><body><joint type='hinge' axis='0 1 0'/>"
          "<geom type='capsule' fromto='0 0 0 0.3 0 0' size='0.03'/><body pos='0.3 0 0'><joint type='hinge' axis='0 1 0'/>"
          "<geom type='capsule' fromto='0 0 0 0.3 0 0' size='0.03'/></body></body></worldbody>"
          "<actuator><motor joint='' gear='1' ctrllimited='true' ctrlrange='-1 1'/></actuator></mujoco>", f);
    fclose(f);
    // the motor above names no joint, which MuJoCo rejects: a clear error, not a crash
    ph_config c = ph_config_default();
    char err[512];
    CHECK(!ph_load(path, &c, err, sizeof err) && strstr(err, "rk4.xml"), "bad model accepted: %s", err);
    f = fopen(path, "w");
    fputs("<mujoco><option timestep='0.01' integrator='RK4'/><worldbody><body><joint name='a' type='hinge' axis='0 1 0'/>"
          "<geom type='capsule' fromto='0 0 0 0.3 0 0' size='0.03'/><body pos='0.3 0 0'><joint name='b' type='hinge' "
          "axis='0 1 0'/><geom type='capsule' fromto='0 0 0 0.3 0 0' size='0.03'/></body></body></worldbody>"
          "<actuator><motor joint='a' gear='1' ctrllimited='true' ctrlrange='-1 1'/></actuator></mujoco>", f);
    fclose(f);
    ph_model *pm = load(path, &c);
    CHECK(!pm->use_mjd, "RK4 model on mjd_transitionFD");
    ph_free(pm);
    gradcheck_model(path, PH_JAC_AUTO, 1, 1e-5, 1e-3);
}

TEST(backprop_with_contacts_is_measured) {
    // through ground contact the agreement is looser and trajectory-dependent (docs/physics.md);
    // 8 control steps, feet on the ground: measured rel L2 errors around 1e-5 .. 1e-4
    ph_config c = ph_config_default();
    c.substeps = 4;
    ph_model *pm = load(MODELS "hopper_contact.xml", &c);
    ph_gc_config g = ph_gc_default();
    g.steps = 8;
    g.trajectories = 4;
    ph_gc_traj res[4];
    CHECK(ph_gradcheck(pm, &g, res) == 0, "a trajectory blew up");
    int ok = 0;
    for (int i = 0; i < 4; i++) {
        CHECK(res[i].max_contacts > 0, "trajectory %d saw no contact", i);
        ok += res[i].rel_l2 < 1e-2;
    }
    CHECK(ok >= 3, "fewer than 3 of 4 contact trajectories within 1e-2 rel L2");
    ph_free(pm);
}

// a rollout of n hopper environments from different starts, recording if asked; copies the final
// states (and the Jacobians) into out
static void hopper_rollout(int threads, int record, double *states, double *jac) {
    nn_set_threads(threads);
    ph_config c = ph_config_default();
    c.substeps = 2;
    ph_model *pm = load(MODELS "hopper_contact.xml", &c);
    int n = 6, T = 10;
    ph_batch *b = ph_batch_new(pm, n, T);
    for (int e = 0; e < n; e++) {
        double qvel[6] = {0.1 * e, -0.05 * e, 0.2, 0, 0, 0};
        ph_set_state(b, e, pm->m->qpos0, qvel, NULL);
    }
    double u[6 * 3];
    ph_record_begin(b);
    for (int t = 0; t < T; t++) {
        controls(pm, n, t, u);
        ph_step(b, u, record);
    }
    for (int e = 0; e < n; e++) {
        memcpy(states + e * 12, b->d[e]->qpos, sizeof(double) * 6);
        memcpy(states + e * 12 + 6, b->d[e]->qvel, sizeof(double) * 6);
    }
    if (jac) {
        memcpy(jac, b->A, sizeof(double) * T * n * 144);
        memcpy(jac + T * n * 144, b->B, sizeof(double) * T * n * 36);
    }
    ph_batch_free(b);
    ph_free(pm);
    nn_set_threads(0);
}

TEST(bitwise_same_with_1_and_2_threads) {
    static double s1[72], s2[72], s3[72], j1[10 * 6 * 180], j2[10 * 6 * 180];
    hopper_rollout(1, 1, s1, j1);
    hopper_rollout(2, 1, s2, j2);
    CHECK(!memcmp(s1, s2, sizeof s1), "states differ between 1 and 2 threads");
    CHECK(!memcmp(j1, j2, sizeof j1), "Jacobians differ between 1 and 2 threads");
    // recording does not change the trajectory
    hopper_rollout(2, 0, s3, NULL);
    CHECK(!memcmp(s1, s3, sizeof s1), "a recorded rollout differs from a plain one");
}

TEST(rollout_equals_steps) {
    // ph_rollout (one parallel region) gives exactly what T ph_step calls give
    ph_config c = ph_config_default();
    c.substeps = 3;
    ph_model *pm = load(MODELS "hopper_contact.xml", &c);
    int n = 5, T = 12;
    double *u = nn_malloc(sizeof(double) * T * n * pm->nu);
    for (int t = 0; t < T; t++) controls(pm, n, t, u + (size_t)t * n * pm->nu);
    ph_batch *a = ph_batch_new(pm, n, 0), *b = ph_batch_new(pm, n, 0);
    ph_rollout(a, T, u);
    for (int t = 0; t < T; t++) ph_step(b, u + (size_t)t * n * pm->nu, 0);
    for (int e = 0; e < n; e++)
        CHECK(!memcmp(a->d[e]->qpos, b->d[e]->qpos, sizeof(double) * pm->nq) &&
                  !memcmp(a->d[e]->qvel, b->d[e]->qvel, sizeof(double) * pm->nv),
              "environment %d: rollout and steps differ", e);
    nn_free(u);
    ph_batch_free(a);
    ph_batch_free(b);
    ph_free(pm);
}

TEST(restored_state_continues_exactly) {
    // a state saved from one batch and restored into another (a resumed run) steps on bit for
    // bit. The free body's quaternion is what could go wrong: mj_forward normalises it in qpos in
    // place, and normalising it again can move its last bits, so the restore must keep the saved
    // qpos; the case counts the environments where ph_set_state alone would have changed it
    ph_config c = ph_config_default();
    c.substeps = 2;
    ph_model *pm = load(MODELS "floating.xml", &c);
    int n = 16, T = 20, nq = pm->nq, nv = pm->nv;
    double *u = nn_malloc(sizeof(double) * n * pm->nu);
    double *q = nn_malloc(sizeof(double) * n * nq), *v = nn_malloc(sizeof(double) * n * nv),
           *w = nn_malloc(sizeof(double) * n * nv);
    ph_batch *a = ph_batch_new(pm, n, 0), *b = ph_batch_new(pm, n, 0), *s = ph_batch_new(pm, n, 0);
    for (int t = 0; t < T; t++) controls(pm, n, t, u), ph_step(a, u, 0);
    int moved = 0;
    for (int e = 0; e < n; e++) {
        memcpy(q + (size_t)e * nq, a->d[e]->qpos, sizeof(double) * nq);
        memcpy(v + (size_t)e * nv, a->d[e]->qvel, sizeof(double) * nv);
        memcpy(w + (size_t)e * nv, a->d[e]->qacc_warmstart, sizeof(double) * nv);
        ph_restore_state(b, e, q + (size_t)e * nq, v + (size_t)e * nv, NULL, w + (size_t)e * nv);
        ph_set_state(s, e, q + (size_t)e * nq, v + (size_t)e * nv, NULL);
        moved += memcmp(s->d[e]->qpos, q + (size_t)e * nq, sizeof(double) * nq) != 0;
    }
    CHECK(moved > 0, "no environment's quaternion moved under ph_set_state: the case tests nothing");
    for (int t = T; t < T + 10; t++) controls(pm, n, t, u), ph_step(a, u, 0), ph_step(b, u, 0);
    for (int e = 0; e < n; e++)
        CHECK(!memcmp(a->d[e]->qpos, b->d[e]->qpos, sizeof(double) * nq) &&
                  !memcmp(a->d[e]->qvel, b->d[e]->qvel, sizeof(double) * nv),
              "environment %d: the restored state stepped elsewhere (%d of %d quaternions moved on restore)", e,
              moved, n);
    nn_free(u), nn_free(q), nn_free(v), nn_free(w);
    ph_batch_free(a), ph_batch_free(b), ph_batch_free(s);
    ph_free(pm);
}

TEST(blowup_is_contained) {
    ph_config c = ph_config_default();
    ph_model *pm = load(MODELS "pendulum2.xml", &c);
    ph_batch *bad = ph_batch_new(pm, 4, 4), *good = ph_batch_new(pm, 4, 4);
    // environment 2 of one batch starts with a runaway velocity, then (next step) a NaN position
    double qvel[2] = {1e12, 0}, qnan[2] = {NAN, 0};
    ph_set_state(bad, 2, pm->m->qpos0, qvel, NULL);
    double u[8] = {0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8};
    ph_record_begin(bad);
    ph_step(bad, u, 1);
    ph_step(good, u, 0);
    CHECK(bad->bad[2] && !bad->bad[0] && !bad->bad[1] && !bad->bad[3], "wrong environments flagged");
    CHECK(bad->blowups == 1, "blowups counted %ld", bad->blowups);
    CHECK(ph_was_cut(bad, 0, 2) && !ph_was_cut(bad, 0, 1), "cut flags");
    for (int i = 0; i < pm->nx * pm->nx; i++) CHECK(bad->A[2 * pm->nx * pm->nx + i] == 0.0, "Jacobian of a blow-up not zero");
    // reset to the model's default state, finite
    CHECK(bad->d[2]->qpos[0] == pm->m->qpos0[0] && bad->d[2]->qvel[0] == 0.0, "blown-up env not reset");
    ph_set_state(bad, 2, qnan, NULL, NULL);
    ph_step(bad, u, 1);
    ph_step(good, u, 0);
    CHECK(bad->bad[2] && bad->blowups == 2 && isfinite(bad->d[2]->qpos[0]), "NaN state not contained");
    // the other environments are exactly what they would have been
    for (int e = 0; e < 4; e++) {
        if (e == 2) continue;
        CHECK(!memcmp(bad->d[e]->qpos, good->d[e]->qpos, sizeof(double) * pm->nq) &&
                  !memcmp(bad->d[e]->qvel, good->d[e]->qvel, sizeof(double) * pm->nv),
              "environment %d was affected by another's blow-up", e);
    }
    ph_batch_free(bad);
    ph_batch_free(good);
    ph_free(pm);
}

TEST(gradient_cut_at_reset) {
    // L depends only on states after a reset; nothing may flow to controls or the start before it
    ph_config c = ph_config_default();
    c.substeps = 2;
    ph_model *pm = load(MODELS "pendulum2.xml", &c);
    ph_batch *b = ph_batch_new(pm, 1, 6);
    int nx = pm->nx, nu = pm->nu;
    double u[2], dldx_mem[7][4] = {{0}}, dldu_mem[6][2], gx0[4];
    ph_record_begin(b);
    for (int t = 0; t < 6; t++) {
        controls(pm, 1, t, u);
        ph_step(b, u, 1);
        if (t == 2) ph_set_state(b, 0, pm->m->qpos0, NULL, NULL);
    }
    const double *dldx[7] = {NULL, NULL, NULL, NULL, dldx_mem[4], dldx_mem[5], dldx_mem[6]};
    double *dldu[6];
    for (int t = 0; t < 6; t++) dldu[t] = dldu_mem[t];
    for (int t = 4; t <= 6; t++)
        for (int i = 0; i < nx; i++) dldx_mem[t][i] = 1.0 + i;
    ph_backward(b, dldx, dldu, gx0);
    for (int t = 0; t < 3; t++)
        for (int j = 0; j < nu; j++) CHECK(dldu[t][j] == 0.0, "gradient crossed the reset to u_%d", t);
    for (int i = 0; i < nx; i++) CHECK(gx0[i] == 0.0, "gradient crossed the reset to x_0");
    double after = 0;
    for (int t = 3; t < 6; t++)
        for (int j = 0; j < nu; j++) after += fabs(dldu[t][j]);
    CHECK(after > 0, "no gradient after the reset");
    ph_batch_free(b);
    ph_free(pm);
}

TEST(graph_step_matches_window_backward) {
    // the graph form of physics/diffstep.h (step, cut and reward nodes) against ph_backward on one
    // recorded window with a cut in environment 1 after step 2 (ph_set_state, as a reset): the same
    // dL/du_t up to the graph's float rounding, and nothing across the cut
    ph_config c = ph_config_default();
    c.substeps = 2;
    ph_model *pm = load(MODELS "pendulum2.xml", &c);
    enum { N = 3, T = 6 };
    int nx = pm->nx, nu = pm->nu;
    ph_batch *b = ph_batch_new(pm, N, T);
    double u[N * 2], w[T][N * 4], zero[N * 4] = {0}, dldu_mem[T][N * 2], gx0[N * 4], r[N] = {0};
    nn_graph *g = nn_graph_new(1 << 20);
    nn_tensor *x = nn_tensor_new(g, N, nx, 0), *ut[T], *sum = NULL;
    memset(x->x, 0, sizeof(float) * N * nx);
    ph_record_begin(b);
    for (int t = 0; t < T; t++) {
        controls(pm, N, t, u);
        ph_step(b, u, 1);
        if (t == 2) ph_set_state(b, 1, pm->m->qpos0, NULL, NULL);
        ut[t] = nn_tensor_new(g, N, nu, 1);
        for (int i = 0; i < N * nu; i++) ut[t]->x[i] = (float)u[i];
        for (int i = 0; i < N * nx; i++) w[t][i] = sin(0.9 * t + 0.37 * i);
        // L = Σ_t w_t·x_{t+1}: a "reward" with only a post-step state term
        nn_tensor *xo = ph_node_step(g, b, t, x, ut[t]);
        nn_tensor *lt = ph_node_reward(g, x, ut[t], xo, r, zero, zero, w[t]);
        sum = sum ? nn_add(g, sum, lt) : lt;
        if (t + 1 < T) x = ph_node_cut(g, b, t, xo, NULL);
    }
    float *seed = nn_grad(g, sum);
    for (int i = 0; i < N; i++) seed[i] = 1.0f;
    nn_backward(g, NULL);
    const double *dldx[T + 1] = {NULL};
    double *dldu[T];
    for (int t = 0; t < T; t++) dldx[t + 1] = w[t], dldu[t] = dldu_mem[t];
    ph_backward(b, dldx, dldu, gx0);
    double big = 0;
    for (int t = 0; t < T; t++)
        for (int i = 0; i < N * nu; i++) big = fmax(big, fabs(dldu[t][i]));
    CHECK(big > 0, "no gradient");
    for (int t = 0; t < T; t++)
        for (int i = 0; i < N * nu; i++) {
            double a = ut[t]->g[i];
            CHECK(fabs(a - dldu[t][i]) <= 1e-5 * big, "dL/du_%d[%d]: graph %.9g, window %.9g", t, i, a, dldu[t][i]);
        }
    // the cut is honoured: a loss on environment 1's states after the cut sends nothing before it
    for (int t = 0; t < T; t++) memset(w[t], 0, sizeof w[t]);
    for (int t = 3; t < T; t++)
        for (int k = 0; k < nx; k++) w[t][1 * nx + k] = 1.0 + k;
    ph_backward(b, dldx, dldu, gx0);
    for (int t = 0; t <= 2; t++)
        for (int j = 0; j < nu; j++) CHECK(dldu[t][nu + j] == 0.0, "the gradient crossed the cut to u_%d", t);
    nn_graph_free(g);
    ph_batch_free(b);
    ph_free(pm);
}

// deepest contact penetration of the hopper after standing still for 1 s (settled)
static double penetration(const ph_config *c) {
    ph_model *pm = load(MODELS "hopper_contact.xml", c);
    ph_batch *b = ph_batch_new(pm, 1, 0);
    double u[3] = {0, 0, 0}, worst = 0;
    int steps = (int)(1.0 / (pm->m->opt.timestep * pm->cfg.substeps));
    for (int t = 0; t < steps; t++) ph_step(b, u, 0);
    for (int i = 0; i < b->d[0]->ncon; i++) worst = fmax(worst, -b->d[0]->contact[i].dist);
    CHECK(!b->blowups, "blow-up while standing");
    ph_batch_free(b);
    ph_free(pm);
    return worst;
}

TEST(overrides_take_effect) {
    ph_config c = ph_config_default();
    c.timestep = 0.002;
    c.substeps = 5;
    c.friction = 0.7;
    ph_model *pm = load(MODELS "hopper_contact.xml", &c);
    CHECK(pm->m->opt.timestep == 0.002 && pm->m->geom_friction[0] == 0.7, "timestep or friction not applied");
    ph_free(pm);
    // direct solref (−k, −d): 5× stiffer contacts sink measurably less
    c.contact_stiffness = 2e3, c.contact_damping = 60;
    double soft = penetration(&c);
    c.contact_stiffness = 1e4, c.contact_damping = 130;
    double stiff = penetration(&c);
    CHECK(stiff < 0.5 * soft, "penetration soft %.3g m, stiff %.3g m", soft, stiff);
    // contradictory or incomplete overrides are rejected with a message
    c.solref_timeconst = 0.02;
    char err[512];
    CHECK(!ph_load(MODELS "hopper_contact.xml", &c, err, sizeof err) && strstr(err, "not both"), "%s", err);
    ph_config d = ph_config_default();
    d.contact_stiffness = 1e4;
    CHECK(!ph_load(MODELS "hopper_contact.xml", &d, err, sizeof err) && strstr(err, "together"), "%s", err);
    CHECK(!ph_load(MODELS "missing.xml", &c, err, sizeof err) && strstr(err, "missing.xml"), "%s", err);
}

const test_case physics_tests[] = {
    {"recorded_matches_direct_fd", recorded_matches_direct_fd},
    {"backprop_matches_rollout_differences_without_contacts", backprop_matches_rollout_differences_without_contacts},
    {"models_this_project_did_not_tune", models_this_project_did_not_tune},
    {"rk4_uses_direct_differences", rk4_uses_direct_differences},
    {"backprop_with_contacts_is_measured", backprop_with_contacts_is_measured},
    {"bitwise_same_with_1_and_2_threads", bitwise_same_with_1_and_2_threads},
    {"rollout_equals_steps", rollout_equals_steps},
    {"restored_state_continues_exactly", restored_state_continues_exactly},
    {"blowup_is_contained", blowup_is_contained},
    {"gradient_cut_at_reset", gradient_cut_at_reset},
    {"graph_step_matches_window_backward", graph_step_matches_window_backward},
    {"overrides_take_effect", overrides_take_effect},
    {0},
};
