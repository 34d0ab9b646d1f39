#include "physics.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "../nn/common.h"

// MuJoCo reports instabilities through d->warning (checked after every step); printing them from
// many threads would only be noise, and its default also writes MUJOCO_LOG.TXT
static void quiet_warning(const char *msg) { (void)msg; }
static void mujoco_error(const char *msg) { nn_fatal("MuJoCo: %s", msg); }

ph_config ph_config_default(void) {
    return (ph_config){.timestep = -1, .substeps = 0, .contact_stiffness = -1, .contact_damping = -1,
                       .solref_timeconst = -1, .solref_dampratio = -1, .friction = -1, .centered = 0,
                       .fd_eps = 1e-6, .method = PH_JAC_AUTO, .force_space = 1};
}

// ---------------------------------------------------------------------------------------------
// loading and overrides

// the same solref or friction on every geom and explicit contact pair
static void set_solref(mjModel *m, double a, double b) {
    for (int i = 0; i < m->ngeom; i++) {
        m->geom_solref[mjNREF * i] = a;
        m->geom_solref[mjNREF * i + 1] = b;
    }
    for (int i = 0; i < m->npair; i++) {
        m->pair_solref[mjNREF * i] = a;
        m->pair_solref[mjNREF * i + 1] = b;
    }
}

static int apply_overrides(mjModel *m, const ph_config *c, char *err, size_t errlen) {
    if (c->substeps < 0) return nn_err(err, errlen, "substeps must be >= 1 (got %d)", c->substeps);
    if (c->fd_eps <= 0) return nn_err(err, errlen, "the finite-difference eps must be > 0 (got %g)", c->fd_eps);
    if (c->timestep > 0) m->opt.timestep = c->timestep;
    int direct = c->contact_stiffness > 0 || c->contact_damping >= 0;
    int standard = c->solref_timeconst > 0 || c->solref_dampratio > 0;
    if (direct && standard)
        return nn_err(err, errlen, "give contact stiffness/damping (direct solref) or solref time constant/damping "
                      "ratio (standard solref), not both");
    if (direct) {
        if (!(c->contact_stiffness > 0 && c->contact_damping >= 0))
            return nn_err(err, errlen, "contact stiffness (> 0) and damping (>= 0) must be given together");
        set_solref(m, -c->contact_stiffness, -c->contact_damping);
    }
    if (standard) {
        if (!(c->solref_timeconst > 0 && c->solref_dampratio > 0))
            return nn_err(err, errlen, "solref time constant and damping ratio must both be > 0");
        set_solref(m, c->solref_timeconst, c->solref_dampratio);
    }
    if (c->friction >= 0) {
        for (int i = 0; i < m->ngeom; i++) m->geom_friction[3 * i] = c->friction;
        for (int i = 0; i < m->npair; i++) m->pair_friction[5 * i] = m->pair_friction[5 * i + 1] = c->friction;
    }
    return 0;
}

// B through generalised forces is exact when every actuator force is gain·ctrl + bias(length,
// velocity) with a constant gain: then ∂qfrc_actuator/∂ctrl_j = gain_j·moment_j
static int force_space_exact(const mjModel *m) {
    for (int i = 0; i < m->nu; i++)
        if (m->actuator_dyntype[i] != mjDYN_NONE || m->actuator_gaintype[i] != mjGAIN_FIXED ||
            (m->actuator_biastype[i] != mjBIAS_NONE && m->actuator_biastype[i] != mjBIAS_AFFINE))
            return 0;
    return 1;
}

ph_model *ph_load(const char *path, const ph_config *cfg, char *err, size_t errlen) {
    mju_user_warning = quiet_warning;
    mju_user_error = mujoco_error;
    char lerr[1000] = "";
    mjModel *m = mj_loadXML(path, NULL, lerr, sizeof lerr);
    if (!m) return nn_err(err, errlen, "cannot load MJCF model '%s': %s", path, lerr), NULL;
    if (apply_overrides(m, cfg, lerr, sizeof lerr)) {
        mj_deleteModel(m);
        nn_err(err, errlen, "model '%s': %s", path, lerr);
        return NULL;
    }
    ph_model *pm = nn_malloc(sizeof *pm);
    *pm = (ph_model){.m = m, .cfg = *cfg, .nq = m->nq, .nv = m->nv, .na = m->na, .nu = m->nu,
                     .nx = 2 * m->nv + m->na};
    // mjd_transitionFD in 2.2.2 is wrong for RK4 (shac-and-tasks.md §6.2b): direct differences there
    pm->use_mjd = cfg->method == PH_JAC_MJD || (cfg->method == PH_JAC_AUTO && m->opt.integrator != mjINT_RK4);
    pm->force_space = cfg->force_space && m->nu > m->nv && force_space_exact(m);
    if (pm->cfg.substeps == 0) pm->cfg.substeps = 1;
    // a model's nstack is sized for mj_step; mjd_transitionFD (2.2.2) puts its state vectors and
    // nx × (nx + nu) of difference matrices on the same stack before stepping, so every mjData
    // made from this model gets that much more (measured need, e.g. the Humanoid: step 2,538,
    // transitionFD 6,883; this adds 4,910)
    if (pm->use_mjd) {
        long extra = (long)pm->nx * (pm->nx + m->nu) + 10L * (m->nq + m->nv + m->na + m->nu) +
                     4L * m->nsensordata + 100;
        if ((long)m->nstack + extra > INT_MAX) {
            nn_err(err, errlen, "model '%s': its state is too large for finite-difference Jacobians (nx %d)", path,
                   pm->nx);
            ph_free(pm);
            return NULL;
        }
        m->nstack += (int)extra;
    }
    int c = cfg->centered ? 2 : 1, nx = pm->nx;
    if (pm->use_mjd)
        pm->calls_per_step = 1 + c * (nx + (pm->force_space ? 0 : pm->nu)) + (pm->force_space ? 1 + c * pm->nv : 0) + 1;
    else
        pm->calls_per_step = 1 + c * (nx + (pm->force_space ? pm->nv : pm->nu)) + 1;
    return pm;
}

void ph_free(ph_model *pm) {
    if (!pm) return;
    mj_deleteModel(pm->m);
    nn_free(pm);
}

// ---------------------------------------------------------------------------------------------
// direct finite differences of one mj_step

// work layout: the saved start state, the nominal next state and two difference vectors
typedef struct {
    double *qpos, *qvel, *act, *ctrl, *warm, *qfrc, *time;
    double *qpos_n, *qvel_n, *act_n;
    double *dq, *plus, *minus;
} fd_work;

size_t ph_fd_work_size(const ph_model *pm) {
    return (size_t)3 * pm->nq + 6 * pm->nv + 2 * pm->na + pm->nu + 1 + 2 * pm->nx + 8;
}

static fd_work fd_layout(const ph_model *pm, double *w) {
    fd_work f;
    f.qpos = w, w += pm->nq;
    f.qvel = w, w += pm->nv;
    f.act = w, w += pm->na;
    f.ctrl = w, w += pm->nu;
    f.warm = w, w += pm->nv;
    f.qfrc = w, w += pm->nv;
    f.time = w, w += 1;
    f.qpos_n = w, w += pm->nq;
    f.qvel_n = w, w += pm->nv;
    f.act_n = w, w += pm->na;
    f.dq = w, w += pm->nv;
    f.plus = w, w += pm->nx;
    f.minus = w;
    return f;
}

static void fd_save(const ph_model *pm, const mjData *d, fd_work *f) {
    memcpy(f->qpos, d->qpos, sizeof(double) * pm->nq);
    memcpy(f->qvel, d->qvel, sizeof(double) * pm->nv);
    memcpy(f->act, d->act, sizeof(double) * pm->na);
    memcpy(f->ctrl, d->ctrl, sizeof(double) * pm->nu);
    memcpy(f->warm, d->qacc_warmstart, sizeof(double) * pm->nv);
    memcpy(f->qfrc, d->qfrc_applied, sizeof(double) * pm->nv);
    *f->time = d->time;
}

static void fd_restore(const ph_model *pm, mjData *d, const fd_work *f) {
    memcpy(d->qpos, f->qpos, sizeof(double) * pm->nq);
    memcpy(d->qvel, f->qvel, sizeof(double) * pm->nv);
    memcpy(d->act, f->act, sizeof(double) * pm->na);
    memcpy(d->ctrl, f->ctrl, sizeof(double) * pm->nu);
    memcpy(d->qacc_warmstart, f->warm, sizeof(double) * pm->nv);
    memcpy(d->qfrc_applied, f->qfrc, sizeof(double) * pm->nv);
    d->time = *f->time;
}

enum { FD_STATE, FD_CTRL, FD_QFRC };

// one step from the saved state with input j of the given kind moved by h; out = x' − x'_nominal
static void fd_eval(const ph_model *pm, mjData *d, fd_work *f, int kind, int j, double h, double *out) {
    const mjModel *m = pm->m;
    fd_restore(pm, d, f);
    if (kind == FD_STATE) {
        if (j < pm->nv) {
            memset(f->dq, 0, sizeof(double) * pm->nv);
            f->dq[j] = h;
            mj_integratePos(m, d->qpos, f->dq, 1.0);
        } else if (j < 2 * pm->nv) {
            d->qvel[j - pm->nv] += h;
        } else {
            d->act[j - 2 * pm->nv] += h;
        }
    } else if (kind == FD_CTRL) {
        d->ctrl[j] += h;
    } else {
        d->qfrc_applied[j] += h;
    }
    if (kind == FD_QFRC && m->opt.integrator == mjINT_EULER) {
        // an applied force leaves the position and velocity stages as the nominal step computed
        // them (fd_nominal): with Euler only the acceleration stage and the integration rerun, as
        // mjd_transitionFD does for its control columns
        mj_forwardSkip(m, d, mjSTAGE_VEL, 1);
        mj_checkAcc(m, d);
        mj_Euler(m, d);
    } else {
        mj_step(m, d);
    }
    mj_differentiatePos(m, out, 1.0, f->qpos_n, d->qpos);
    for (int i = 0; i < pm->nv; i++) out[pm->nv + i] = d->qvel[i] - f->qvel_n[i];
    for (int i = 0; i < pm->na; i++) out[2 * pm->nv + i] = d->act[i] - f->act_n[i];
}

// column j of the Jacobian with respect to an input of the given kind, into M (rows × ld, column j)
static void fd_column(const ph_model *pm, mjData *d, fd_work *f, int kind, int j, double *M, int ld) {
    double eps = pm->cfg.fd_eps, h = eps;
    const mjModel *m = pm->m;
    // controls at the upper limit are differenced backwards, as mjd_transitionFD does
    if (kind == FD_CTRL && m->actuator_ctrllimited[j] && f->ctrl[j] + eps > m->actuator_ctrlrange[2 * j + 1]) h = -eps;
    fd_eval(pm, d, f, kind, j, h, f->plus);
    if (pm->cfg.centered) {
        fd_eval(pm, d, f, kind, j, -h, f->minus);
        for (int i = 0; i < pm->nx; i++) M[(size_t)i * ld + j] = (f->plus[i] - f->minus[i]) / (2 * h);
    } else {
        for (int i = 0; i < pm->nx; i++) M[(size_t)i * ld + j] = f->plus[i] / h;
    }
}

// the nominal step from the saved state: keeps the next state, and leaves d's derived quantities
// (actuator moments, forces) evaluated at the start state
static void fd_nominal(const ph_model *pm, mjData *d, fd_work *f) {
    fd_restore(pm, d, f);
    mj_step(pm->m, d);
    memcpy(f->qpos_n, d->qpos, sizeof(double) * pm->nq);
    memcpy(f->qvel_n, d->qvel, sizeof(double) * pm->nv);
    memcpy(f->act_n, d->act, sizeof(double) * pm->na);
}

void ph_fd_step_direct(const ph_model *pm, mjData *d, double *work, double *A, double *B) {
    fd_work f = fd_layout(pm, work);
    fd_save(pm, d, &f);
    fd_nominal(pm, d, &f);
    for (int j = 0; A && j < pm->nx; j++) fd_column(pm, d, &f, FD_STATE, j, A, pm->nx);
    for (int j = 0; B && j < pm->nu; j++) fd_column(pm, d, &f, FD_CTRL, j, B, pm->nu);
    fd_restore(pm, d, &f);
}

// B through generalised forces: Bf = ∂x'/∂qfrc (nx×nv) by differences, times
// G = ∂qfrc_actuator/∂ctrl (nv×nu) = gain_j·moment_j for actuators inside their ranges
static void fd_force_space_B(const ph_model *pm, mjData *d, double *work, double *Bf, double *G, double *B) {
    const mjModel *m = pm->m;
    int nv = pm->nv, nu = pm->nu;
    fd_work f = fd_layout(pm, work);
    fd_save(pm, d, &f);
    fd_nominal(pm, d, &f);
    for (int j = 0; j < nu; j++) {
        double u = f.ctrl[j], gain = m->actuator_gainprm[mjNGAIN * j];
        int inside = !m->actuator_ctrllimited[j] ||
                     (u >= m->actuator_ctrlrange[2 * j] && u <= m->actuator_ctrlrange[2 * j + 1]);
        if (m->actuator_forcelimited[j]) {
            double force = d->actuator_force[j];
            inside &= force > m->actuator_forcerange[2 * j] && force < m->actuator_forcerange[2 * j + 1];
        }
        for (int v = 0; v < nv; v++) G[(size_t)v * nu + j] = inside ? gain * d->actuator_moment[(size_t)j * nv + v] : 0.0;
    }
    for (int j = 0; j < nv; j++) fd_column(pm, d, &f, FD_QFRC, j, Bf, nv);
    fd_restore(pm, d, &f);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, pm->nx, nu, nv, 1.0, Bf, nv, G, nu, 0.0, B, nu);
}

// ---------------------------------------------------------------------------------------------
// batches

// per-environment scratch: direct-FD work, then Ak, Bk, Bf, G, and chaining temporaries
static size_t work_size(const ph_model *pm) {
    size_t nx = pm->nx, nu = pm->nu, nv = pm->nv;
    return ph_fd_work_size(pm) + 2 * nx * nx + 2 * nx * nu + nx * nv + nv * nu + 2 * nx;
}

ph_batch *ph_batch_new(const ph_model *pm, int n, int cap) {
    nn_check(n > 0, "a batch needs at least one environment (got %d)", n);
    ph_batch *b = nn_malloc(sizeof *b);
    *b = (ph_batch){.pm = pm, .n = n, .cap = cap, .last_step_seconds = 1.0};
    b->d = nn_malloc(sizeof(mjData *) * n);
    for (int i = 0; i < n; i++) {
        b->d[i] = mj_makeData(pm->m);
        nn_check(b->d[i], "MuJoCo could not allocate data for environment %d", i);
        mj_forward(pm->m, b->d[i]);
    }
    if (cap > 0) {
        b->A = nn_malloc(sizeof(double) * (size_t)cap * n * pm->nx * pm->nx);
        b->B = nn_malloc(sizeof(double) * (size_t)cap * n * pm->nx * (pm->nu ? pm->nu : 1));
        b->cut = nn_malloc((size_t)cap * n);
    }
    b->bad = nn_malloc((size_t)n);
    b->t_jacobians = nn_malloc(sizeof(double) * n);
    b->t_steps = nn_malloc(sizeof(double) * n);
    b->work_per_env = work_size(pm);
    b->work = nn_malloc(sizeof(double) * b->work_per_env * n);
    return b;
}

void ph_batch_free(ph_batch *b) {
    if (!b) return;
    for (int i = 0; i < b->n; i++) mj_deleteData(b->d[i]);
    nn_free(b->d);
    nn_free(b->A);
    nn_free(b->B);
    nn_free(b->cut);
    nn_free(b->bad);
    nn_free(b->t_jacobians);
    nn_free(b->t_steps);
    nn_free(b->work);
    nn_free(b);
}

size_t ph_jacobian_bytes(const ph_batch *b) {
    return sizeof(double) * (size_t)b->n * b->pm->nx * (b->pm->nx + b->pm->nu);
}

void ph_record_begin(ph_batch *b) { b->len = 0; }

static double *jac_A(const ph_batch *b, int t, int env) {
    return b->A + ((size_t)t * b->n + env) * b->pm->nx * b->pm->nx;
}

static double *jac_B(const ph_batch *b, int t, int env) {
    return b->B + ((size_t)t * b->n + env) * b->pm->nx * b->pm->nu;
}

static int all_finite(const double *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

// did the last mj_step go wrong? MuJoCo resets the data itself on bad qpos/qvel/qacc and counts
// a warning; we also catch non-finite or runaway states
static int step_went_bad(const ph_model *pm, const mjData *d, const int *warn_before) {
    static const int kinds[] = {mjWARN_BADQPOS, mjWARN_BADQVEL, mjWARN_BADQACC};
    for (int i = 0; i < 3; i++)
        if (d->warning[kinds[i]].number != warn_before[i]) return 1;
    if (!all_finite(d->qpos, (size_t)pm->nq) || !all_finite(d->qvel, (size_t)pm->nv) || !all_finite(d->act, (size_t)pm->na))
        return 1;
    for (int i = 0; i < pm->nv; i++)
        if (fabs(d->qvel[i]) > 1e6) return 1;
    return 0;
}

// this physics step's Jacobians Ak, Bk at d's state (d is left as it was)
static void step_jacobians(const ph_model *pm, mjData *d, double *work, double *Ak, double *Bk, double *Bf, double *G) {
    if (pm->use_mjd) {
        // 2.2.2 advances d->time by every step it takes; it restores state, ctrl and warm start
        double time = d->time;
        mjd_transitionFD(pm->m, d, pm->cfg.fd_eps, (mjtByte)pm->cfg.centered, Ak, pm->force_space ? NULL : Bk, NULL, NULL);
        d->time = time;
        if (pm->force_space) fd_force_space_B(pm, d, work, Bf, G, Bk);
    } else if (pm->force_space) {
        ph_fd_step_direct(pm, d, work, Ak, NULL);
        fd_force_space_B(pm, d, work, Bf, G, Bk);
    } else {
        ph_fd_step_direct(pm, d, work, Ak, Bk);
    }
}

// one control step of one environment; returns 1 if it blew up (and was reset)
static int step_one_env(ph_batch *b, int env, int record) {
    const ph_model *pm = b->pm;
    const mjModel *m = pm->m;
    mjData *d = b->d[env];
    int nx = pm->nx, nu = pm->nu, nv = pm->nv;
    double *w = b->work + b->work_per_env * env;
    double *fdw = w, *Ak = fdw + ph_fd_work_size(pm), *Bk = Ak + (size_t)nx * nx, *Bf = Bk + (size_t)nx * nu,
           *G = Bf + (size_t)nx * nv, *TA = G + (size_t)nv * nu, *TB = TA + (size_t)nx * nx;
    double *A = record ? jac_A(b, b->len, env) : NULL, *B = record ? jac_B(b, b->len, env) : NULL;
    if (record) {
        // A = I, B = 0, then each physics step k: A ← A_k·A, B ← A_k·B + B_k
        memset(A, 0, sizeof(double) * nx * nx);
        for (int i = 0; i < nx; i++) A[(size_t)i * nx + i] = 1.0;
        memset(B, 0, sizeof(double) * nx * nu);
        b->cut[(size_t)b->len * b->n + env] = 0;
    }
    // a warning anywhere in the control step (finite differencing included) marks it bad
    int warn[3] = {d->warning[mjWARN_BADQPOS].number, d->warning[mjWARN_BADQVEL].number,
                   d->warning[mjWARN_BADQACC].number};
    int bad = 0;
    double t_start = nn_now();
    for (int k = 0; k < pm->cfg.substeps && !bad; k++) {
        if (record) {
            double tj = nn_now();
            step_jacobians(pm, d, fdw, Ak, Bk, Bf, G);
            b->t_jacobians[env] += nn_now() - tj;
            bad = !all_finite(Ak, (size_t)nx * nx) || !all_finite(Bk, (size_t)nx * nu);
            if (!bad) {
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nx, nx, nx, 1.0, Ak, nx, A, nx, 0.0, TA, nx);
                memcpy(A, TA, sizeof(double) * nx * nx);
                if (nu) {
                    memcpy(TB, Bk, sizeof(double) * nx * nu);
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nx, nu, nx, 1.0, Ak, nx, B, nu, 1.0, TB, nu);
                    memcpy(B, TB, sizeof(double) * nx * nu);
                }
            }
        }
        mj_step(m, d);
        bad = bad || step_went_bad(pm, d, warn);
    }
    b->t_steps[env] += nn_now() - t_start;
    if (bad) {
        mj_resetData(m, d);
        mj_forward(m, d);
        if (record) {
            memset(A, 0, sizeof(double) * nx * nx);
            memset(B, 0, sizeof(double) * nx * nu);
            b->cut[(size_t)b->len * b->n + env] = 1;
        }
    }
    return bad;
}

void ph_step(ph_batch *b, const double *u, int record) {
    nn_check(!record || b->len < b->cap, "recorded %d control steps, the batch was made for %d; call "
             "ph_record_begin or make the batch with a longer horizon", b->len, b->cap);
    int nu = b->pm->nu;
    long blowups = 0;
    // environments differ in cost (contacts, solver iterations): dynamic scheduling balances them,
    // and each is still computed by one thread, so the results do not depend on the schedule;
    // a step that took under 50 µs last time runs on one thread (forking costs more than it saves)
    double t0 = nn_now();
    #pragma omp parallel for schedule(dynamic, 1) reduction(+ : blowups) if (b->last_step_seconds >= 50e-6)
    for (int e = 0; e < b->n; e++) {
        if (u) memcpy(b->d[e]->ctrl, u + (size_t)e * nu, sizeof(double) * nu);
        b->bad[e] = (unsigned char)step_one_env(b, e, record);
        blowups += b->bad[e];
    }
    b->blowups += blowups;
    if (record) b->len++;
    b->last_step_seconds = (nn_now() - t0) * (b->last_step_seconds >= 50e-6 ? nn_get_threads() : 1);
}

void ph_rollout(ph_batch *b, int T, const double *u) {
    int nu = b->pm->nu, n = b->n;
    long blowups = 0;
    #pragma omp parallel for schedule(dynamic, 1) reduction(+ : blowups)
    for (int e = 0; e < n; e++) {
        int any = 0;
        for (int t = 0; t < T; t++) {
            memcpy(b->d[e]->ctrl, u + ((size_t)t * n + e) * nu, sizeof(double) * nu);
            int bad = step_one_env(b, e, 0);
            any |= bad;
            blowups += bad;
        }
        b->bad[e] = (unsigned char)any;
    }
    b->blowups += blowups;
}

void ph_set_state(ph_batch *b, int env, const double *qpos, const double *qvel, const double *act) {
    const ph_model *pm = b->pm;
    mjData *d = b->d[env];
    // the inputs may point into d itself: copy them before the reset
    double q[pm->nq], v[pm->nv], a[pm->na ? pm->na : 1];
    memcpy(q, qpos, sizeof(double) * pm->nq);
    if (qvel) memcpy(v, qvel, sizeof(double) * pm->nv);
    if (act) memcpy(a, act, sizeof(double) * pm->na);
    // a fresh start: time, warm start and controls from zero, so it does not depend on the past
    mj_resetData(pm->m, d);
    memcpy(d->qpos, q, sizeof(double) * pm->nq);
    if (qvel) memcpy(d->qvel, v, sizeof(double) * pm->nv);
    if (act) memcpy(d->act, a, sizeof(double) * pm->na);
    mj_forward(pm->m, d);
    if (b->len > 0) b->cut[(size_t)(b->len - 1) * b->n + env] = 1;
}

void ph_restore_state(ph_batch *b, int env, const double *qpos, const double *qvel, const double *act,
                      const double *warmstart) {
    const ph_model *pm = b->pm;
    mjData *d = b->d[env];
    ph_set_state(b, env, qpos, qvel, act);
    // mj_forward (mj_kinematics) has normalised the quaternions in d->qpos; the saved environment
    // has not yet done that to this state: its next mj_step will, once
    memcpy(d->qpos, qpos, sizeof(double) * pm->nq);
    memcpy(d->qacc_warmstart, warmstart, sizeof(double) * pm->nv);
}

int ph_was_cut(const ph_batch *b, int t, int env) { return b->cut[(size_t)t * b->n + env]; }

// gin = A^T·gout, gu += B^T·gout for one environment (gin may equal gout)
static void vjp_env(const ph_batch *b, int t, int env, const double *gout, double *gin, double *gu) {
    int nx = b->pm->nx, nu = b->pm->nu;
    double *tmp = b->work + b->work_per_env * env + b->work_per_env - 2 * (size_t)nx;
    if (gu && nu) cblas_dgemv(CblasRowMajor, CblasTrans, nx, nu, 1.0, jac_B(b, t, env), nu, gout, 1, 1.0, gu, 1);
    cblas_dgemv(CblasRowMajor, CblasTrans, nx, nx, 1.0, jac_A(b, t, env), nx, gout, 1, 0.0, tmp, 1);
    memcpy(gin, tmp, sizeof(double) * nx);
}

void ph_vjp(const ph_batch *b, int t, const double *gout, double *gin, double *gu) {
    nn_check(t >= 0 && t < b->len, "ph_vjp: step %d not recorded (have %d)", t, b->len);
    int nx = b->pm->nx, nu = b->pm->nu;
    #pragma omp parallel for schedule(static)
    for (int e = 0; e < b->n; e++)
        vjp_env(b, t, e, gout + (size_t)e * nx, gin + (size_t)e * nx, gu ? gu + (size_t)e * nu : NULL);
}

void ph_state_perturb(const ph_model *pm, mjData *d, const double *dx, double scale) {
    mj_integratePos(pm->m, d->qpos, dx, scale);
    for (int i = 0; i < pm->nv; i++) d->qvel[i] += scale * dx[pm->nv + i];
    for (int i = 0; i < pm->na; i++) d->act[i] += scale * dx[2 * pm->nv + i];
}
