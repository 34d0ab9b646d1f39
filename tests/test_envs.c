// Tasks: dimensions, reset distributions, rewards on hand-made states, observation and reward
// derivatives against finite differences, zero-action episodes, and errors.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../envs/env.h"
#include "../nn/common.h"
#include "test.h"

static env_batch *make(const char *name, int n) {
    const env_task *t = env_find(name);
    CHECK(t, "task %s not registered", name);
    char err[1024];
    env_batch *e = env_batch_new(t, NULL, NULL, n, 3, 0, err, sizeof err);
    CHECK(e, "%s", err);
    return e;
}

TEST(dims) {
    for (int i = 0; env_tasks[i]; i++) {
        const env_task *t = env_tasks[i];
        env_batch *e = make(t->name, 1);
        CHECK(e->pm->nu == t->act_dim, "%s: %d actuators, %d actions", t->name, e->pm->nu, t->act_dim);
        env_batch_free(e);
    }
    CHECK(env_find("hopper")->obs_dim == 11 && env_find("hopper")->act_dim == 3, "hopper dims");
    CHECK(env_find("gym-hopper")->obs_dim == 11 && env_find("gym-hopper")->act_dim == 3, "gym-hopper dims");
    CHECK(env_find("ant")->obs_dim == 37 && env_find("ant")->act_dim == 8, "ant dims");
    CHECK(env_find("humanoid")->obs_dim == 76 && env_find("humanoid")->act_dim == 21, "humanoid dims");
}

TEST(reset_distribution) {
    // hopper: every qpos and qvel U(±0.05) around the start; gym-hopper U(±5e-3)
    const char *names[2] = {"hopper", "gym-hopper"};
    double half[2] = {0.05, 5e-3};
    for (int k = 0; k < 2; k++) {
        env_batch *e = make(names[k], 1);
        const mjModel *m = e->pm->m;
        int N = 2000;
        double mean[12] = {0}, sq[12] = {0}, worst = 0;
        for (int r = 0; r < N; r++) {
            env_reset_all(e);
            const mjData *d = e->b->d[0];
            for (int i = 0; i < 12; i++) {
                double v = i < 6 ? d->qpos[i] - m->qpos0[i] : d->qvel[i - 6];
                mean[i] += v / N, sq[i] += v * v / N;
                worst = fmax(worst, fabs(v));
            }
        }
        CHECK(worst <= half[k], "%s: reset noise %g beyond %g", names[k], worst, half[k]);
        for (int i = 0; i < 12; i++) {
            CHECK_CLOSE(mean[i], 0.0, 0, 5 * half[k] / sqrt(3.0 * N));
            CHECK_CLOSE(sqrt(sq[i]), half[k] / sqrt(3.0), 0.1, 0);
        }
        env_batch_free(e);
    }
}

TEST(locomotion_reset_distribution) {
    // position ± 0.1, a rotation of at most π/24 from the start pose, hinges ± 0.2, velocities ± 0.25
    const char *names[2] = {"ant", "humanoid"};
    for (int k = 0; k < 2; k++) {
        env_batch *e = make(names[k], 1);
        const mjModel *m = e->pm->m;
        int key = mj_name2id(m, mjOBJ_KEY, "start");
        const double *q0 = key >= 0 ? m->key_qpos + (size_t)key * m->nq : m->qpos0;
        double max_angle = 0, max_pos = 0, max_joint = 0, max_vel = 0, mean_vx = 0;
        int N = 500;
        for (int r = 0; r < N; r++) {
            env_reset_all(e);
            const mjData *d = e->b->d[0];
            for (int i = 0; i < 3; i++) max_pos = fmax(max_pos, fabs(d->qpos[i] - q0[i]));
            double dot = fabs(mju_dot(d->qpos + 3, q0 + 3, 4));
            max_angle = fmax(max_angle, 2 * acos(fmin(1.0, dot)));
            for (int j = 7; j < m->nq; j++) max_joint = fmax(max_joint, fabs(d->qpos[j] - q0[j]));
            for (int i = 0; i < m->nv; i++) max_vel = fmax(max_vel, fabs(d->qvel[i]));
            mean_vx += d->qvel[0] / N;
        }
        CHECK(max_pos <= 0.1 && max_pos > 0.09, "%s: position noise %g", names[k], max_pos);
        CHECK(max_angle <= M_PI / 24 + 1e-9 && max_angle > 0.8 * M_PI / 24, "%s: rotation %g", names[k], max_angle);
        CHECK(max_joint <= 0.2 && max_joint > 0.18, "%s: joint noise %g", names[k], max_joint);
        CHECK(max_vel <= 0.25 && max_vel > 0.24, "%s: velocity noise %g", names[k], max_vel);
        CHECK_CLOSE(mean_vx, 0.0, 0, 5 * 0.25 / sqrt(3.0 * N));
        env_batch_free(e);
    }
}

TEST(hopper_reward_on_hand_made_states) {
    env_batch *e = make("hopper", 1);
    const env_task *t = e->task;
    mjData *d = e->b->d[0];
    double a[3] = {0.5, -1.0, 0.2}, pen = 0.1 * (0.25 + 1.0 + 0.04);
    struct { double z, pitch, vx, expect; } cases[] = {
        {0.1, 0.2, 1.5, 1.5 + 0.3 + (1 - 0.04 / (0.524 * 0.524))},              // h clipped at 0.3
        {-0.1, 0.0, 0.0, 0.2 + 1.0},                                             // h = 0.2
        {-0.5, -0.3, 2.0, 2.0 - 200 * 0.04 + (1 - 0.09 / (0.524 * 0.524))},     // h = −0.2
        {-2.0, 0.0, 0.0, -200.0 + 1.0},                                          // h clipped at −1
    };
    for (int c = 0; c < 4; c++) {
        memset(d->qpos, 0, sizeof(double) * 6);
        memset(d->qvel, 0, sizeof(double) * 6);
        d->qpos[1] = cases[c].z, d->qpos[2] = cases[c].pitch, d->qvel[0] = cases[c].vx;
        mj_forward(e->pm->m, d);
        double r = t->reward(t, e->pm->m, d, NULL, a, NULL, NULL, NULL);
        CHECK_CLOSE(r, cases[c].expect - pen, 1e-12, 1e-12);
    }
    // termination: torso below 0.80 m (rootz < −0.45), whatever the angle
    d->qpos[1] = -0.44, d->qpos[2] = 1.2;
    CHECK(!t->terminated(t, e->pm->m, d), "terminated above 0.80 m");
    d->qpos[1] = -0.46, d->qpos[2] = 0.0;
    CHECK(t->terminated(t, e->pm->m, d), "not terminated below 0.80 m");
    env_batch_free(e);
}

TEST(gym_hopper_matches_v5_definitions) {
    env_batch *e = make("gym-hopper", 1);
    const env_task *t = e->task;
    const mjModel *m = e->pm->m;
    mjData *pre = mj_makeData(m), *post = mj_makeData(m);
    CHECK(m->opt.timestep == 0.002 && e->pm->cfg.substeps == 4 && m->opt.integrator == mjINT_RK4, "v5 timing");
    CHECK(m->qpos0[1] == 1.25, "rootz reference");
    // observation: qpos[1:], qvel clipped to ±10
    double qp[6] = {3.0, 1.2, 0.1, -0.2, -0.3, 0.4}, qv[6] = {12.0, -11.0, 0.5, 9.9, -10.5, 1.0}, obs[11];
    memcpy(post->qpos, qp, sizeof qp);
    memcpy(post->qvel, qv, sizeof qv);
    t->observe(t, m, post, NULL, obs, NULL);
    double want[11] = {1.2, 0.1, -0.2, -0.3, 0.4, 10.0, -10.0, 0.5, 9.9, -10.0, 1.0};
    for (int i = 0; i < 11; i++) CHECK(obs[i] == want[i], "obs[%d] = %g, want %g", i, obs[i], want[i]);
    // reward: forward velocity over 0.008 s + healthy − 1e-3‖a‖²
    memcpy(pre->qpos, qp, sizeof qp);
    pre->qpos[0] = 2.99;
    double a[3] = {1, -1, 0.5};
    double r = t->reward(t, m, pre, post, a, NULL, NULL, NULL);
    CHECK_CLOSE(r, 0.01 / 0.008 + 1.0 - 1e-3 * 2.25, 1e-9, 1e-12);
    // healthy: z > 0.7, |angle| < 0.2, |(qpos[2:], qvel)| < 100; unhealthy pays no healthy reward
    memset(post->qvel, 0, sizeof qv);
    CHECK(!t->terminated(t, m, post), "healthy state terminated");
    post->qpos[1] = 0.69;
    CHECK(t->terminated(t, m, post), "z <= 0.7 not terminated");
    CHECK_CLOSE(t->reward(t, m, pre, post, a, NULL, NULL, NULL), 0.01 / 0.008 - 1e-3 * 2.25, 1e-9, 1e-12);
    post->qpos[1] = 1.2, post->qpos[2] = -0.21;
    CHECK(t->terminated(t, m, post), "|angle| >= 0.2 not terminated");
    post->qpos[2] = 0.0, post->qvel[4] = 100.5;
    CHECK(t->terminated(t, m, post), "|state| >= 100 not terminated");
    post->qvel[4] = 0.0, post->qpos[0] = 500.0;
    CHECK(!t->terminated(t, m, post), "x position must not count toward the state bound");
    mj_deleteData(pre);
    mj_deleteData(post);
    env_batch_free(e);
}

// central differences of the observation and reward along every tangent direction, and of the
// reward in the action, against the task's analytic derivatives
#define ENV_TEST_MAX_ACT 152

static void check_derivatives(const char *name, int steps) {
    env_batch *e = make(name, 1);
    const env_task *t = e->task;
    const ph_model *pm = e->pm;
    const mjModel *m = pm->m;
    int nx = pm->nx, O = t->obs_dim, A = t->act_dim;
    double *a = nn_malloc(sizeof(double) * A), u[ENV_TEST_MAX_ACT];
    CHECK(A <= ENV_TEST_MAX_ACT, "%s: %d actions", name, A);
    for (int s = 0; s < steps; s++) {
        for (int j = 0; j < A; j++) u[j] = 0.5 * sin(1.0 + s + 2.0 * j);
        env_step(e, u, 0);
    }
    for (int j = 0; j < A; j++) a[j] = 0.7 * cos(3.0 + j);
    mjData *d = e->b->d[0], *p = mj_makeData(m), *q = mj_makeData(m);
    double *J = nn_malloc(sizeof(double) * O * nx), *dx = nn_malloc(sizeof(double) * nx);
    double *dpost = nn_malloc(sizeof(double) * nx), *da = nn_malloc(sizeof(double) * A);
    double *op = nn_malloc(sizeof(double) * O), *om = nn_malloc(sizeof(double) * O), *obs = nn_malloc(sizeof(double) * O);
    double *dir = nn_malloc(sizeof(double) * nx);
    t->observe(t, m, d, e->prev, obs, J);
    // the state terms are differentiated at d (as pre-step state, and as post-step state)
    t->reward(t, m, d, t->reward_uses_post ? d : NULL, a, dx, t->reward_uses_post ? dpost : NULL, da);
    double h = 1e-6;
    for (int k = 0; k < nx; k++) {
        memset(dir, 0, sizeof(double) * nx);
        dir[k] = 1.0;
        mj_copyData(p, m, d);
        mj_copyData(q, m, d);
        ph_state_perturb(pm, p, dir, h);
        ph_state_perturb(pm, q, dir, -h);
        mj_forward(m, p);
        mj_forward(m, q);
        t->observe(t, m, p, e->prev, op, NULL);
        t->observe(t, m, q, e->prev, om, NULL);
        for (int i = 0; i < O; i++)
            CHECK_CLOSE(J[i * nx + k], (op[i] - om[i]) / (2 * h), 1e-5, 1e-6);
        double rp = t->reward(t, m, p, t->reward_uses_post ? d : NULL, a, NULL, NULL, NULL);
        double rm = t->reward(t, m, q, t->reward_uses_post ? d : NULL, a, NULL, NULL, NULL);
        CHECK_CLOSE(dx[k], (rp - rm) / (2 * h), 1e-5, 1e-5);
        if (t->reward_uses_post) {
            rp = t->reward(t, m, d, p, a, NULL, NULL, NULL);
            rm = t->reward(t, m, d, q, a, NULL, NULL, NULL);
            CHECK_CLOSE(dpost[k], (rp - rm) / (2 * h), 1e-5, 1e-5);
        }
    }
    for (int j = 0; j < A; j++) {
        double save = a[j];
        a[j] = save + h;
        double rp = t->reward(t, m, d, t->reward_uses_post ? d : NULL, a, NULL, NULL, NULL);
        a[j] = save - h;
        double rm = t->reward(t, m, d, t->reward_uses_post ? d : NULL, a, NULL, NULL, NULL);
        a[j] = save;
        CHECK_CLOSE(da[j], (rp - rm) / (2 * h), 1e-6, 1e-7);
    }
    mj_deleteData(p);
    mj_deleteData(q);
    nn_free(a), nn_free(J), nn_free(dx), nn_free(dpost), nn_free(da), nn_free(op), nn_free(om), nn_free(obs), nn_free(dir);
    env_batch_free(e);
}

TEST(observation_and_reward_derivatives) {
    // at the start and a few steps into an episode (different height-term branches)
    check_derivatives("hopper", 0);
    check_derivatives("hopper", 30);
    check_derivatives("gym-hopper", 5);
    check_derivatives("ant", 0);
    check_derivatives("ant", 20);
    check_derivatives("humanoid", 0);
    check_derivatives("humanoid", 25);
    check_derivatives("double-pendulum", 40);
    check_derivatives("snu-humanoid", 0);
    check_derivatives("snu-humanoid", 20);
}

TEST(double_pendulum) {
    // upright at rest stays there with no action; the reward is its formula; truncation at 240
    env_batch *e = make("double-pendulum", 1);
    const env_task *t = e->task;
    const mjModel *m = e->pm->m;
    mjData *d = e->b->d[0];
    double u[1] = {0};
    for (int s = 0; s < 10; s++) env_step(e, u, 0);
    CHECK(d->qpos[0] == 0.0 && d->qpos[1] == 0.0 && e->rew[0] == 0.0, "upright equilibrium left");
    d->qpos[0] = 0.3, d->qpos[1] = 2 * M_PI - 0.2, d->qvel[0] = 1.0, d->qvel[1] = -2.0;
    double r = t->reward(t, m, d, NULL, u, NULL, NULL, NULL);
    CHECK_CLOSE(r, -(0.09 + 0.04) - 0.1 * (1.0 + 4.0), 1e-12, 1e-12);
    // the chain: the elbow hinge sits at the tip of the first rod (1 m above the 2.5 m base)
    CHECK_CLOSE(m->body_pos[3 * 2 + 2], 1.0, 1e-12, 0);
    // the motor drives only the second joint, with the paper's 1000 N m
    CHECK(m->actuator_trnid[0] == 1 && m->actuator_gear[0] == 1000.0, "motor on the elbow with gear 1000");
    env_reset_all(e);
    u[0] = 0.3;
    int steps = 0;
    do {
        env_step(e, u, 0);
        steps++;
    } while (!e->term[0] && !e->trunc[0]);
    CHECK(e->trunc[0] && !e->term[0] && steps == 240, "episode ended after %d steps", steps);
    env_batch_free(e);
}

TEST(locomotion_reward_on_hand_made_states) {
    // upright torso facing +x at the origin: up = 1, heading = 1
    const char *names[2] = {"ant", "humanoid"};
    for (int k = 0; k < 2; k++) {
        env_batch *e = make(names[k], 1);
        const env_task *t = e->task;
        const mjModel *m = e->pm->m;
        mjData *d = e->b->d[0];
        double a[21];
        for (int j = 0; j < t->act_dim; j++) a[j] = 0.5;
        double z[2] = {0.9, 0.5}, vx = 1.7;
        for (int c = 0; c < 2; c++) {
            mj_resetData(m, d);
            d->qpos[2] = z[c];
            d->qvel[0] = vx;
            mj_forward(m, d);
            double r = t->reward(t, m, d, NULL, a, NULL, NULL, NULL), want;
            if (k == 0) {
                want = vx + 0.1 + 1.0 + (z[c] - 0.27);
            } else {
                double h = z[c] - 0.84;
                h = h > 0.1 ? 0.1 : h;
                want = vx + 0.1 + 1.0 + (h < 0 ? -200 * h * h : 10 * h) - 0.002 * 0.25 * 21;
            }
            CHECK_CLOSE(r, want, 1e-12, 1e-12);
            double obs[76];
            t->observe(t, m, d, a, obs, NULL);
            CHECK(obs[0] == z[c] && obs[1] == 1.0 && obs[5] == vx, "%s: observation layout", names[k]);
        }
        // termination heights
        d->qpos[2] = k == 0 ? 0.26 : 0.73;
        CHECK(t->terminated(t, m, d), "%s: not terminated below its height", names[k]);
        d->qpos[2] = k == 0 ? 0.28 : 0.75;
        CHECK(!t->terminated(t, m, d), "%s: terminated above its height", names[k]);
        env_batch_free(e);
    }
}

TEST(zero_action_episode_terminates) {
    // with no control the hoppers and the humanoid fall: terminated before the time limit
    const char *names[3] = {"hopper", "gym-hopper", "humanoid"};
    for (int k = 0; k < 3; k++) {
        env_batch *e = make(names[k], 1);
        double u[ENV_TEST_MAX_ACT] = {0};
        int steps = 0;
        do {
            env_step(e, u, 0);
            steps++;
        } while (!e->term[0] && !e->trunc[0]);
        CHECK(e->term[0] && !e->trunc[0], "%s: zero-action episode ended by %s after %d steps", names[k],
              e->term[0] ? "termination" : "time-out", steps);
        CHECK(e->len_final[0] == steps && e->episodes == 1 && e->steps[0] == 0, "%s: episode bookkeeping", names[k]);
        env_batch_free(e);
    }
    // the ant settles on its four legs and stays up: the episode runs to the time limit
    env_batch *e = make("ant", 1);
    double u[8] = {0};
    do env_step(e, u, 0);
    while (!e->term[0] && !e->trunc[0]);
    CHECK(e->trunc[0] && !e->term[0] && e->len_final[0] == 1000, "ant: zero-action episode ended after %d steps",
          e->len_final[0]);
    env_batch_free(e);
}

// The Humanoid's joint sign conventions (humanoid.xml): negative knee flexes the knee (the foot
// swings behind the shin, as in DiffRL's model; until commit 0c05e8b it swung forward), negative
// hip_y swings the leg forward, negative abdomen_y bends the trunk forward; both sides alike.
static double child_x_after(const mjModel *m, mjData *d, const char *joint, const char *child, double angle) {
    int j = mj_name2id(m, mjOBJ_JOINT, joint), b = mj_name2id(m, mjOBJ_BODY, child);
    CHECK(j >= 0 && b >= 0, "humanoid.xml lacks joint %s or body %s", joint, child);
    memcpy(d->qpos, m->qpos0, sizeof(double) * m->nq);
    d->qpos[m->jnt_qposadr[j]] = angle;
    mj_kinematics(m, d);
    return d->xpos[3 * b];
}

TEST(resets_are_recorded_cuts) {
    // the reset rule of the differentiable step (physics/diffstep.h) follows the physics layer's
    // cut flags; within env_step they are exactly the episode ends (terminations, blow-ups
    // included, and time-outs), so a learner that cut at term | trunc computed the same
    const env_task *t = env_find("hopper");
    char err[512];
    env_batch *e = env_batch_new(t, NULL, NULL, 6, 4, 40, err, sizeof err);
    CHECK(e, "%s", err);
    env_batch_enable_grads(e);
    nn_rng r;
    nn_rng_init(&r, 8, 0);
    double u[6 * 3];
    long ends = 0;
    for (int w = 0; w < 3; w++) {
        ph_record_begin(e->b);
        for (int k = 0; k < 40; k++) {
            for (int i = 0; i < 18; i++) u[i] = 2 * nn_rng_uniform(&r) - 1;
            env_step(e, u, 1);
            for (int i = 0; i < 6; i++) {
                int end = e->term[i] || e->trunc[i];
                CHECK(ph_was_cut(e->b, k, i) == end, "window %d step %d env %d: cut %d, episode end %d", w, k, i,
                      ph_was_cut(e->b, k, i), end);
                ends += end;
            }
        }
    }
    CHECK(ends > 0, "no episode ended: the test shows nothing");
    env_batch_free(e);
}

TEST(humanoid_joint_directions) {
    env_batch *e = make("humanoid", 1);
    const mjModel *m = e->pm->m;
    mjData *d = mj_makeData(m);
    const char *sides[2] = {"right", "left"};
    for (int s = 0; s < 2; s++) {
        char knee[32], hip[32], shin[32], foot[32];
        snprintf(knee, sizeof knee, "%s_knee", sides[s]);
        snprintf(hip, sizeof hip, "%s_hip_y", sides[s]);
        snprintf(shin, sizeof shin, "%s_shin", sides[s]);
        snprintf(foot, sizeof foot, "%s_foot", sides[s]);
        double straight = child_x_after(m, d, knee, foot, 0.0), bent = child_x_after(m, d, knee, foot, -1.0);
        CHECK(bent < straight - 0.2, "%s: knee -1 rad moves the foot from x %.3f to %.3f: it must swing back", knee,
              straight, bent);
        double hip0 = child_x_after(m, d, hip, shin, 0.0), hip1 = child_x_after(m, d, hip, shin, -1.0);
        CHECK(hip1 > hip0 + 0.2, "%s: -1 rad moves the shin from x %.3f to %.3f: it must swing forward", hip, hip0,
              hip1);
        int j = mj_name2id(m, mjOBJ_JOINT, knee);
        CHECK(m->jnt_range[2 * j] < -2.7 && m->jnt_range[2 * j + 1] > 0.0, "%s range [%g, %g]: DiffRL's -160..2 deg",
              knee, m->jnt_range[2 * j], m->jnt_range[2 * j + 1]);
    }
    double up = child_x_after(m, d, "abdomen_y", "pelvis", 0.0);
    double bent = child_x_after(m, d, "abdomen_y", "pelvis", -1.0);
    // relative to the torso the pelvis (below the joint) swings forward: with the legs planted, the trunk leans forward
    CHECK(bent > up + 0.1, "abdomen_y -1 rad moves the pelvis from x %.3f to %.3f", up, bent);
    mj_deleteData(d);
    env_batch_free(e);
}

TEST(errors_are_clear) {
    char err[1024], path[300];
    CHECK(env_find("hoper") == NULL, "unknown task found");
    const env_task *t = env_find("hopper");
    CHECK(!env_batch_new(t, NULL, "/nonexistent/model.xml", 1, 1, 0, err, sizeof err) && strstr(err, "hopper") &&
              strstr(err, "/nonexistent/model.xml"),
          "missing model: %s", err);
    // a loadable model with the wrong number of actuators
    snprintf(path, sizeof path, "%s/one_motor.xml", test_tmpdir());
    FILE *f = fopen(path, "w");
    fputs("<mujoco><worldbody><body><joint name='j' type='hinge'/><geom size='0.1'/></body></worldbody>"
          "<actuator><motor joint='j'/></actuator></mujoco>", f);
    fclose(f);
    CHECK(!env_batch_new(t, NULL, path, 1, 1, 0, err, sizeof err) && strstr(err, "1 actuators"), "wrong model: %s", err);
    // invalid XML
    f = fopen(path, "w");
    fputs("<mujoco><worldbody><body>", f);
    fclose(f);
    CHECK(!env_batch_new(t, NULL, path, 1, 1, 0, err, sizeof err) && strstr(err, "cannot load"), "bad XML: %s", err);
}

TEST(reward_action_derivative_alone) {
    // env_batch_enable_drda fills drda, the same as with every derivative on
    // (env_batch_enable_grads), for every task and both reward timings' kinds (gym-hopper's reward
    // uses the post-step state), without the Jacobians, and the values stay the same
    for (int ti = 0; env_tasks[ti]; ti++) {
        const env_task *t = env_tasks[ti];
        env_batch *a = make(t->name, 2), *b = make(t->name, 2);
        env_batch_enable_drda(a);
        env_batch_enable_grads(b);
        CHECK(!a->J && !a->drdx && a->drda, "%s: drda alone allocated other derivatives", t->name);
        nn_rng r;
        nn_rng_init(&r, 9, 0);
        int A = t->act_dim;
        double *u = nn_malloc(sizeof(double) * 2 * A);
        for (int k = 0; k < 5; k++) {
            for (int i = 0; i < 2 * A; i++) u[i] = 2.2 * nn_rng_uniform(&r) - 1.1;
            env_step(a, u, 0), env_step(b, u, 0);
            for (int i = 0; i < 2; i++) CHECK(a->rew[i] == b->rew[i], "%s step %d: reward differs", t->name, k);
            for (int i = 0; i < 2 * A; i++)
                CHECK(a->drda[i] == b->drda[i], "%s step %d: drda[%d] %g vs %g", t->name, k, i, a->drda[i], b->drda[i]);
        }
        nn_free(u);
        env_batch_free(a), env_batch_free(b);
    }
}

const test_case envs_tests[] = {
    {"resets_are_recorded_cuts", resets_are_recorded_cuts},
    {"dims", dims},
    {"reset_distribution", reset_distribution},
    {"locomotion_reset_distribution", locomotion_reset_distribution},
    {"hopper_reward_on_hand_made_states", hopper_reward_on_hand_made_states},
    {"gym_hopper_matches_v5_definitions", gym_hopper_matches_v5_definitions},
    {"observation_and_reward_derivatives", observation_and_reward_derivatives},
    {"locomotion_reward_on_hand_made_states", locomotion_reward_on_hand_made_states},
    {"double_pendulum", double_pendulum},
    {"zero_action_episode_terminates", zero_action_episode_terminates},
    {"humanoid_joint_directions", humanoid_joint_directions},
    {"errors_are_clear", errors_are_clear},
    {"reward_action_derivative_alone", reward_action_derivative_alone},
    {0},
};
