#include "env.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../nn/common.h"
#include "tasks.h"

const env_task *const env_tasks[] = {&task_hopper, &task_gym_hopper, &task_ant, &task_humanoid, &task_double_pendulum,
                                     &task_snu_humanoid, NULL};

const env_task *env_find(const char *name) {
    for (int i = 0; env_tasks[i]; i++)
        if (!strcmp(env_tasks[i]->name, name)) return env_tasks[i];
    return NULL;
}

void env_model_path(const env_task *t, char *buf, size_t n) {
    nn_tree_file(buf, n, "PWM_MODELS", "envs/models", t->model);
}

ph_model *env_load(const env_task *t, const ph_config *cfg, const char *model_override, char *err, size_t errlen) {
    ph_config c = cfg ? *cfg : ph_config_default();
    if (c.substeps <= 0) c.substeps = t->substeps;
    char path[PATH_MAX + 64];
    if (model_override) snprintf(path, sizeof path, "%s", model_override);
    else env_model_path(t, path, sizeof path);
    char lerr[1024];
    ph_model *pm = ph_load(path, &c, lerr, sizeof lerr);
    if (!pm) {
        nn_err(err, errlen, "task '%s': %s (set PWM_MODELS to the folder holding %s, or pass --model FILE)", t->name,
               lerr, t->model);
        return NULL;
    }
    if (pm->nu != t->act_dim) {
        nn_err(err, errlen, "task '%s': model '%s' has %d actuators, the task needs %d; use the task's model", t->name,
               path, pm->nu, t->act_dim);
        ph_free(pm);
        return NULL;
    }
    return pm;
}

// ---------------------------------------------------------------------------------------------
// batches

env_batch *env_batch_new(const env_task *t, const ph_config *cfg, const char *model_override, int n,
                         unsigned long seed, int horizon, char *err, size_t errlen) {
    ph_model *pm = env_load(t, cfg, model_override, err, errlen);
    if (!pm) return NULL;
    env_batch *e = nn_malloc(sizeof *e);
    *e = (env_batch){.task = t, .pm = pm, .n = n, .timing = ENV_REWARD_PRE};
    e->b = ph_batch_new(pm, n, horizon);
    e->rng = nn_malloc(sizeof(nn_rng) * n);
    for (int i = 0; i < n; i++) nn_rng_init(&e->rng[i], seed, (unsigned long)i);
    if (t->reward_uses_post) {
        e->pre = nn_malloc(sizeof(mjData *) * n);
        for (int i = 0; i < n; i++) e->pre[i] = mj_makeData(pm->m);
    }
    e->obs = nn_malloc(sizeof(double) * n * t->obs_dim);
    e->obs_final = nn_malloc(sizeof(double) * n * t->obs_dim);
    e->prev = nn_malloc(sizeof(double) * n * t->act_dim);
    e->act = nn_malloc(sizeof(double) * n * t->act_dim);
    e->rew = nn_malloc(sizeof(double) * n);
    e->term = nn_malloc((size_t)n);
    e->trunc = nn_malloc((size_t)n);
    e->steps = nn_malloc(sizeof(int) * n);
    e->ret = nn_malloc(sizeof(double) * n);
    e->ret_final = nn_malloc(sizeof(double) * n);
    e->len_final = nn_malloc(sizeof(int) * n);
    env_reset_all(e);
    return e;
}

void env_batch_free(env_batch *e) {
    if (!e) return;
    for (int i = 0; e->pre && i < e->n; i++) mj_deleteData(e->pre[i]);
    nn_free(e->pre);
    ph_batch_free(e->b);
    ph_free(e->pm);
    nn_free(e->rng), nn_free(e->obs), nn_free(e->obs_final), nn_free(e->prev), nn_free(e->act);
    nn_free(e->rew), nn_free(e->term), nn_free(e->trunc), nn_free(e->steps), nn_free(e->ret);
    nn_free(e->ret_final), nn_free(e->len_final);
    nn_free(e->J), nn_free(e->J_final), nn_free(e->drdx), nn_free(e->drdx_post), nn_free(e->drda);
    nn_free(e);
}

// environment i's block of a derivative array of obs_dim × nx per environment (NULL if off)
static double *jac_of(const env_batch *e, double *base, int i) {
    return base ? base + (size_t)i * e->task->obs_dim * e->pm->nx : NULL;
}

void env_batch_enable_grads(env_batch *e) {
    size_t n = (size_t)e->n, nx = (size_t)e->pm->nx, O = (size_t)e->task->obs_dim;
    if (e->J) return;
    e->J = nn_malloc(sizeof(double) * n * O * nx);
    e->J_final = nn_malloc(sizeof(double) * n * O * nx);
    e->drdx = nn_malloc(sizeof(double) * n * nx);
    e->drdx_post = nn_malloc(sizeof(double) * n * nx);
    env_batch_enable_drda(e);
    for (int i = 0; i < e->n; i++)
        e->task->observe(e->task, e->pm->m, e->b->d[i], e->prev + (size_t)i * e->task->act_dim,
                         e->obs + (size_t)i * O, jac_of(e, e->J, i));
}

void env_batch_enable_drda(env_batch *e) {
    if (!e->drda) e->drda = nn_malloc(sizeof(double) * e->n * e->task->act_dim);
}

// a new episode for environment i: the task's start state, zero previous action
static void reset_env(env_batch *e, int i) {
    const env_task *t = e->task;
    const mjModel *m = e->pm->m;
    mjData *d = e->b->d[i];
    mj_resetData(m, d);
    t->reset(t, m, d, &e->rng[i]);
    ph_set_state(e->b, i, d->qpos, d->qvel, m->na ? d->act : NULL);
    memset(e->prev + (size_t)i * t->act_dim, 0, sizeof(double) * t->act_dim);
    t->observe(t, m, d, e->prev + (size_t)i * t->act_dim, e->obs + (size_t)i * t->obs_dim, jac_of(e, e->J, i));
    e->steps[i] = 0;
    e->ret[i] = 0;
}

void env_reset_all(env_batch *e) {
    for (int i = 0; i < e->n; i++) reset_env(e, i);
}

void env_step(env_batch *e, const double *actions, int record) {
    const env_task *t = e->task;
    const mjModel *m = e->pm->m;
    int A = t->act_dim, O = t->obs_dim, nx = e->pm->nx, grads = e->J != NULL;
    // clip, and score the state terms on the pre-step state (the fork's timing)
    for (size_t k = 0; k < (size_t)e->n * A; k++) {
        double a = actions[k];
        e->act[k] = a < -1.0 ? -1.0 : a > 1.0 ? 1.0 : a != a ? 0.0 : a;
    }
    for (int i = 0; i < e->n; i++) {
        if (e->pre) {  // the state only: mj_copyData also copies the whole stack, which cost 4x the step
            mjData *p = e->pre[i];
            const mjData *d = e->b->d[i];
            p->time = d->time;
            memcpy(p->qpos, d->qpos, sizeof(mjtNum) * m->nq);
            memcpy(p->qvel, d->qvel, sizeof(mjtNum) * m->nv);
            if (m->na) memcpy(p->act, d->act, sizeof(mjtNum) * m->na);
        }
        if (!t->reward_uses_post && e->timing == ENV_REWARD_PRE)
            e->rew[i] = t->reward(t, m, e->b->d[i], NULL, e->act + (size_t)i * A, grads ? e->drdx + (size_t)i * nx : NULL,
                                  NULL, e->drda ? e->drda + (size_t)i * A : NULL);
    }
    ph_step(e->b, e->act, record);
    for (int i = 0; i < e->n; i++) {
        mjData *d = e->b->d[i];
        const double *a = e->act + (size_t)i * A;
        double *dx = grads ? e->drdx + (size_t)i * nx : NULL, *dpost = grads ? e->drdx_post + (size_t)i * nx : NULL;
        double *da = e->drda ? e->drda + (size_t)i * A : NULL;
        if (grads && !t->reward_uses_post) memset(dpost, 0, sizeof(double) * nx);
        if (t->reward_uses_post) {
            e->rew[i] = t->reward(t, m, e->pre[i], d, a, dx, dpost, da);
        } else if (e->timing == ENV_REWARD_POST) {
            // the state terms see the post-step state: their gradient belongs to it
            e->rew[i] = t->reward(t, m, d, NULL, a, dpost, NULL, da);
            if (dx) memset(dx, 0, sizeof(double) * nx);
        }
        memcpy(e->prev + (size_t)i * A, a, sizeof(double) * A);
        t->observe(t, m, d, e->prev + (size_t)i * A, e->obs_final + (size_t)i * O, jac_of(e, e->J_final, i));
        memcpy(e->obs + (size_t)i * O, e->obs_final + (size_t)i * O, sizeof(double) * O);
        if (grads) memcpy(jac_of(e, e->J, i), jac_of(e, e->J_final, i), sizeof(double) * O * nx);
        e->steps[i]++;
        e->ret[i] += e->rew[i];
        // a physics blow-up ends the episode as a termination
        e->term[i] = (unsigned char)(e->b->bad[i] || t->terminated(t, m, d));
        e->trunc[i] = (unsigned char)(e->steps[i] >= t->episode_len);
        e->blowups += e->b->bad[i];
        if (e->term[i] || e->trunc[i]) {
            e->ret_final[i] = e->ret[i];
            e->len_final[i] = e->steps[i];
            e->episodes++;
            reset_env(e, i);
        }
    }
}
