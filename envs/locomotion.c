// The paper's Ant and Humanoid (DiffRL/dflex, PWM fork defaults): a torso on a free joint plus
// hinge joints, sharing one observation layout and one reward form.
//
// x (tangent) = (dpos 3, dθ 3 in the torso frame, hinge angles J, linear velocity 3 (world),
// angular velocity 3 (torso frame), hinge velocities J), as MuJoCo's free joint defines them.
//   observation: [0] torso height, [1:5] torso quaternion (MuJoCo order w, x, y, z), [5:8] linear
//     velocity of the torso origin (world), [8:11] angular velocity (world), hinge angles (J),
//     0.1·hinge velocities (J), up (torso z axis · world z), heading (torso x axis · the horizontal
//     direction to the target), previous actions (J)
//   reward: v_x + 0.1·up + heading + height term − c·Σa²
//     Ant: height term z − 0.27, c = 0;  Humanoid: h = clip(z − 0.84, −1, 0.1), −200h² if h < 0
//     else 10h, c = 0.002
//   termination: torso height below 0.27 (Ant) / 0.74 (Humanoid)
//   start: the model's "start" keyframe (else qpos0); position + U(±0.1), a rotation by U(±π/24)
//     about a random axis, hinge angles + U(±0.2), every velocity U(±0.25)
#include <math.h>
#include <string.h>

#include "tasks.h"

typedef struct {
    int joints;                  // hinge joints after the free joint (= actions)
    double target_x;             // the target is (target_x, 0) on the ground
    double term_height;
    int humanoid_height;         // 1: the Humanoid's height term; 0: the Ant's z − 0.27
    double action_cost;
} loco_params;

static const loco_params ant_params = {.joints = 8, .target_x = 10000.0, .term_height = 0.27, .action_cost = 0.0};
static const loco_params humanoid_params = {.joints = 21, .target_x = 200.0, .term_height = 0.74,
                                            .humanoid_height = 1, .action_cost = 0.002};

static const loco_params *params_of(const env_task *t) { return t->params; }

static void loco_reset(const env_task *t, const mjModel *m, mjData *d, nn_rng *r) {
    const loco_params *p = params_of(t);
    int key = mj_name2id(m, mjOBJ_KEY, "start");
    const double *q0 = key >= 0 ? m->key_qpos + (size_t)key * m->nq : m->qpos0;
    memcpy(d->qpos, q0, sizeof(double) * m->nq);
    for (int i = 0; i < 3; i++) d->qpos[i] += task_uniform(r, 0.1);
    // rotate by an angle U(±π/24) about a random axis
    double axis[3] = {task_uniform(r, 1.0), task_uniform(r, 1.0), task_uniform(r, 1.0)};
    double len = sqrt(axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]) + 1e-12;
    double angle = task_uniform(r, M_PI / 24.0), rot[4], q[4];
    for (int i = 0; i < 3; i++) axis[i] /= len;
    mju_axisAngle2Quat(rot, axis, angle);
    mju_mulQuat(q, rot, d->qpos + 3);
    mju_normalize4(q);
    memcpy(d->qpos + 3, q, sizeof q);
    for (int j = 0; j < p->joints; j++) d->qpos[7 + j] += task_uniform(r, 0.2);
    for (int i = 0; i < m->nv; i++) d->qvel[i] = task_uniform(r, 0.25);
}

// rotation matrix R (torso to world) of quaternion q, and [v]× products
static void cross_matrix(const double v[3], double C[9]) {
    double c[9] = {0, -v[2], v[1], v[2], 0, -v[0], -v[1], v[0], 0};
    memcpy(C, c, sizeof c);
}

// the torso's state and the target direction
typedef struct {
    double R[9], up, heading, dir[3], fwd[3], wworld[3], L;
} torso_frame;

static void torso(const env_task *t, const mjData *d, torso_frame *f) {
    const loco_params *p = params_of(t);
    mju_quat2Mat(f->R, d->qpos + 3);
    mju_mulMatVec(f->wworld, f->R, d->qvel + 3, 3, 3);
    f->up = f->R[8];
    double to[3] = {p->target_x - d->qpos[0], -d->qpos[1], 0.0};
    f->L = sqrt(to[0] * to[0] + to[1] * to[1]);
    for (int i = 0; i < 3; i++) f->dir[i] = to[i] / f->L;
    for (int i = 0; i < 3; i++) f->fwd[i] = f->R[3 * i];
    f->heading = f->fwd[0] * f->dir[0] + f->fwd[1] * f->dir[1];
}

// ∂(R v)/∂dθ = −R·[v]× (3×3), for a unit vector v in the torso frame
static void rotated_dtheta(const double R[9], const double v[3], double out[9]) {
    double C[9];
    cross_matrix(v, C);
    mju_mulMatMat(out, R, C, 3, 3, 3);
    for (int i = 0; i < 9; i++) out[i] = -out[i];
}

// gradients of up and heading with respect to x (nx), added with weights wu, wh
static void up_heading_grad(const torso_frame *f, double wu, double wh, double *g) {
    static const double ez[3] = {0, 0, 1}, ex[3] = {1, 0, 0};
    double Du[9], Dh[9];
    rotated_dtheta(f->R, ez, Du);
    rotated_dtheta(f->R, ex, Dh);
    for (int k = 0; k < 3; k++) {
        g[3 + k] += wu * Du[6 + k] + wh * (f->dir[0] * Dh[k] + f->dir[1] * Dh[3 + k]);
    }
    // heading through the target direction: ∂dir/∂p = −(I − dir·dirᵀ)/L in the ground plane
    for (int k = 0; k < 2; k++) {
        double s = 0;
        for (int i = 0; i < 2; i++) s += f->fwd[i] * (-((i == k) - f->dir[i] * f->dir[k]) / f->L);
        g[k] += wh * s;
    }
}

static void loco_observe(const env_task *t, const mjModel *m, const mjData *d, const double *prev, double *obs,
                         double *J) {
    const loco_params *p = params_of(t);
    int nj = p->joints, nx = 2 * m->nv, nv = m->nv;
    torso_frame f;
    torso(t, d, &f);
    obs[0] = d->qpos[2];
    memcpy(obs + 1, d->qpos + 3, sizeof(double) * 4);
    memcpy(obs + 5, d->qvel, sizeof(double) * 3);
    memcpy(obs + 8, f.wworld, sizeof(double) * 3);
    for (int j = 0; j < nj; j++) obs[11 + j] = d->qpos[7 + j];
    for (int j = 0; j < nj; j++) obs[11 + nj + j] = 0.1 * d->qvel[6 + j];
    obs[11 + 2 * nj] = f.up;
    obs[12 + 2 * nj] = f.heading;
    memcpy(obs + 13 + 2 * nj, prev, sizeof(double) * nj);
    if (!J) return;
    memset(J, 0, sizeof(double) * t->obs_dim * nx);
    J[0 * nx + 2] = 1.0;
    // quaternion: q' = q ⊗ (1, dθ/2), so ∂q/∂dθ_k = ½·q ⊗ (0, e_k)
    for (int k = 0; k < 3; k++) {
        double e[4] = {0, 0, 0, 0}, dq[4];
        e[1 + k] = 0.5;
        mju_mulQuat(dq, d->qpos + 3, e);
        for (int i = 0; i < 4; i++) J[(1 + i) * nx + 3 + k] = dq[i];
    }
    for (int i = 0; i < 3; i++) J[(5 + i) * nx + nv + i] = 1.0;
    // world angular velocity R·ω: ∂/∂ω = R, ∂/∂dθ = −R·[ω]×
    double Dw[9];
    rotated_dtheta(f.R, d->qvel + 3, Dw);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) {
            J[(8 + i) * nx + nv + 3 + k] = f.R[3 * i + k];
            J[(8 + i) * nx + 3 + k] = Dw[3 * i + k];
        }
    for (int j = 0; j < nj; j++) {
        J[(11 + j) * nx + 6 + j] = 1.0;
        J[(11 + nj + j) * nx + nv + 6 + j] = 0.1;
    }
    up_heading_grad(&f, 1.0, 0.0, J + (11 + 2 * nj) * nx);
    up_heading_grad(&f, 0.0, 1.0, J + (12 + 2 * nj) * nx);
}

static double loco_reward(const env_task *t, const mjModel *m, const mjData *s, const mjData *post, const double *a,
                          double *dx, double *dpost, double *da) {
    const loco_params *p = params_of(t);
    int nx = 2 * m->nv, nv = m->nv;
    torso_frame f;
    torso(t, s, &f);
    double z = s->qpos[2], height, dheight;
    if (p->humanoid_height) {
        double h = z - 0.84, dh = 1.0;
        if (h < -1.0) h = -1.0, dh = 0.0;
        if (h > 0.1) h = 0.1, dh = 0.0;
        height = h < 0 ? -200.0 * h * h : 10.0 * h;
        dheight = (h < 0 ? -400.0 * h : 10.0) * dh;
    } else {
        height = z - 0.27;
        dheight = 1.0;
    }
    double pen = 0.0;
    for (int j = 0; j < p->joints; j++) pen += a[j] * a[j];
    if (dx) {
        memset(dx, 0, sizeof(double) * nx);
        dx[nv] = 1.0;
        dx[2] = dheight;
        up_heading_grad(&f, 0.1, 1.0, dx);
    }
    if (da)
        for (int j = 0; j < p->joints; j++) da[j] = -2.0 * p->action_cost * a[j];
    return s->qvel[0] + 0.1 * f.up + f.heading + height - p->action_cost * pen;
}

static int loco_terminated(const env_task *t, const mjModel *m, const mjData *d) {
    return d->qpos[2] < params_of(t)->term_height;
}

const env_task task_ant = {
    .name = "ant",
    .summary = "PWM/DiffRL Ant (dflex port, fork defaults)",
    .model = "ant.xml",
    .obs_dim = 37,
    .act_dim = 8,
    .substeps = 4,
    .episode_len = 1000,
    .params = &ant_params,
    .reset = loco_reset,
    .observe = loco_observe,
    .reward = loco_reward,
    .terminated = loco_terminated,
};

const env_task task_humanoid = {
    .name = "humanoid",
    .summary = "PWM/DiffRL Humanoid (dflex port, fork defaults)",
    .model = "humanoid.xml",
    .obs_dim = 76,
    .act_dim = 21,
    .substeps = 4,
    .episode_len = 1000,
    .params = &humanoid_params,
    .reset = loco_reset,
    .observe = loco_observe,
    .reward = loco_reward,
    .terminated = loco_terminated,
};
