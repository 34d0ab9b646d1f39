// The paper's Ant and Humanoid (DiffRL/dflex, PWM fork defaults) on the shared free-torso task
// (locomotion.h, which the SNU Humanoid also uses).
//   Ant: height term z − 0.27, c = 0, termination below 0.27, target 10000 m
//   Humanoid: h = clip(z − 0.84, −1, 0.1), −200h² if h < 0 else 10h, c = 0.002, termination below
//     0.74, target 200 m
//   both observe their previous actions (37 = 1+4+3+3+8+8+1+1+8; 76 = 1+4+3+3+21+21+1+1+21)
#include "locomotion.h"

#include <math.h>
#include <string.h>

static const loco_params ant_params = {.target_x = 10000.0, .term_height = 0.27, .height = LOCO_HEIGHT_ANT,
                                       .action_cost = 0.0, .prev_actions = 1};
static const loco_params humanoid_params = {.target_x = 200.0, .term_height = 0.74, .height = LOCO_HEIGHT_HUMANOID,
                                            .action_cost = 0.002, .prev_actions = 1};

static const loco_params *params_of(const env_task *t) { return t->params; }

void loco_reset(const env_task *t, const mjModel *m, mjData *d, nn_rng *r) {
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
    for (int i = 7; i < m->nq; i++) d->qpos[i] += task_uniform(r, 0.2);
    // the fork's noise on every joint coordinate moves ball joints' quaternion components too: back
    // onto the unit sphere (dflex leaves that to its first substep)
    for (int j = 1; j < m->njnt; j++)
        if (m->jnt_type[j] == mjJNT_BALL) mju_normalize4(d->qpos + m->jnt_qposadr[j]);
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

// ∂q/∂dθ for a quaternion moved as q ⊗ (1, dθ/2) (free and ball joints): ½·q ⊗ (0, e_k), into
// rows row..row+3 and columns col..col+2 of J (nx columns)
static void quat_tangent(const double q[4], double *J, int nx, int row, int col) {
    for (int k = 0; k < 3; k++) {
        double e[4] = {0, 0, 0, 0}, dq[4];
        e[1 + k] = 0.5;
        mju_mulQuat(dq, q, e);
        for (int i = 0; i < 4; i++) J[(row + i) * nx + col + k] = dq[i];
    }
}

void loco_observe(const env_task *t, const mjModel *m, const mjData *d, const double *prev, double *obs, double *J) {
    const loco_params *p = params_of(t);
    int nqj = m->nq - 7, nvj = m->nv - 6, nx = 2 * m->nv, nv = m->nv;
    torso_frame f;
    torso(t, d, &f);
    obs[0] = d->qpos[2];
    memcpy(obs + 1, d->qpos + 3, sizeof(double) * 4);
    memcpy(obs + 5, d->qvel, sizeof(double) * 3);
    memcpy(obs + 8, f.wworld, sizeof(double) * 3);
    for (int j = 0; j < nqj; j++) obs[11 + j] = d->qpos[7 + j];
    for (int j = 0; j < nvj; j++) obs[11 + nqj + j] = 0.1 * d->qvel[6 + j];
    obs[11 + nqj + nvj] = f.up;
    obs[12 + nqj + nvj] = f.heading;
    if (p->prev_actions) memcpy(obs + 13 + nqj + nvj, prev, sizeof(double) * t->act_dim);
    if (!J) return;
    memset(J, 0, sizeof(double) * t->obs_dim * nx);
    J[0 * nx + 2] = 1.0;
    quat_tangent(d->qpos + 3, J, nx, 1, 3);
    for (int i = 0; i < 3; i++) J[(5 + i) * nx + nv + i] = 1.0;
    // world angular velocity R·ω: ∂/∂ω = R, ∂/∂dθ = −R·[ω]×
    double Dw[9];
    rotated_dtheta(f.R, d->qvel + 3, Dw);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) {
            J[(8 + i) * nx + nv + 3 + k] = f.R[3 * i + k];
            J[(8 + i) * nx + 3 + k] = Dw[3 * i + k];
        }
    // joint coordinates: a hinge's angle is its tangent; a ball joint's quaternion moves as the torso's
    for (int j = 1; j < m->njnt; j++) {
        int row = 11 + m->jnt_qposadr[j] - 7, col = m->jnt_dofadr[j];
        if (m->jnt_type[j] == mjJNT_BALL) quat_tangent(d->qpos + m->jnt_qposadr[j], J, nx, row, col);
        else J[row * nx + col] = 1.0;
    }
    for (int j = 0; j < nvj; j++) J[(11 + nqj + j) * nx + nv + 6 + j] = 0.1;
    up_heading_grad(&f, 1.0, 0.0, J + (11 + nqj + nvj) * nx);
    up_heading_grad(&f, 0.0, 1.0, J + (12 + nqj + nvj) * nx);
}

double loco_reward(const env_task *t, const mjModel *m, const mjData *s, const mjData *post, const double *a,
                   double *dx, double *dpost, double *da) {
    const loco_params *p = params_of(t);
    int nx = 2 * m->nv, nv = m->nv;
    torso_frame f;
    torso(t, s, &f);
    double z = s->qpos[2], height = 0.0, dheight = 0.0;
    if (p->height == LOCO_HEIGHT_HUMANOID) {
        double h = z - 0.84, dh = 1.0;
        if (h < -1.0) h = -1.0, dh = 0.0;
        if (h > 0.1) h = 0.1, dh = 0.0;
        height = h < 0 ? -200.0 * h * h : 10.0 * h;
        dheight = (h < 0 ? -400.0 * h : 10.0) * dh;
    } else if (p->height == LOCO_HEIGHT_ANT) {
        height = z - 0.27;
        dheight = 1.0;
    }
    double pen = 0.0;
    for (int j = 0; j < t->act_dim; j++) pen += a[j] * a[j];
    if (dx) {
        memset(dx, 0, sizeof(double) * nx);
        dx[nv] = 1.0;
        dx[2] = dheight;
        up_heading_grad(&f, 0.1, 1.0, dx);
    }
    if (da)
        for (int j = 0; j < t->act_dim; j++) da[j] = -2.0 * p->action_cost * a[j];
    return s->qvel[0] + 0.1 * f.up + f.heading + height - p->action_cost * pen;
}

int loco_terminated(const env_task *t, const mjModel *m, const mjData *d) {
    return d->qpos[2] < params_of(t)->term_height;
}

const env_task task_ant = {
    .name = "ant",
    .summary = "PWM/DiffRL Ant (dflex port, fork defaults)",
    .model = "ant.xml",
    .obs_dim = 37,
    .act_dim = 8,
    .prev_action_obs = 29,
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
    .prev_action_obs = 55,
    .substeps = 4,
    .episode_len = 1000,
    .params = &humanoid_params,
    .reset = loco_reset,
    .observe = loco_observe,
    .reward = loco_reward,
    .terminated = loco_terminated,
};
