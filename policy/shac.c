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
#include "../physics/diffstep.h"
#include "../worldmodel/dataset.h"
#include "actor.h"
#include "learner.h"

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
// the learner's state

typedef struct {
    shac_config c;
    env_batch *e;
    int N, h, O, A, nx;
    nn_params ap, cp, tp;  // actor, critic, target critic
    actor act;
    nn_mlp critic, target;
    nn_adam aopt, copt;
    nn_rms obs_rms, rms_frozen;
    nn_graph *g;
    nn_rng noise;
    lrn_progress pr;                                           // epoch, env steps, wall time, returns
    float *obs_buf, *rew_buf, *done_buf, *next_val, *targets;  // h × N (× O)
    double *u;                                                 // N × A
    float *eps;                                                // N × A
    ds_recorder rec;                                           // --save-data
    int recording;
    double t_physics, t_jacobians, t_backward, t_actor, t_critic;  // epoch time breakdown (s)
} shac;

static void critic_spec(nn_mlp_spec *s, int obs_dim, const int *units, int n) {
    *s = (nn_mlp_spec){.in = obs_dim, .out = 1, .n_hidden = n, .act = NN_ACT_ELU, .block = NN_BLOCK_ACT_NORM,
                       .layernorm = 1, .out_kind = NN_OUT_LINEAR};
    for (int i = 0; i < n; i++) s->hidden[i] = units[i];
}

static int shac_init(shac *s, const shac_config *c, int threads, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    s->c = *c;
    const env_task *t = env_find(c->env);
    if (!t) return nn_err(err, errlen, "unknown task '%s' (see pwm envs)", c->env);
    int au[LRN_MAX_UNITS], cu[LRN_MAX_UNITS];
    int na = lrn_parse_units(c->actor_units, au), nc = lrn_parse_units(c->critic_units, cu);
    if (na < 1 || nc < 1)
        return nn_err(err, errlen, "bad --actor-units '%s' or --critic-units '%s': give widths like 128,64,32 (1..%d layers)",
                      c->actor_units, c->critic_units, LRN_MAX_UNITS);
    if (c->envs < 1 || c->horizon < 1 || c->epochs < 1 || c->critic_minibatches < 1 ||
        (c->envs * c->horizon) % c->critic_minibatches)
        return nn_err(err, errlen, "need envs, horizon, epochs >= 1 and envs x horizon divisible by critic-minibatches");
    nn_set_threads(threads);
    s->e = env_batch_new(t, &c->physics, NULL, c->envs, (unsigned long)c->seed, c->horizon, err, errlen);
    if (!s->e) return -1;
    env_batch_enable_grads(s->e);
    s->N = c->envs, s->h = c->horizon, s->O = t->obs_dim, s->A = t->act_dim, s->nx = s->e->pm->nx;
    // networks: the actor with PyTorch's default init, the critics orthogonal (gain √2) with zero bias
    nn_rng r;
    nn_rng_init(&r, (unsigned long)c->seed, 1u << 20);
    nn_params_init(&s->ap, 0);
    actor_declare(&s->act, &s->ap, "actor.", s->O, s->A, au, na, NN_ACT_ELU);
    nn_params_alloc(&s->ap);
    actor_init(&s->act, &r, (float)c->logstd_init);
    nn_mlp_spec cs;
    critic_spec(&cs, s->O, cu, nc);
    nn_params_init(&s->cp, 0);
    nn_mlp_declare(&s->critic, &s->cp, "critic", &cs);
    nn_params_alloc(&s->cp);
    nn_mlp_init(&s->critic, NN_INIT_ORTHOGONAL, 0, &r);
    nn_params_init(&s->tp, 0);
    nn_mlp_declare(&s->target, &s->tp, "critic", &cs);
    nn_params_alloc(&s->tp);
    nn_params_copy(&s->tp, &s->cp, 0.0f);
    nn_params_set_frozen(&s->tp, 1);
    s->aopt = s->copt = (nn_adam){.beta1 = (float)c->beta1, .beta2 = (float)c->beta2, .eps = 1e-8f};
    nn_rms_init(&s->obs_rms, s->O, 1e-5f, 0.0f);
    nn_rms_init(&s->rms_frozen, s->O, 1e-5f, 0.0f);
    nn_rng_init(&s->noise, (unsigned long)c->seed, (1u << 20) + 1);
    s->pr.best_eval = -INFINITY;
    if (c->save_data) {
        if (ds_recorder_open(&s->rec, c->save_data, t->name, s->N, s->O, s->A, t->episode_len, s->e->obs, err, errlen))
            return -1;
        s->recording = 1;
    }
    s->g = nn_graph_new(0);
    size_t hn = (size_t)s->h * s->N;
    s->obs_buf = nn_malloc(sizeof(float) * hn * s->O);
    s->rew_buf = nn_malloc(sizeof(float) * hn);
    s->done_buf = nn_malloc(sizeof(float) * hn);
    s->next_val = nn_malloc(sizeof(float) * hn);
    s->targets = nn_malloc(sizeof(float) * hn);
    s->u = nn_malloc(sizeof(double) * s->N * s->A);
    s->eps = nn_malloc(sizeof(float) * s->N * s->A);
    return 0;
}

static void shac_free(shac *s) {
    char err[512];
    if (s->recording && ds_recorder_close(&s->rec, err, sizeof err)) fprintf(stderr, "pwm shac: --save-data: %s\n", err);
    env_batch_free(s->e);
    nn_params_free(&s->ap), nn_params_free(&s->cp), nn_params_free(&s->tp);
    nn_rms_free(&s->obs_rms), nn_rms_free(&s->rms_frozen);
    nn_graph_free(s->g);
    nn_free(s->obs_buf), nn_free(s->rew_buf), nn_free(s->done_buf), nn_free(s->next_val), nn_free(s->targets);
    nn_free(s->u), nn_free(s->eps);
}

// ---------------------------------------------------------------------------------------------
// one epoch: the actor loss through the simulator, then the critic

// the actor loss over one window; fills the critic's buffers; returns the loss value
static float actor_window(shac *s) {
    env_batch *e = s->e;
    int N = s->N, h = s->h, O = s->O, A = s->A, nx = s->nx;
    double gam[N], t0;
    float col[N], coef[N], keep[N];
    nn_graph *g = s->g;
    nn_graph_reset(g);
    // the normalisation is frozen for the window; the statistics keep learning
    memcpy(s->rms_frozen.mean, s->obs_rms.mean, sizeof(float) * O);
    memcpy(s->rms_frozen.var, s->obs_rms.var, sizeof(float) * O);
    s->rms_frozen.count = s->obs_rms.count;
    ph_record_begin(e->b);
    nn_tensor *x = nn_tensor_new(g, N, nx, 0);  // the window's start: a gradient cut
    memset(x->x, 0, sizeof(float) * N * nx);
    nn_tensor *R = nn_tensor_new(g, N, 1, 0), *loss = NULL;
    memset(R->x, 0, sizeof(float) * N);
    for (int i = 0; i < N; i++) gam[i] = 1.0;
    int prev_at = e->task->prev_action_obs;
    nn_tensor *obs = ph_node_observe(g, x, NULL, prev_at, NULL, O, e->obs, e->J);
    for (int k = 0; k < h; k++) {
        t0 = nn_now();
        nn_rms_update(&s->obs_rms, obs->x, N);
        nn_tensor *on = nn_rms_apply(g, &s->rms_frozen, obs);
        memcpy(s->obs_buf + (size_t)k * N * O, on->x, sizeof(float) * N * O);
        for (int i = 0; i < N * A; i++) s->eps[i] = nn_rng_normal(&s->noise);
        nn_tensor *u = actor_forward(g, &s->act, on, s->eps);
        for (int i = 0; i < N * A; i++) s->u[i] = u->x[i];
        s->t_actor += nn_now() - t0;
        // physics wall time, split by the share the Jacobians took of the environments' step time
        double tj0 = 0, ts0 = 0, tj1 = 0, ts1 = 0;
        for (int i = 0; i < N; i++) tj0 += e->b->t_jacobians[i], ts0 += e->b->t_steps[i];
        t0 = nn_now();
        env_step(e, s->u, 1);
        double dt = nn_now() - t0;
        for (int i = 0; i < N; i++) tj1 += e->b->t_jacobians[i], ts1 += e->b->t_steps[i];
        char err[512];
        if (s->recording &&
            ds_recorder_step(&s->rec, e->act, e->rew, e->term, e->trunc, e->obs_final, e->obs, err, sizeof err)) {
            fprintf(stderr, "pwm shac: --save-data: %s; recording stopped\n", err);
            ds_recorder_close(&s->rec, err, sizeof err);
            s->recording = 0;
        }
        double share = ts1 > ts0 ? (tj1 - tj0) / (ts1 - ts0) : 0.0;
        s->pr.env_steps += N;
        s->t_jacobians += dt * share;
        s->t_physics += dt * (1.0 - share);
        t0 = nn_now();
        // the step's output state, the reward, the observation before any reset
        nn_tensor *xo = ph_node_step(g, e->b, k, x, u);
        nn_tensor *r = ph_node_reward(g, x, u, xo, e->rew, e->drdx, e->drda, e->drdx_post);
        nn_tensor *of = ph_node_observe(g, xo, u, prev_at, NULL, O, e->obs_final, e->J_final);
        nn_tensor *v = nn_mlp_forward(g, &s->target, nn_rms_apply(g, &s->rms_frozen, of));
        // R += γ^k·r (per environment since its last reset)
        for (int i = 0; i < N; i++) col[i] = (float)gam[i];
        R = nn_add(g, R, nn_mul(g, r, nn_tensor_from(g, col, N, 1, 0)));
        // finished environments (all at the window's end) add −(R + γ^{k+1}·bootstrap);
        // terminations bootstrap 0, time-outs V′(observation before the reset)
        int last = k == h - 1;
        for (int i = 0; i < N; i++) {
            int done = e->term[i] || e->trunc[i];
            coef[i] = (done || last) ? 1.0f : 0.0f;
            col[i] = (float)(s->c.gamma * gam[i] * (e->term[i] ? 0.0 : 1.0));
            s->rew_buf[(size_t)k * N + i] = r->x[i];
            s->done_buf[(size_t)k * N + i] = (done || last) ? 1.0f : 0.0f;
            s->next_val[(size_t)k * N + i] = e->term[i] ? 0.0f : v->x[i];
            keep[i] = done ? 0.0f : 1.0f;
            gam[i] = done ? 1.0 : gam[i] * s->c.gamma;
            if (done) lrn_recent_add(&s->pr.recent, e->ret_final[i]);
        }
        nn_tensor *term = nn_add(g, R, nn_mul(g, v, nn_tensor_from(g, col, N, 1, 0)));
        nn_tensor *lk = nn_scale(g, nn_mean(g, nn_mul(g, term, nn_tensor_from(g, coef, N, 1, 0))), -1.0f / (float)h);
        loss = loss ? nn_add(g, loss, lk) : lk;
        R = nn_mul(g, R, nn_tensor_from(g, keep, N, 1, 0));
        // the next step starts from the output state, except where the physics layer recorded a
        // cut (every reset: terminations, time-outs and blow-ups), whose previous action is zero
        if (!last) {
            const unsigned char *cut;
            x = ph_node_cut(g, e->b, k, xo, &cut);
            obs = ph_node_observe(g, x, u, prev_at, cut, O, e->obs, e->J);
        }
        s->t_actor += nn_now() - t0;
    }
    t0 = nn_now();
    nn_params_zero_grad(&s->ap);
    nn_backward(g, loss);
    s->t_backward += nn_now() - t0;
    return loss->x[0];
}

// actions u (n × act_dim) of an actor for raw observations obs (n × obs_dim), normalised by rms,
// on a scratch graph without gradients; eps NULL gives the deterministic tanh(μ)
static void policy_forward(nn_graph *g, const actor *act, const nn_rms *rms, const double *obs, int n,
                           const float *eps, double *u) {
    nn_graph_reset(g);
    nn_graph_set_no_grad(g, 1);
    nn_tensor *o = nn_tensor_new(g, n, act->obs_dim, 0);
    for (int i = 0; i < n * act->obs_dim; i++) o->x[i] = (float)obs[i];
    nn_tensor *a = actor_forward(g, act, nn_rms_apply(g, rms, o), eps);
    for (int i = 0; i < n * act->act_dim; i++) u[i] = a->x[i];
}

// the deterministic policy of an actor with its observation statistics
typedef struct {
    nn_graph *g;
    const actor *act;
    const nn_rms *rms;
} det_policy;

static void det_policy_act(void *ctx, const double *obs, int n, double *u) {
    det_policy *p = ctx;
    policy_forward(p->g, p->act, p->rms, obs, n, NULL, u);
}

static int evaluate(const actor *act, const nn_rms *rms, const char *env, int episodes, long seed,
                    const ph_config *physics, double *mean, double *std, char *err, size_t errlen) {
    det_policy p = {nn_graph_new(1 << 20), act, rms};
    int rc = lrn_evaluate(env, episodes, seed, physics, det_policy_act, &p, mean, std, 0, err, errlen);
    nn_graph_free(p.g);
    return rc;
}

// ---------------------------------------------------------------------------------------------
// checkpoints: networks, optimizers, statistics and the environments' exact state

static int save_checkpoint(const shac *s, const char *path, char *err, size_t errlen) {
    st_writer *w = lrn_ckpt_writer(SHAC_CKPT_FORMAT, s->c.env, s->c.actor_units);
    nn_ckpt_write_params(w, "a/", &s->ap, &s->aopt);
    nn_ckpt_write_params(w, "c/", &s->cp, &s->copt);
    nn_ckpt_write_params(w, "t/", &s->tp, NULL);
    nn_ckpt_write_rms(w, "obs_rms.", &s->obs_rms);
    st_writer_meta(w, "critic_units", s->c.critic_units);
    // everything else the run needs to continue bit for bit, as exact hex doubles
    strbuf b = {0};
    lrn_progress_write(&b, &s->pr);
    sb_add_rng(&b, &s->noise);
    lrn_env_state_write(&b, s->e);
    return lrn_ckpt_commit(w, s->pr.epoch, &b, path, err, errlen);
}

static int load_checkpoint(shac *s, const char *path, char *err, size_t errlen) {
    st_file f;
    const char *state, *epoch;
    if (lrn_ckpt_open(&f, path, SHAC_CKPT_FORMAT, "SHAC", s->c.env, &state, &epoch, err, errlen)) return -1;
    char msg[512];
    int rc = -1;
    if (nn_ckpt_check_params(&f, "a/", &s->ap, &s->aopt, msg, sizeof msg) ||
        nn_ckpt_check_params(&f, "c/", &s->cp, &s->copt, msg, sizeof msg) ||
        nn_ckpt_check_params(&f, "t/", &s->tp, NULL, msg, sizeof msg) ||
        nn_ckpt_check_rms(&f, "obs_rms.", &s->obs_rms, msg, sizeof msg)) {
        nn_err(err, errlen, "%s: %s (resume with the options of the original run: see its config.txt)", path, msg);
    } else {
        // the run's counters first, into temporaries, so that a bad state changes nothing
        const char *p = state;
        int ok = 1;
        lrn_progress pr = s->pr;
        nn_rng noise = s->noise;
        ok = lrn_progress_read(&p, &pr) == 0 && lrn_epoch_parse(epoch, &pr.epoch) == 0;
        sb_read_rng(&p, &ok, &noise);
        if (!ok || lrn_env_state_read(&p, s->e)) {
            nn_err(err, errlen, "%s: its run state is truncated, corrupt (a value out of range) or was saved with "
                   "another --envs", path);
        } else {
            nn_ckpt_read_params(&f, "a/", &s->ap, &s->aopt);
            nn_ckpt_read_params(&f, "c/", &s->cp, &s->copt);
            nn_ckpt_read_params(&f, "t/", &s->tp, NULL);
            nn_ckpt_read_rms(&f, "obs_rms.", &s->obs_rms);
            s->pr = pr;
            s->noise = noise;
            rc = 0;
        }
    }
    st_free(&f);
    return rc;
}

// ---------------------------------------------------------------------------------------------
// training

// one epoch: the actor window through the simulator, its update, the critic and its target
static void run_epoch(void *ctx, long ep, char *cols, char *tcols, size_t n) {
    shac *s = ctx;
    const shac_config *c = &s->c;
    long decay = c->lr_decay_epochs > 0 ? c->lr_decay_epochs : c->epochs;
    float lr_a = nn_lr_linear((float)c->actor_lr, (float)c->lr_end, ep - 1, decay);
    float lr_c = nn_lr_linear((float)c->critic_lr, (float)c->lr_end, ep - 1, decay);
    s->t_physics = s->t_jacobians = s->t_backward = s->t_actor = s->t_critic = 0;
    float loss = actor_window(s);
    int skipped;
    double norm = lrn_actor_update(&s->ap, &s->aopt, c->actor_clip, lr_a, &s->pr, "pwm shac", &skipped);
    double t1 = nn_now();
    lrn_td_lambda(s->N, s->h, c->gamma, c->lambda, s->rew_buf, s->done_buf, s->next_val, s->targets);
    double closs = lrn_fit_critics(s->g, &s->critic, 1, &s->cp, &s->copt, s->obs_buf, s->targets, s->N * s->h, s->O,
                                   c->critic_iters, c->critic_minibatches, c->critic_clip, lr_c);
    nn_params_copy(&s->tp, &s->cp, (float)c->target_alpha);
    s->t_critic = nn_now() - t1;
    snprintf(cols, n, "%.6g,%.6g,%.6g,%d", loss, norm, closs, skipped);
    snprintf(tcols, n, "%.4f,%.4f,%.4f,%.4f,%.4f", s->t_physics, s->t_jacobians, s->t_backward, s->t_actor,
             s->t_critic);
}

static int run_evaluate(void *ctx, int episodes, long seed, double *mean, double *std, char *err, size_t errlen) {
    shac *s = ctx;
    return evaluate(&s->act, &s->obs_rms, s->c.env, episodes, seed, &s->c.physics, mean, std, err, errlen);
}

static int run_save(void *ctx, const char *path, char *err, size_t errlen) {
    return save_checkpoint(ctx, path, err, errlen);
}

int shac_train(const shac_config *c, const char *out_dir, int resume, int threads) {
    char err[1024];
    rundir_files P;
    if (rundir_start(&P, out_dir, resume, err, sizeof err)) return fprintf(stderr, "pwm shac: %s\n", err), 1;
    shac s;
    if (shac_init(&s, c, threads, err, sizeof err) || (resume && load_checkpoint(&s, P.ckpt, err, sizeof err))) {
        fprintf(stderr, "pwm shac: %s\n", err);
        shac_free(&s);
        return 1;
    }
    printf("shac %s: %d envs x %d steps, %d epochs (%.2fM env steps), actor [%s], critic [%s], seed %ld\n", c->env, s.N,
           s.h, c->epochs, (double)c->epochs * s.N * s.h / 1e6, c->actor_units, c->critic_units, c->seed);
    fflush(stdout);
    lrn_loop L = {.prog = "pwm shac", .epochs = c->epochs, .eval_every = c->eval_every, .save_every = c->save_every,
                  .stop_after = c->stop_after, .max_bad_updates = c->max_bad_updates,
                  .eval_episodes = c->eval_episodes, .seed = c->seed,
                  .log_header = "actor_loss,actor_grad_norm,critic_loss,skipped",
                  .timing_header = "physics_s,jacobians_s,backward_s,actor_s,critic_s", .epoch = run_epoch,
                  .evaluate = run_evaluate, .save = run_save, .ctx = &s, .pr = &s.pr};
    int rc = lrn_run(&L, &P, resume);
    shac_free(&s);
    return rc;
}

struct shac_policy {
    char env[64];
    nn_params ap;
    actor act;
    nn_rms rms;
    nn_graph *g;
    float *eps;
    int cap;
};

shac_policy *shac_policy_load(const char *ckpt, const char *env, char *err, size_t errlen) {
    st_file f;
    if (st_read(ckpt, &f, err, errlen)) return NULL;
    int au[LRN_MAX_UNITS], na;
    const env_task *t = lrn_policy_meta(&f, ckpt, env, au, &na, err, errlen);
    shac_policy *p = NULL;
    char msg[512];
    if (t) {
        p = nn_malloc(sizeof *p);
        snprintf(p->env, sizeof p->env, "%s", t->name);
        nn_params_init(&p->ap, 0);
        actor_declare(&p->act, &p->ap, "actor.", t->obs_dim, t->act_dim, au, na, NN_ACT_ELU);
        nn_rms_init(&p->rms, t->obs_dim, 1e-5f, 0.0f);
        // the shapes are checked against the file before anything of their size is allocated
        if (nn_ckpt_check_params(&f, "a/", &p->ap, NULL, msg, sizeof msg) ||
            nn_ckpt_check_rms(&f, "obs_rms.", &p->rms, msg, sizeof msg)) {
            nn_err(err, errlen, "%s: %s", ckpt, msg);
            nn_params_free(&p->ap);
            nn_rms_free(&p->rms);
            nn_free(p);
            p = NULL;
        } else {
            nn_params_alloc(&p->ap);
            nn_ckpt_read_params(&f, "a/", &p->ap, NULL);
            nn_ckpt_read_rms(&f, "obs_rms.", &p->rms);
            p->g = nn_graph_new(1 << 20);
        }
    }
    st_free(&f);
    return p;
}

const char *shac_policy_env(const shac_policy *p) { return p->env; }

void shac_policy_act(shac_policy *p, const double *obs, int n, double *u, nn_rng *r) {
    policy_forward(p->g, &p->act, &p->rms, obs, n, lrn_noise(&p->eps, &p->cap, n, p->act.act_dim, r), u);
}

void shac_policy_free(shac_policy *p) {
    if (!p) return;
    nn_params_free(&p->ap);
    nn_rms_free(&p->rms);
    nn_graph_free(p->g);
    nn_free(p->eps);
    nn_free(p);
}

// ---------------------------------------------------------------------------------------------
// gradient check of the actor loss

typedef struct {
    const shac_config *c;
    char *err;
    size_t errlen;
} gc_ctx;

// the first window's loss of a fresh learner with actor parameter i moved by delta
static double gc_loss(void *vctx, size_t i, double delta) {
    gc_ctx *x = vctx;
    shac t;
    if (shac_init(&t, x->c, 1, x->err, x->errlen)) return NAN;
    t.ap.values[i] += (float)delta;
    double L = actor_window(&t);
    shac_free(&t);
    return L;
}

int shac_actor_gradcheck(const shac_config *c, int samples, double eps, double *max_rel, double *rel_l2, char *err,
                         size_t errlen) {
    // the loss is a deterministic function of the weights for a fresh learner (same starts, same
    // noise), so each evaluation builds one from the same config
    shac s;
    if (shac_init(&s, c, 1, err, errlen)) return -1;
    actor_window(&s);
    gc_ctx x = {c, err, errlen};
    int rc = lrn_gradcheck(&s.ap, s.ap.grads, samples, eps, gc_loss, &x, max_rel, rel_l2);
    shac_free(&s);
    return rc;
}
