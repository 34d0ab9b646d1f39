#include "gradcheck.h"

#include <math.h>
#include <string.h>

#include "../nn/common.h"
#include "../nn/rng.h"
#include "diffstep.h"

ph_gc_config ph_gc_default(void) {
    return (ph_gc_config){.steps = 16, .trajectories = 4, .seed = 1, .rollout_eps = 1e-6, .state_noise = 0.05,
                          .action_scale = 0.5};
}

// weights of L on qpos: translational and hinge/slide coordinates, mapped to their dofs
static void position_weights(const mjModel *m, nn_rng *r, double *cq /* nq */, double *cdof /* nv */) {
    memset(cq, 0, sizeof(double) * m->nq);
    memset(cdof, 0, sizeof(double) * m->nv);
    for (int j = 0; j < m->njnt; j++) {
        int qa = m->jnt_qposadr[j], da = m->jnt_dofadr[j];
        int n = m->jnt_type[j] == mjJNT_FREE ? 3 : m->jnt_type[j] == mjJNT_BALL ? 0 : 1;
        for (int i = 0; i < n; i++) cq[qa + i] = cdof[da + i] = 2.0 * nn_rng_uniform(r) - 1.0;
    }
}

// everything one check needs
typedef struct {
    const ph_model *pm;
    ph_batch *b;
    int K, n;
    double *qpos0, *qvel0, *act0;  // starts (n × ...)
    double *u;                     // controls, K × n × nu
    double *cq, *cdof, *w;         // weights: qpos (nq), dofs (nv), (qvel, act) per step (K × (nv+na))
} gc;

static void gc_start(gc *s) {
    const ph_model *pm = s->pm;
    for (int e = 0; e < s->n; e++)
        ph_set_state(s->b, e, s->qpos0 + (size_t)e * pm->nq, s->qvel0 + (size_t)e * pm->nv,
                     s->act0 + (size_t)e * (pm->na ? pm->na : 1));
}

// L of every trajectory for a plain (or recorded) rollout from the current starts
static void gc_rollout(gc *s, int record, double *L, int *max_contacts) {
    const ph_model *pm = s->pm;
    int nv = pm->nv, na = pm->na;
    gc_start(s);
    if (record) ph_record_begin(s->b);
    memset(L, 0, sizeof(double) * s->n);
    for (int t = 0; t < s->K; t++) {
        ph_step(s->b, s->u + (size_t)t * s->n * pm->nu, record);
        const double *w = s->w + (size_t)t * (nv + na);
        for (int e = 0; e < s->n; e++) {
            const mjData *d = s->b->d[e];
            for (int i = 0; i < pm->nq; i++) L[e] += s->cq[i] * d->qpos[i];
            for (int i = 0; i < nv; i++) L[e] += w[i] * d->qvel[i];
            for (int i = 0; i < na; i++) L[e] += w[nv + i] * d->act[i];
            if (max_contacts && d->ncon > max_contacts[e]) max_contacts[e] = d->ncon;
        }
    }
}

int ph_gradcheck(const ph_model *pm, const ph_gc_config *c, ph_gc_traj *res) {
    int n = c->trajectories, K = c->steps, nq = pm->nq, nv = pm->nv, na = pm->na, nu = pm->nu, nx = pm->nx;
    gc s = {.pm = pm, .K = K, .n = n};
    s.b = ph_batch_new(pm, n, K);
    s.qpos0 = nn_malloc(sizeof(double) * n * nq);
    s.qvel0 = nn_malloc(sizeof(double) * n * nv);
    s.act0 = nn_malloc(sizeof(double) * n * (na ? na : 1));
    s.u = nn_malloc(sizeof(double) * (size_t)K * n * (nu ? nu : 1));
    s.cq = nn_malloc(sizeof(double) * nq);
    s.cdof = nn_malloc(sizeof(double) * nv);
    s.w = nn_malloc(sizeof(double) * (size_t)K * (nv + na + 1));

    // random starts, controls and weights, from the seed alone
    nn_rng r;
    nn_rng_init(&r, c->seed, 0);
    double *dx = nn_malloc(sizeof(double) * nx);
    for (int e = 0; e < n; e++) {
        mjData *d = s.b->d[e];
        mj_resetData(pm->m, d);
        for (int i = 0; i < nx; i++) dx[i] = c->state_noise * (2.0 * nn_rng_uniform(&r) - 1.0);
        ph_state_perturb(pm, d, dx, 1.0);
        memcpy(s.qpos0 + (size_t)e * nq, d->qpos, sizeof(double) * nq);
        memcpy(s.qvel0 + (size_t)e * nv, d->qvel, sizeof(double) * nv);
        memcpy(s.act0 + (size_t)e * na, d->act, sizeof(double) * na);
    }
    for (int t = 0; t < K; t++)
        for (int e = 0; e < n; e++)
            for (int j = 0; j < nu; j++) {
                const double *range = pm->m->actuator_ctrlrange + 2 * j;
                double mid = pm->m->actuator_ctrllimited[j] ? 0.5 * (range[0] + range[1]) : 0.0;
                double half = pm->m->actuator_ctrllimited[j] ? 0.5 * (range[1] - range[0]) : 1.0;
                s.u[((size_t)t * n + e) * nu + j] = mid + half * c->action_scale * (2.0 * nn_rng_uniform(&r) - 1.0);
            }
    position_weights(pm->m, &r, s.cq, s.cdof);
    for (size_t i = 0; i < (size_t)K * (nv + na); i++) s.w[i] = 2.0 * nn_rng_uniform(&r) - 1.0;

    // analytic: record, then backpropagate dL/dx_{t+1} = (cdof, w_t) through the window
    double *L = nn_malloc(sizeof(double) * n), *Lp = nn_malloc(sizeof(double) * n), *Lm = nn_malloc(sizeof(double) * n);
    int *ncon = nn_malloc(sizeof(int) * n);
    gc_rollout(&s, 1, L, ncon);
    long blow0 = s.b->blowups;
    const double **dldx = nn_malloc(sizeof(double *) * (K + 1));
    double **dldu = nn_malloc(sizeof(double *) * K);
    double *dx_all = nn_malloc(sizeof(double) * (size_t)K * n * nx), *du_all = nn_malloc(sizeof(double) * (size_t)K * n * (nu ? nu : 1));
    double *gx0 = nn_malloc(sizeof(double) * n * nx);
    dldx[0] = NULL;
    for (int t = 0; t < K; t++) {
        double *g = dx_all + (size_t)t * n * nx;
        for (int e = 0; e < n; e++) {
            memcpy(g + (size_t)e * nx, s.cdof, sizeof(double) * nv);
            memcpy(g + (size_t)e * nx + nv, s.w + (size_t)t * (nv + na), sizeof(double) * (nv + na));
        }
        dldx[t + 1] = g;
        dldu[t] = du_all + (size_t)t * n * nu;
    }
    ph_backward(s.b, dldx, dldu, gx0);

    // numeric: central differences of whole rollouts, every trajectory at once
    int ncomp = nx + K * nu;
    double *num = nn_malloc(sizeof(double) * (size_t)n * ncomp), *ana = nn_malloc(sizeof(double) * (size_t)n * ncomp);
    double h = c->rollout_eps;
    for (int k = 0; k < ncomp; k++) {
        for (int sign = 1; sign >= -1; sign -= 2) {
            double *qp = NULL, *qv = NULL, *ac = NULL;
            if (k < nx) {
                // move every start along tangent direction k
                qp = nn_malloc(sizeof(double) * n * nq), qv = nn_malloc(sizeof(double) * n * nv);
                ac = nn_malloc(sizeof(double) * n * (na ? na : 1));
                memcpy(qp, s.qpos0, sizeof(double) * n * nq);
                memcpy(qv, s.qvel0, sizeof(double) * n * nv);
                memcpy(ac, s.act0, sizeof(double) * n * na);
                memset(dx, 0, sizeof(double) * nx);
                dx[k] = 1.0;
                for (int e = 0; e < n; e++) {
                    mjData *d = s.b->d[e];
                    memcpy(d->qpos, s.qpos0 + (size_t)e * nq, sizeof(double) * nq);
                    memcpy(d->qvel, s.qvel0 + (size_t)e * nv, sizeof(double) * nv);
                    memcpy(d->act, s.act0 + (size_t)e * na, sizeof(double) * na);
                    ph_state_perturb(pm, d, dx, sign * h);
                    memcpy(s.qpos0 + (size_t)e * nq, d->qpos, sizeof(double) * nq);
                    memcpy(s.qvel0 + (size_t)e * nv, d->qvel, sizeof(double) * nv);
                    memcpy(s.act0 + (size_t)e * na, d->act, sizeof(double) * na);
                }
            } else {
                int t = (k - nx) / nu, j = (k - nx) % nu;
                for (int e = 0; e < n; e++) s.u[((size_t)t * n + e) * nu + j] += sign * h;
            }
            gc_rollout(&s, 0, sign > 0 ? Lp : Lm, NULL);
            if (k < nx) {
                memcpy(s.qpos0, qp, sizeof(double) * n * nq);
                memcpy(s.qvel0, qv, sizeof(double) * n * nv);
                memcpy(s.act0, ac, sizeof(double) * n * na);
                nn_free(qp), nn_free(qv), nn_free(ac);
            } else {
                int t = (k - nx) / nu, j = (k - nx) % nu;
                for (int e = 0; e < n; e++) s.u[((size_t)t * n + e) * nu + j] -= sign * h;
            }
        }
        for (int e = 0; e < n; e++) {
            num[(size_t)e * ncomp + k] = (Lp[e] - Lm[e]) / (2 * h);
            ana[(size_t)e * ncomp + k] = k < nx ? gx0[(size_t)e * nx + k]
                                                : dldu[(k - nx) / nu][(size_t)e * nu + (k - nx) % nu];
        }
    }

    // errors per trajectory
    for (int e = 0; e < n; e++) {
        const double *a = ana + (size_t)e * ncomp, *nm = num + (size_t)e * ncomp;
        double big = 0, diff2 = 0, ref2 = 0, worst = 0;
        for (int k = 0; k < ncomp; k++) big = fmax(big, fabs(nm[k]));
        for (int k = 0; k < ncomp; k++) {
            double err = fabs(a[k] - nm[k]);
            diff2 += err * err;
            ref2 += nm[k] * nm[k];
            worst = fmax(worst, err / fmax(fmax(fabs(a[k]), fabs(nm[k])), 1e-3 * big + 1e-300));
        }
        res[e] = (ph_gc_traj){.max_rel = worst, .rel_l2 = sqrt(diff2 / fmax(ref2, 1e-300)), .max_contacts = ncon[e],
                              .blowups = 0};
    }
    int rc = s.b->blowups != blow0 || blow0 ? -1 : 0;
    if (rc)
        for (int e = 0; e < n; e++) res[e].blowups = 1;

    nn_free(num), nn_free(ana), nn_free(gx0), nn_free(dx_all), nn_free(du_all), nn_free(dldx), nn_free(dldu);
    nn_free(L), nn_free(Lp), nn_free(Lm), nn_free(ncon), nn_free(dx);
    nn_free(s.qpos0), nn_free(s.qvel0), nn_free(s.act0), nn_free(s.u), nn_free(s.cq), nn_free(s.cdof), nn_free(s.w);
    ph_batch_free(s.b);
    return rc;
}
