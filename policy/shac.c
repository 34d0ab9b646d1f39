#include "shac.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../envs/env.h"
#include "../nn/checkpoint.h"
#include "../nn/common.h"
#include "../nn/optim.h"
#include "../worldmodel/dataset.h"
#include "actor.h"
#include "lrn.h"

// ---------------------------------------------------------------------------------------------
// presets

// per task (shac-and-tasks.md §2.3): environments and epochs (paper, quick), networks, rates, target α
typedef struct {
    const char *env;
    int envs_paper, envs_quick, epochs_paper, epochs_quick;
    const char *actor_units, *critic_units;
    double actor_lr, critic_lr, target_alpha;
} shac_task_preset;

static const shac_task_preset task_presets[] = {
    {"hopper", 256, 64, 2000, 300, "128,64,32", "64,64", 2e-3, 2e-4, 0.2},
    {"gym-hopper", 256, 64, 2000, 300, "128,64,32", "64,64", 2e-3, 2e-4, 0.2},
    {"ant", 64, 32, 2000, 1000, "128,64,32", "64,64", 2e-3, 2e-3, 0.2},
    {"humanoid", 64, 64, 2000, 1000, "256,128", "128,128", 2e-3, 5e-4, 0.995},
    {"snu-humanoid", 64, 16, 2000, 100, "512,256", "256,256", 2e-3, 5e-4, 0.995},
    {"double-pendulum", 64, 16, 500, 100, "64,64", "64,64", 2e-3, 2e-3, 0.2},
};

int shac_preset(shac_config *c, const char *env, const char *preset, char *err, size_t errlen) {
    int paper = !strcmp(preset, "paper");
    if (!paper && strcmp(preset, "quick")) return nn_err(err, errlen, "unknown preset '%s' (quick or paper)", preset);
    *c = (shac_config){.env = env, .preset = preset, .horizon = 32, .gamma = 0.99, .lambda = 0.95, .lr_end = 1e-5,
                       .actor_clip = 1.0, .critic_clip = 1.0, .beta1 = 0.7, .beta2 = 0.95, .logstd_init = -1.0,
                       .critic_iters = 16, .critic_minibatches = 4, .seed = 0, .eval_episodes = 10,
                       .max_bad_updates = 5, .physics = ph_config_default()};
    // shac-and-tasks.md §2.3; "quick" keeps the networks and learning rates, with fewer
    // environments or epochs for 2 cores, and a 16-step window, which learns faster per
    // environment step (docs/shac.md)
    if (!paper) c->horizon = 16;
    const shac_task_preset *p = NULL;
    for (size_t i = 0; i < sizeof task_presets / sizeof task_presets[0]; i++)
        if (!strcmp(env, task_presets[i].env)) p = &task_presets[i];
    if (!p) return nn_err(err, errlen, "no SHAC preset for task '%s'", env);
    c->envs = paper ? p->envs_paper : p->envs_quick;
    c->epochs = paper ? p->epochs_paper : p->epochs_quick;
    c->actor_units = p->actor_units, c->critic_units = p->critic_units;
    c->actor_lr = p->actor_lr, c->critic_lr = p->critic_lr, c->target_alpha = p->target_alpha;
    c->eval_every = c->epochs / 10 > 0 ? c->epochs / 10 : 1;
    c->save_every = c->eval_every;
    return 0;
}

// ---------------------------------------------------------------------------------------------
// the `true` source's state: the learner, SHAC's observation statistics and noise stream

typedef struct {
    lrn_learner L;
    shac_config c;
    nn_rms obs_rms, rms_frozen;
    nn_rng noise;
    double t_physics, t_jacobians;  // epoch time breakdown (s)
} shac;

static const lrn_source source_true;

static void shac_free(void *src) {
    shac *s = src;
    lrn_free(&s->L);
    nn_rms_free(&s->obs_rms), nn_rms_free(&s->rms_frozen);
    nn_free(s);
}

// SHAC's preset of the learner: ELU networks on normalised observations, one critic and its target
static lrn_learner *shac_make(const void *config, const lrn_setup *setup, char *err, size_t errlen) {
    const shac_config *c = config;
    const env_task *t = env_find(c->env);
    if (!t) return nn_err(err, errlen, "unknown task '%s' (see pwm envs)", c->env), NULL;
    shac *s = nn_malloc(sizeof *s);
    memset(s, 0, sizeof *s);
    s->c = *c;
    lrn_learner *L = &s->L;
    lrn_config lc = LRN_CONFIG_OF(c);
    lc.critics = 1, lc.act = NN_ACT_ELU, lc.one_critic = 1, lc.targets = 1;
    lc.prog = "pwm shac", lc.format = SHAC_CKPT_FORMAT, lc.what = "SHAC";
    nn_rms_init(&s->obs_rms, t->obs_dim, 1e-5f, 0.0f);
    nn_rms_init(&s->rms_frozen, t->obs_dim, 1e-5f, 0.0f);
    lrn_input in = {.rms = &s->obs_rms, .obs_dim = t->obs_dim};
    nn_set_threads(setup->threads);
    if (lrn_init(L, &lc, &source_true, s, t->obs_dim, t->act_dim, t->obs_dim, in, err, errlen)) goto fail;
    L->e = env_batch_new(t, &c->physics, NULL, c->envs, (unsigned long)c->seed, c->horizon, err, errlen);
    if (!L->e) goto fail;
    env_batch_enable_grads(L->e);
    nn_rng_init(&s->noise, (unsigned long)c->seed, (1u << 20) + 1);
    if (c->save_data) {
        if (ds_recorder_open(&L->rec, c->save_data, t->name, L->N, L->O, L->A, t->episode_len, L->e->obs, err, errlen))
            goto fail;
        L->recording = 1, L->rec_name = "--save-data";
    }
    return L;
fail:
    shac_free(s);
    return NULL;
}

// ---------------------------------------------------------------------------------------------
// the actor loss through the simulator (lrn_true.c), on observations normalised by statistics
// frozen for the window (the statistics keep learning)

static float actor_window(lrn_learner *L, void *src) {
    shac *s = src;
    memcpy(s->rms_frozen.mean, s->obs_rms.mean, sizeof(float) * L->O);
    memcpy(s->rms_frozen.var, s->obs_rms.var, sizeof(float) * L->O);
    s->rms_frozen.count = s->obs_rms.count;
    lrn_true_args a = {.map = {.rms = &s->rms_frozen, .obs_dim = L->O}, .stats = &s->obs_rms, .noise = &s->noise};
    float loss = lrn_true_window(L, &a);
    s->t_physics = a.t_physics, s->t_jacobians = a.t_jacobians;
    return loss;
}

// ---------------------------------------------------------------------------------------------
// the source's hooks

static void after_epoch(lrn_learner *L, void *src, long ep, char *cols, char *tcols, size_t n) {
    shac *s = src;
    snprintf(tcols, n, "%.4f,%.4f,%.4f,%.4f,%.4f", s->t_physics, s->t_jacobians, L->t_backward, L->t_actor,
             L->t_critic);
}

// the observation statistics, the noise stream and the environments' exact state
static void save(const lrn_learner *L, const void *src, st_writer *w, strbuf *b) {
    const shac *s = src;
    nn_ckpt_write_rms(w, "obs_rms.", &s->obs_rms);
    sb_add_rng(b, &s->noise);
    lrn_env_state_write(b, L->e);
}

static int check(const lrn_learner *L, const void *src, const st_file *f, char *msg, size_t n) {
    const shac *s = src;
    return nn_ckpt_check_rms(f, "obs_rms.", &s->obs_rms, msg, n);
}

static int load(lrn_learner *L, void *src, const st_file *f, const char **state, long epoch, char *err, size_t n) {
    shac *s = src;
    int ok = 1;
    nn_rng noise = s->noise;
    sb_read_rng(state, &ok, &noise);
    if (!ok || lrn_env_state_read(state, L->e)) return 1;
    nn_ckpt_read_rms(f, "obs_rms.", &s->obs_rms);
    s->noise = noise;
    return 0;
}

static void describe(const lrn_learner *L, const void *src) {
    const shac_config *c = &((const shac *)src)->c;
    printf("shac %s: %d envs x %d steps, %d epochs (%.2fM env steps), actor [%s], critic [%s], seed %ld\n", c->env,
           L->N, L->H, c->epochs, (double)c->epochs * L->N * L->H / 1e6, c->actor_units, c->critic_units, c->seed);
}

static const lrn_source source_true = {
    .name = "true", .log_columns = "", .timing_header = "physics_s,jacobians_s,backward_s,actor_s,critic_s",
    .window = actor_window, .after_epoch = after_epoch, .save = save, .check = check, .load = load,
    .describe = describe, .free = shac_free};

int shac_train(const shac_config *c, const char *out_dir, int resume, int threads) {
    return lrn_train(shac_make, c, "pwm shac", out_dir, resume, threads);
}

int shac_actor_gradcheck(const shac_config *c, int samples, double eps, double *max_rel, double *rel_l2, char *err,
                         size_t errlen) {
    return lrn_actor_gradcheck(shac_make, c, samples, eps, max_rel, rel_l2, err, errlen);
}
