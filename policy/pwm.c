#include "pwm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../nn/common.h"
#include "../nn/device.h"
#include "../worldmodel/train.h"
#include "pwm_diagnose.h"
#include "pwm_internal.h"

// ---------------------------------------------------------------------------------------------
// presets (pwm-paper-and-code.md §2.6-§2.7: the algorithm's settings are the same for every task)

int pwm_preset(pwm_config *c, const char *env, const char *preset, char *err, size_t errlen) {
    int paper = !strcmp(preset, "paper");
    if (!paper && strcmp(preset, "quick")) return nn_err(err, errlen, "unknown preset '%s' (quick or paper)", preset);
    *c = (pwm_config){.env = env, .preset = preset, .envs = 64, .horizon = 16, .epochs = paper ? 15000 : 600,
                      .gamma = 0.99, .lambda = 0.95, .actor_units = "400,200,100", .critic_units = "400,200",
                      .critics = 3, .actor_lr = 5e-4, .critic_lr = 5e-4, .lr_end = 1e-5, .actor_clip = 1.0,
                      .critic_clip = 100.0, .beta1 = 0.7, .beta2 = 0.95, .logstd_init = -1.0, .logstd_min = -1.427,
                      .critic_iters = 8, .critic_minibatches = 4, .wm_iters = 8, .wm_batch = 256, .wm_lr = 3e-4,
                      .wm_clip = 20.0, .buffer = 1000000, .lr_decay_epochs = 15000, .seed = 0, .eval_episodes = 10, .max_bad_updates = 5,
                      .physics = ph_config_default()};
    // the paper's Ant uses 128 environments (§2.7); quick keeps 64 everywhere
    if (paper && !strcmp(env, "ant")) c->envs = 128;
    // quick: fewer fine-tuning steps per epoch, the cost that dominates an epoch on 2 cores
    if (!paper) c->wm_iters = 2;
    c->eval_every = c->epochs / 20 > 0 ? c->epochs / 20 : 1;
    c->save_every = c->eval_every;
    return 0;
}

// ---------------------------------------------------------------------------------------------
// the learner's setup (its state: pwm_internal.h)

void pwm_critic_spec(nn_mlp_spec *s, int in, const int *units, int n) { lrn_critic_spec(s, in, units, n, NN_ACT_MISH); }

static void pwm_free(void *src) {
    pwm *s = src;
    lrn_free(&s->L);
    replay_free(&s->rb);
    if (s->w.p.values) wm_free(&s->w);
    nn_rms_free(&s->rew_rms), nn_rms_free(&s->ret_rms);
    nn_free(s->creal), nn_free(s->obs_f), nn_free(s->wobs), nn_free(s->wact), nn_free(s->wrew);
    nn_free(s->wterm), nn_free(s->bc_act), nn_free(s->bc_mask);
    nn_free(s);
}

static const lrn_source sources[3];

const char *pwm_gradient_name(int gradient) {
    nn_check(gradient >= 0 && gradient < 3, "pwm_gradient_name: unknown gradient source %d", gradient);
    return sources[gradient].name;
}

int pwm_check_gradient(const pwm_config *c, char *err, size_t errlen) {
    if (c->gradient != PWM_GRADIENT_MODEL && c->gradient != PWM_GRADIENT_HYBRID && c->gradient != PWM_GRADIENT_TRUE)
        return nn_err(err, errlen, "unknown gradient source %d", c->gradient);
    if (c->gradient != PWM_GRADIENT_MODEL && (c->offline || c->closed_loop || c->critic_data))
        return nn_err(err, errlen, "--gradient %s steps the real environments and is closed-loop with real critic "
                      "data already: not with --offline, --closed-loop or --critic-data real|real-targets",
                      sources[c->gradient].name);
    return 0;
}

// the world model of a world-model checkpoint (pwm wm train) or of a PWM checkpoint (its
// fine-tuned model); its Adam state continues when the file has one, else fine-tuning starts a
// fresh one (a step snapshot)
static int load_model(pwm *s, const char *path, char *err, size_t errlen) {
    st_file f;
    if (st_read(path, &f, err, errlen)) return -1;
    const char *fmt = st_meta(&f, "format");
    int rc;
    if (!fmt || (strcmp(fmt, "pwm-worldmodel-1") && strcmp(fmt, PWM_CKPT_FORMAT))) {
        rc = nn_err(err, errlen, "%s: neither a world model (pwm wm train) nor a PWM checkpoint (format %s)", path,
                    fmt ? fmt : "missing");
    } else {
        s->wopt = nn_adam_default();
        rc = wm_read(&f, &s->w, &s->wopt, &s->rew_rms, NULL, path, err, errlen);
        if (rc) rc = wm_read(&f, &s->w, NULL, &s->rew_rms, NULL, path, err, errlen);
    }
    st_free(&f);
    return rc;
}

// the state every learner starts from, before its model and data
static pwm *pwm_start(const pwm_config *c) {
    pwm *s = nn_malloc(sizeof *s);
    memset(s, 0, sizeof *s);
    s->c = *c;
    replay_init(&s->rb, c->buffer);
    nn_rms_init(&s->rew_rms, 1, 1e-5f, 5.0f);
    nn_rms_init(&s->ret_rms, 1, 1e-5f, 0.0f);
    return s;
}

// PWM's preset of the learner: Mish networks on the frozen encoder's latents, K critics (target
// critics with --target-alpha); then the rollout's, the critics' and the fine-tuning's host buffers
static int init_learner(pwm *s, int O, int A, char *err, size_t errlen) {
    const pwm_config *c = &s->c;
    if (pwm_check_gradient(c, err, errlen)) return -1;
    const lrn_source *src = &sources[c->gradient];
    lrn_config lc = LRN_CONFIG_OF(c);
    lc.critics = c->critics, lc.act = NN_ACT_MISH, lc.one_critic = 0, lc.targets = 0;
    lc.prog = "pwm train", lc.format = PWM_CKPT_FORMAT, lc.what = "PWM";
    lrn_input in = {.w = &s->w, .obs_dim = O};
    if (c->wm_batch < 1) return nn_err(err, errlen, "need --wm-batch >= 1");
    if (lrn_init(&s->L, &lc, src, s, O, A, s->Z, in, err, errlen)) return -1;
    size_t hn = (size_t)c->horizon * c->envs;
    if (c->critic_data && c->offline) return nn_err(err, errlen, "--critic-data real|real-targets needs the online environments");
    if (c->critic_data == PWM_CRITIC_REAL) {
        s->creal = nn_malloc(sizeof(float) * hn * s->Z);
        s->L.critic_in = s->creal;
    }
    s->obs_f = nn_malloc(sizeof(float) * c->envs * O);
    s->bc_act = nn_malloc(sizeof(float) * c->envs * A);
    s->bc_mask = nn_malloc(sizeof(float) * c->envs * A);
    int B = c->wm_batch, H = c->horizon;
    s->wobs = nn_malloc(sizeof(float) * (size_t)(H + 1) * B * O);
    s->wact = nn_malloc(sizeof(float) * (size_t)H * B * A);
    s->wrew = nn_malloc(sizeof(float) * (size_t)H * B);
    s->wterm = nn_malloc(sizeof(float) * (size_t)H * B);
    return 0;
}

lrn_learner *pwm_make(const void *config, const lrn_setup *setup, char *err, size_t errlen) {
    const pwm_config *c = config;
    const env_task *t = env_find(c->env);
    if (!t) return nn_err(err, errlen, "unknown task '%s' (see pwm envs)", c->env), NULL;
    if (!c->wm) return nn_err(err, errlen, "no world model: give --wm FILE (pretrain one with pwm wm train)"), NULL;
    pwm *s = pwm_start(c);
    const char *out_dir = setup->out_dir;
    nn_set_threads(setup->threads);
    if (load_model(s, c->wm, err, errlen)) goto fail;
    if (s->w.c.num_tasks || s->w.c.obs_dim != t->obs_dim || s->w.c.act_dim != t->act_dim || s->w.c.reward_bins) {
        nn_err(err, errlen, "%s is not a single-task scalar-reward model of '%s' (tasks '%s', obs %d, act %d, "
               "%d reward bins); train one on this task's data with pwm wm train", c->wm, c->env, s->w.tasks,
               s->w.c.obs_dim, s->w.c.act_dim, s->w.c.reward_bins);
        goto fail;
    }
    s->Z = s->w.c.latent;
    nn_params_set_frozen(&s->w.p, 1);
    for (int i = 0; c->data && c->data[i]; i++) {
        if (i == PWM_MAX_DATA) {
            nn_err(err, errlen, "at most %d datasets", PWM_MAX_DATA);
            goto fail;
        }
        if (replay_load(&s->rb, c->data[i], c->env, t->obs_dim, t->act_dim, err, errlen)) goto fail;
    }
    if (c->offline && !s->rb.n) {
        nn_err(err, errlen, "--offline needs a dataset of start states: give --data DIR");
        goto fail;
    }
    if (c->bc_weight < 0 || (c->bc_weight > 0 && !c->offline)) {
        nn_err(err, errlen, "--bc-weight must be >= 0 and applies to --offline runs only");
        goto fail;
    }
    if (c->diagnose_every < 0) {
        nn_err(err, errlen, "--diagnose-every must be >= 0");
        goto fail;
    }
    if (init_learner(s, t->obs_dim, t->act_dim, err, errlen)) goto fail;
    if (out_dir) snprintf(s->diag_path, sizeof s->diag_path, "%s/diagnose.csv", out_dir);
    if (setup->gradcheck) {
        // a fresh learner's first epoch; its differenced passes see the analytic pass's actor inputs
        s->L.pr.epoch = 1, s->freeze_ret = 1;
        if (setup->first) s->actor_in = setup->first->xbuf;
    }
    if (!c->offline) {
        // the true source records the window's Jacobians; the hybrid needs the reward's ∂r/∂a only
        int real = c->gradient == PWM_GRADIENT_TRUE;
        s->L.e = env_batch_new(t, &c->physics, NULL, s->L.N, (unsigned long)c->seed, real ? c->horizon : 0, err, errlen);
        if (!s->L.e) goto fail;
        if (real) env_batch_enable_grads(s->L.e);
        if (c->gradient == PWM_GRADIENT_HYBRID) env_batch_enable_drda(s->L.e);
        if (out_dir) {
            snprintf(s->online_dir, sizeof s->online_dir, "%s/online", out_dir);
            if (ds_recorder_open(&s->L.rec, s->online_dir, t->name, s->L.N, s->L.O, s->L.A, t->episode_len, s->L.e->obs,
                                 err, errlen))
                goto fail;
            s->L.rec.on_episode = replay_push_copy, s->L.rec.ctx = &s->rb;
            s->L.recording = 1, s->L.rec_name = "online data";
        }
    }
    return &s->L;
fail:
    pwm_free(s);
    return NULL;
}

// ---------------------------------------------------------------------------------------------
// the world model's fine-tuning and the evaluation

// wm_iters fine-tuning steps on the replay buffer (online; offline the model stays frozen); the
// mean loss (NAN when none ran)
static double finetune(pwm *s, float lr) {
    if (s->c.offline || s->c.wm_iters < 1) return NAN;
    int B = s->c.wm_batch, H = s->c.horizon;
    double sum = 0;
    nn_params_set_frozen(&s->w.p, 0);
    for (int it = 0; it < s->c.wm_iters; it++) {
        nn_rng r;
        nn_rng_init(&r, (unsigned long)s->c.seed, (2ul << 20) + (unsigned long)s->L.pr.epoch * 64 + (unsigned long)it);
        if (wm_sample_windows(s->rb.eps, NULL, 0, s->rb.n, s->L.O, s->L.A, B, H, &r, &s->rew_rms, s->wobs, s->wact, s->wrew,
                              s->wterm, NULL)) {
            sum = NAN;
            break;
        }
        const char *bad;
        double l = wm_train_step(s->L.g, &s->w, &s->wopt, s->wobs, s->wact, s->wrew, s->wterm, NULL, B, H, s->c.gamma,
                                 s->c.wm_clip, lr, NULL, NULL, &bad);
        if (bad) fprintf(stderr, "pwm train: epoch %ld: non-finite world-model gradient in '%s': step skipped\n",
                         s->L.pr.epoch, bad);
        else sum += l / s->c.wm_iters;
    }
    nn_params_set_frozen(&s->w.p, 1);
    return sum;
}

// ---------------------------------------------------------------------------------------------
// training

// --diagnose-every: the core pwm diagnose figures of the current networks, a row of DIR/diagnose.csv
// (its own environments, graphs and random streams: the run's numbers do not change)
static void diagnose(pwm *s, long ep) {
    const pwm_config *c = &s->c;
    pwm_diag_nets n = {&s->w, &s->rew_rms, &s->L.act, c->target_alpha > 0 ? s->L.targets_net : s->L.critics, c->critics,
                       c->gamma, env_find(c->env), &c->physics};
    pwm_diag_config dc = pwm_diag_defaults();
    dc.H = c->horizon, dc.seed = c->seed + 2000000;
    pwm_diag_result r;
    char err[1024];
    if (pwm_diagnose(&n, &dc, &r, err, sizeof err) || pwm_diag_append(s->diag_path, ep, &r, err, sizeof err))
        fprintf(stderr, "pwm train: epoch %ld: diagnose: %s\n", ep, err);
}

// one epoch: the actor through the model, its update, the critics, the model's fine-tuning
// ---------------------------------------------------------------------------------------------
// the source's hooks

static float model_window(lrn_learner *L, void *src) { return pwm_actor_window(src); }

static float hybrid_window(lrn_learner *L, void *src) { return pwm_hybrid_window(src); }

// --gradient true on PWM's networks: the real rollout through the MuJoCo Jacobians and the frozen
// encoder (d enc(o)/d o), SHAC's loss (not return-normalised), the critics (not learning here) at
// the encoded real states; the critics fit the real trajectory
static float true_window(lrn_learner *L, void *src) {
    pwm *s = src;
    nn_rng noise;
    pwm_window_begin(s, &noise);
    lrn_true_args a = {.map = {.w = &s->w, .obs_dim = L->O}, .noise = &noise};
    float loss = lrn_true_window(L, &a);
    nn_params_set_frozen(&L->cp, 0);
    s->t_env = a.t_physics + a.t_jacobians;
    return loss;
}

// after the critics: the model's fine-tuning, --diagnose-every
static void after_epoch(lrn_learner *L, void *src, long ep, char *cols, char *tcols, size_t n) {
    pwm *s = src;
    const pwm_config *c = &s->c;
    float lr_w = lrn_lr(&L->c, c->wm_lr, ep);
    double t1 = nn_now();
    s->wm_loss = finetune(s, lr_w);
    s->t_wm = nn_now() - t1;
    if (c->diagnose_every > 0 && ep % c->diagnose_every == 0 && s->diag_path[0]) diagnose(s, ep);
    snprintf(cols, n, "%.6g,", s->wm_loss);
    snprintf(tcols, n, "%.4f,%.4f,%.4f,%.4f,%.4f", s->t_env, L->t_actor, L->t_backward, L->t_critic, s->t_wm);
}

static void describe(const lrn_learner *L, const void *src) {
    const pwm *s = src;
    const pwm_config *c = &s->c;
    printf("pwm %s (%s): %d %s x %d steps, %d epochs, world model %s (latent %d, %.2fM parameters), actor [%s], "
           "%d critics [%s], seed %ld%s, gradient %s, device %s; rewards %s\n", c->env, c->offline ? "offline" : "online",
           L->N, c->offline ? "dataset starts" : "envs", L->H, c->epochs, c->wm, s->Z, nn_params_numel(&s->w.p) / 1e6,
           c->actor_units, c->critics, c->critic_units, c->seed, c->reproduce_original ? ", original quirks" : "",
           L->src->name,
           nn_device_describe(),
           s->rew_rms.scale_only ? "r/std" : "(r - mean)/std (falling can pay on a task that ends: docs/pwm.md)");
}

// The gradient sources over PWM's state (its world model, replay buffer, K critics on latents,
// fine-tuning): they differ in their window only. A source is one entry here, at its
// PWM_GRADIENT_* index (SHAC's preset has the `true` source alone, shac.c).
#define PWM_SOURCE(name_, window_)                                                                                  \
    {.name = name_, .log_columns = "wm_loss,", .timing_header = "env_s,actor_s,backward_s,critic_s,wm_s",         \
     .window = window_, .after_epoch = after_epoch, .save = pwm_ckpt_save, .check = pwm_ckpt_check,               \
     .load = pwm_ckpt_load, .describe = describe, .free = pwm_free}
static const lrn_source sources[3] = {
    [PWM_GRADIENT_MODEL] = PWM_SOURCE("model", model_window),
    [PWM_GRADIENT_HYBRID] = PWM_SOURCE("hybrid", hybrid_window),
    [PWM_GRADIENT_TRUE] = PWM_SOURCE("true", true_window),
};

int pwm_train(const pwm_config *c, const char *out_dir, int resume, int threads) {
    return lrn_train(pwm_make, c, "pwm train", out_dir, resume, threads);
}

int pwm_actor_gradcheck(const pwm_config *c, int samples, double eps, double *max_rel, double *rel_l2, char *err,
                        size_t errlen) {
    // a fresh learner's first epoch is a deterministic function of the actor's weights; the
    // return normaliser (a constant of the gradient) is held at its initial value in every pass,
    // and the actor's inputs sg(z_k) at the analytic pass's latents
    return lrn_actor_gradcheck(pwm_make, c, samples, eps, max_rel, rel_l2, err, errlen);
}

// ---------------------------------------------------------------------------------------------
// the network work of epochs, for pwm bench nn

int pwm_bench_epochs(const pwm_config *c, const wm_config *wc, const ds_episode *eps, int neps, int warmup, int epochs,
                     pwm_bench_result *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    pwm *s = pwm_start(c);
    s->c.offline = 0, s->c.diagnose_every = 0, s->c.critic_data = PWM_CRITIC_MODEL, s->c.gradient = PWM_GRADIENT_MODEL;
    int rc = -1;
    if (neps < 1 || epochs < 1 || warmup < 0 || wc->num_tasks || wc->reward_bins || wc->termination) {
        nn_err(err, errlen, "need episodes, epochs >= 1 and a single-task scalar-reward model without a termination head");
        goto done;
    }
    wm_init(&s->w, wc, (unsigned long)c->seed);
    s->wopt = nn_adam_default();
    s->Z = s->w.c.latent;
    nn_params_set_frozen(&s->w.p, 1);
    for (int i = 0; i < neps; i++) {
        if (eps[i].obs_dim != wc->obs_dim || eps[i].act_dim != wc->act_dim) {
            nn_err(err, errlen, "episode %d has obs %d, act %d; the model %d, %d", i, eps[i].obs_dim, eps[i].act_dim,
                   wc->obs_dim, wc->act_dim);
            goto done;
        }
        replay_push(&s->rb, &eps[i], 0);
    }
    if (init_learner(s, wc->obs_dim, wc->act_dim, err, errlen)) goto done;
    // the epoch as pwm train runs it, without environments: the actor starts at the episodes' states
    char cols[256], tcols[256];
    for (int ep = 1; ep <= warmup + epochs; ep++) {
        s->L.pr.epoch = ep;
        double t0 = nn_now();
        lrn_epoch(&s->L, ep, cols, tcols, sizeof cols);
        if (ep <= warmup) continue;
        double all = nn_now() - t0, fwd_bwd = s->t_env + s->L.t_actor + s->L.t_backward;
        r->actor_s += fwd_bwd / epochs, r->critic_s += s->L.t_critic / epochs, r->wm_s += s->t_wm / epochs;
        r->update_s += (all - fwd_bwd - s->L.t_critic - s->t_wm) / epochs, r->epoch_s += all / epochs;
    }
    r->actor_loss = s->L.last[0], r->grad_norm = s->L.last[1], r->critic_loss = s->L.last[2], r->wm_loss = s->wm_loss;
    r->model_params = nn_params_numel(&s->w.p), r->actor_count = s->L.ap.count;
    r->actor = nn_malloc(sizeof(float) * s->L.ap.count);
    memcpy(r->actor, s->L.ap.values, sizeof(float) * s->L.ap.count);
    rc = 0;
done:
    pwm_free(s);
    return rc;
}
