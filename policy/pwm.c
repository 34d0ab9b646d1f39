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

void pwm_critic_spec(nn_mlp_spec *s, int in, const int *units, int n) {
    *s = (nn_mlp_spec){.in = in, .out = 1, .n_hidden = n, .act = NN_ACT_MISH, .block = NN_BLOCK_ACT_NORM,
                       .layernorm = 1, .out_kind = NN_OUT_LINEAR};
    for (int i = 0; i < n; i++) s->hidden[i] = units[i];
}

void pwm_free(pwm *s) {
    char err[512];
    if (s->recording && ds_recorder_close(&s->rec, err, sizeof err)) fprintf(stderr, "pwm train: online data: %s\n", err);
    if (s->e) env_batch_free(s->e);
    replay_free(&s->rb);
    if (s->w.p.values) wm_free(&s->w);
    nn_params_free(&s->ap), nn_params_free(&s->cp), nn_params_free(&s->tp);
    nn_rms_free(&s->rew_rms), nn_rms_free(&s->ret_rms);
    nn_graph_free(s->g);
    nn_free(s->zbuf), nn_free(s->creal), nn_free(s->rew_buf), nn_free(s->done_buf), nn_free(s->next_val), nn_free(s->targets);
    nn_free(s->eps), nn_free(s->obs_f), nn_free(s->u), nn_free(s->wobs), nn_free(s->wact), nn_free(s->wrew);
    nn_free(s->wterm), nn_free(s->bc_act), nn_free(s->bc_mask);
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
static void pwm_start(pwm *s, const pwm_config *c) {
    memset(s, 0, sizeof *s);
    s->c = *c;
    replay_init(&s->rb, c->buffer);
    nn_rms_init(&s->rew_rms, 1, 1e-5f, 5.0f);
    nn_rms_init(&s->ret_rms, 1, 1e-5f, 0.0f);
    s->g = nn_graph_new(0);
}

int pwm_check_gradient(const pwm_config *c, char *err, size_t errlen) {
    if (c->gradient != PWM_GRADIENT_MODEL && c->gradient != PWM_GRADIENT_HYBRID)
        return nn_err(err, errlen, "unknown gradient source %d", c->gradient);
    if (c->gradient == PWM_GRADIENT_HYBRID && (c->offline || c->closed_loop || c->critic_real))
        return nn_err(err, errlen, "--gradient hybrid steps the real environments and is closed-loop with real "
                      "critic data already: not with --offline, --closed-loop or --critic-data real");
    return 0;
}

// the layer widths and sizes every learner needs
static int check_config(const pwm_config *c, char *err, size_t errlen) {
    int units[LRN_MAX_UNITS];
    if (lrn_parse_units(c->actor_units, units) < 1 || lrn_parse_units(c->critic_units, units) < 1)
        return nn_err(err, errlen, "bad --actor-units '%s' or --critic-units '%s': give widths like 400,200 (1..%d layers)",
                      c->actor_units, c->critic_units, LRN_MAX_UNITS);
    if (c->envs < 1 || c->horizon < 1 || c->epochs < 1 || c->critic_minibatches < 1 || c->critics < 1 ||
        c->critics > PWM_MAX_CRITICS || (c->envs * c->horizon) % c->critic_minibatches || c->wm_batch < 1)
        return nn_err(err, errlen, "need envs, horizon, epochs, wm-batch >= 1, 1..%d critics and envs x horizon "
                      "divisible by critic-minibatches", PWM_MAX_CRITICS);
    return 0;
}

// the actor, the critics (and target critics) and their optimizers, on the current device
static int init_nets(pwm *s, char *err, size_t errlen) {
    const pwm_config *c = &s->c;
    int au[LRN_MAX_UNITS], cu[LRN_MAX_UNITS];
    int na = lrn_parse_units(c->actor_units, au), nc = lrn_parse_units(c->critic_units, cu);  // checked by check_config
    // networks: the actor with PyTorch's default init, the critics orthogonal (gain √2), zero bias
    nn_rng r;
    nn_rng_init(&r, (unsigned long)c->seed, 1u << 20);
    nn_params_init(&s->ap, 0);
    actor_declare(&s->act, &s->ap, "actor.", s->Z, s->A, au, na, NN_ACT_MISH);
    nn_params_alloc(&s->ap);
    actor_init(&s->act, &r, (float)c->logstd_init);
    nn_mlp_spec cs;
    pwm_critic_spec(&cs, s->Z, cu, nc);
    nn_params_init(&s->cp, 0);
    for (int k = 0; k < c->critics; k++) {
        char name[32];
        snprintf(name, sizeof name, "critic%d", k);
        nn_mlp_declare(&s->critics[k], &s->cp, name, &cs);
    }
    nn_params_alloc(&s->cp);
    for (int k = 0; k < c->critics; k++) nn_mlp_init(&s->critics[k], NN_INIT_ORTHOGONAL, 0, &r);
    // target critics (an extension): a frozen copy, moved toward the critics after each epoch
    nn_params_init(&s->tp, 0);
    if (c->target_alpha > 0) {
        if (c->target_alpha >= 1) return nn_err(err, errlen, "--target-alpha must be in [0, 1)");
        for (int k = 0; k < c->critics; k++) {
            char name[32];
            snprintf(name, sizeof name, "critic%d", k);
            nn_mlp_declare(&s->targets_net[k], &s->tp, name, &cs);
        }
        nn_params_alloc(&s->tp);
        nn_params_copy(&s->tp, &s->cp, 0.0f);
        nn_params_set_frozen(&s->tp, 1);
    }
    s->aopt = s->copt = (nn_adam){.beta1 = (float)c->beta1, .beta2 = (float)c->beta2, .eps = 1e-8f};
    return 0;
}

// the rollout's, the critics' and the fine-tuning's host buffers
static int alloc_buffers(pwm *s, char *err, size_t errlen) {
    const pwm_config *c = &s->c;
    size_t hn = (size_t)s->H * s->N;
    s->zbuf = nn_malloc(sizeof(float) * hn * s->Z);
    if (c->critic_real) {
        if (!s->e) return nn_err(err, errlen, "--critic-data real needs the online environments");
        s->creal = nn_malloc(sizeof(float) * hn * s->Z);
    }
    s->rew_buf = nn_malloc(sizeof(float) * hn);
    s->done_buf = nn_malloc(sizeof(float) * hn);
    s->next_val = nn_malloc(sizeof(float) * hn);
    s->targets = nn_malloc(sizeof(float) * hn);
    s->eps = nn_malloc(sizeof(float) * s->N * s->A);
    s->obs_f = nn_malloc(sizeof(float) * s->N * s->O);
    s->bc_act = nn_malloc(sizeof(float) * s->N * s->A);
    s->bc_mask = nn_malloc(sizeof(float) * s->N * s->A);
    s->u = nn_malloc(sizeof(double) * s->N * s->A);
    int B = c->wm_batch, H = c->horizon;
    s->wobs = nn_malloc(sizeof(float) * (size_t)(H + 1) * B * s->O);
    s->wact = nn_malloc(sizeof(float) * (size_t)H * B * s->A);
    s->wrew = nn_malloc(sizeof(float) * (size_t)H * B);
    s->wterm = nn_malloc(sizeof(float) * (size_t)H * B);
    return 0;
}

// out_dir NULL: no online dataset (the gradient check)
int pwm_init(pwm *s, const pwm_config *c, const char *out_dir, int threads, char *err, size_t errlen) {
    pwm_start(s, c);
    const env_task *t = env_find(c->env);
    if (!t) return nn_err(err, errlen, "unknown task '%s' (see pwm envs)", c->env);
    if (check_config(c, err, errlen)) return -1;
    if (!c->wm) return nn_err(err, errlen, "no world model: give --wm FILE (pretrain one with pwm wm train)");
    nn_set_threads(threads);
    s->N = c->envs, s->H = c->horizon, s->O = t->obs_dim, s->A = t->act_dim;
    if (load_model(s, c->wm, err, errlen)) return -1;
    if (s->w.c.num_tasks || s->w.c.obs_dim != s->O || s->w.c.act_dim != s->A || s->w.c.reward_bins)
        return nn_err(err, errlen, "%s is not a single-task scalar-reward model of '%s' (tasks '%s', obs %d, act %d, "
                      "%d reward bins); train one on this task's data with pwm wm train", c->wm, c->env, s->w.tasks,
                      s->w.c.obs_dim, s->w.c.act_dim, s->w.c.reward_bins);
    s->Z = s->w.c.latent;
    nn_params_set_frozen(&s->w.p, 1);
    for (int i = 0; c->data && c->data[i]; i++) {
        if (i == PWM_MAX_DATA) return nn_err(err, errlen, "at most %d datasets", PWM_MAX_DATA);
        if (replay_load(&s->rb, c->data[i], c->env, s->O, s->A, err, errlen)) return -1;
    }
    if (c->offline && !s->rb.n) return nn_err(err, errlen, "--offline needs a dataset of start states: give --data DIR");
    if (c->bc_weight < 0 || (c->bc_weight > 0 && !c->offline))
        return nn_err(err, errlen, "--bc-weight must be >= 0 and applies to --offline runs only");
    if (pwm_check_gradient(c, err, errlen)) return -1;
    if (init_nets(s, err, errlen)) return -1;
    s->pr.best_eval = -INFINITY;
    if (out_dir) snprintf(s->diag_path, sizeof s->diag_path, "%s/diagnose.csv", out_dir);
    if (c->diagnose_every < 0) return nn_err(err, errlen, "--diagnose-every must be >= 0");
    if (!c->offline) {
        s->e = env_batch_new(t, &c->physics, NULL, s->N, (unsigned long)c->seed, 0, err, errlen);
        if (!s->e) return -1;
        if (c->gradient == PWM_GRADIENT_HYBRID) env_batch_enable_drda(s->e);  // the reward's ∂r/∂a, no Jacobians
        if (out_dir) {
            snprintf(s->online_dir, sizeof s->online_dir, "%s/online", out_dir);
            if (ds_recorder_open(&s->rec, s->online_dir, t->name, s->N, s->O, s->A, t->episode_len, s->e->obs, err,
                                 errlen))
                return -1;
            s->rec.on_episode = replay_push_copy, s->rec.ctx = &s->rb;
            s->recording = 1;
        }
    }
    return alloc_buffers(s, err, errlen);
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
        nn_rng_init(&r, (unsigned long)s->c.seed, (2ul << 20) + (unsigned long)s->pr.epoch * 64 + (unsigned long)it);
        if (wm_sample_windows(s->rb.eps, NULL, 0, s->rb.n, s->O, s->A, B, H, &r, &s->rew_rms, s->wobs, s->wact, s->wrew,
                              s->wterm, NULL)) {
            sum = NAN;
            break;
        }
        const char *bad;
        double l = wm_train_step(s->g, &s->w, &s->wopt, s->wobs, s->wact, s->wrew, s->wterm, NULL, B, H, s->c.gamma,
                                 s->c.wm_clip, lr, NULL, NULL, &bad);
        if (bad) fprintf(stderr, "pwm train: epoch %ld: non-finite world-model gradient in '%s': step skipped\n",
                         s->pr.epoch, bad);
        else sum += l / s->c.wm_iters;
    }
    nn_params_set_frozen(&s->w.p, 1);
    return sum;
}

typedef struct {
    nn_graph *g;
    const world_model *w;
    const actor *act;
} det_policy;

static void det_act(void *ctx, const double *obs, int n, double *u) {
    det_policy *p = ctx;
    pwm_det_forward(p->g, p->w, p->act, obs, n, NULL, u);
}

static int evaluate(pwm *s, int episodes, long seed, double *mean, double *std, char *err, size_t errlen) {
    det_policy p = {nn_graph_new(1 << 20), &s->w, &s->act};
    int rc = lrn_evaluate(s->c.env, episodes, seed, &s->c.physics, det_act, &p, mean, std, 0, err, errlen);
    nn_graph_free(p.g);
    return rc;
}

// ---------------------------------------------------------------------------------------------
// training

// --diagnose-every: the core pwm diagnose figures of the current networks, a row of DIR/diagnose.csv
// (its own environments, graphs and random streams: the run's numbers do not change)
static void diagnose(pwm *s, long ep) {
    const pwm_config *c = &s->c;
    pwm_diag_nets n = {&s->w, &s->rew_rms, &s->act, c->target_alpha > 0 ? s->targets_net : s->critics, c->critics,
                       c->gamma, env_find(c->env), &c->physics};
    pwm_diag_config dc = pwm_diag_defaults();
    dc.H = c->horizon, dc.seed = c->seed + 2000000;
    pwm_diag_result r;
    char err[1024];
    if (pwm_diagnose(&n, &dc, &r, err, sizeof err) || pwm_diag_append(s->diag_path, ep, &r, err, sizeof err))
        fprintf(stderr, "pwm train: epoch %ld: diagnose: %s\n", ep, err);
}

// one epoch: the actor through the model, its update, the critics, the model's fine-tuning
static void run_epoch(void *ctx, long ep, char *cols, char *tcols, size_t n) {
    pwm *s = ctx;
    const pwm_config *c = &s->c;
    long decay = c->lr_decay_epochs > 0 ? c->lr_decay_epochs : c->epochs;
    float lr_a = nn_lr_linear((float)c->actor_lr, (float)c->lr_end, ep - 1, decay);
    float lr_c = nn_lr_linear((float)c->critic_lr, (float)c->lr_end, ep - 1, decay);
    float lr_w = nn_lr_linear((float)c->wm_lr, (float)c->lr_end, ep - 1, decay);
    s->t_env = s->t_actor = s->t_backward = s->t_critic = s->t_wm = 0;
    float loss = c->gradient == PWM_GRADIENT_HYBRID ? pwm_hybrid_window(s) : pwm_actor_window(s);
    int skipped;
    double norm = lrn_actor_update(&s->ap, &s->aopt, c->actor_clip, lr_a, &s->pr, "pwm train", &skipped);
    double t1 = nn_now();
    lrn_td_lambda(s->N, s->H, c->gamma, c->lambda, s->rew_buf, s->done_buf, s->next_val, s->targets);
    double closs = lrn_fit_critics(s->g, s->critics, c->critics, &s->cp, &s->copt, s->creal ? s->creal : s->zbuf, s->targets, s->N * s->H,
                                   s->Z, c->critic_iters, c->critic_minibatches, c->critic_clip, lr_c);
    if (c->target_alpha > 0) nn_params_copy(&s->tp, &s->cp, (float)c->target_alpha);
    s->t_critic = nn_now() - t1;
    t1 = nn_now();
    double wloss = finetune(s, lr_w);
    s->t_wm = nn_now() - t1;
    if (c->diagnose_every > 0 && ep % c->diagnose_every == 0 && s->diag_path[0]) diagnose(s, ep);
    s->last[0] = loss, s->last[1] = norm, s->last[2] = closs, s->last[3] = wloss;
    snprintf(cols, n, "%.6g,%.6g,%.6g,%.6g,%d", loss, norm, closs, wloss, skipped);
    snprintf(tcols, n, "%.4f,%.4f,%.4f,%.4f,%.4f", s->t_env, s->t_actor, s->t_backward, s->t_critic, s->t_wm);
}

static int run_evaluate(void *ctx, int episodes, long seed, double *mean, double *std, char *err, size_t errlen) {
    return evaluate(ctx, episodes, seed, mean, std, err, errlen);
}

static int run_save(void *ctx, const char *path, char *err, size_t errlen) {
    return pwm_save_checkpoint(ctx, path, err, errlen);
}

int pwm_train(const pwm_config *c, const char *out_dir, int resume, int threads) {
    char err[1024];
    rundir_files P;
    if (rundir_start(&P, out_dir, resume, err, sizeof err)) return fprintf(stderr, "pwm train: %s\n", err), 1;
    pwm s;
    if (pwm_init(&s, c, out_dir, threads, err, sizeof err) || (resume && pwm_load_checkpoint(&s, P.ckpt, err, sizeof err))) {
        fprintf(stderr, "pwm train: %s\n", err);
        pwm_free(&s);
        return 1;
    }
    if (resume) lrn_truncate_csv(s.diag_path, s.pr.epoch);
    printf("pwm %s (%s): %d %s x %d steps, %d epochs, world model %s (latent %d, %.2fM parameters), actor [%s], "
           "%d critics [%s], seed %ld%s%s, device %s; rewards %s\n", c->env, c->offline ? "offline" : "online", s.N,
           c->offline ? "dataset starts" : "envs", s.H, c->epochs, c->wm, s.Z, nn_params_numel(&s.w.p) / 1e6,
           c->actor_units, c->critics, c->critic_units, c->seed, c->reproduce_original ? ", original quirks" : "",
           c->gradient == PWM_GRADIENT_HYBRID ? ", hybrid gradient (real rollout, model Jacobians)" : "",
           nn_device_describe(),
           s.rew_rms.scale_only ? "r/std" : "(r - mean)/std (falling can pay on a task that ends: docs/pwm.md)");
    fflush(stdout);
    lrn_loop L = {.prog = "pwm train", .epochs = c->epochs, .eval_every = c->eval_every, .save_every = c->save_every,
                  .stop_after = c->stop_after, .max_bad_updates = c->max_bad_updates,
                  .eval_episodes = c->eval_episodes, .seed = c->seed,
                  .log_header = "actor_loss,actor_grad_norm,critic_loss,wm_loss,skipped",
                  .timing_header = "env_s,actor_s,backward_s,critic_s,wm_s", .epoch = run_epoch,
                  .evaluate = run_evaluate, .save = run_save, .ctx = &s, .pr = &s.pr};
    int rc = lrn_run(&L, &P, resume);
    pwm_free(&s);
    return rc;
}

// ---------------------------------------------------------------------------------------------
// the network work of epochs, for pwm bench nn

int pwm_bench_epochs(const pwm_config *c, const wm_config *wc, const ds_episode *eps, int neps, int warmup, int epochs,
                     pwm_bench_result *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    pwm s;
    pwm_start(&s, c);
    s.c.offline = 0, s.c.diagnose_every = 0, s.c.gradient = PWM_GRADIENT_MODEL;
    int rc = -1;
    if (check_config(c, err, errlen)) goto done;
    if (neps < 1 || epochs < 1 || warmup < 0 || wc->num_tasks || wc->reward_bins || wc->termination) {
        nn_err(err, errlen, "need episodes, epochs >= 1 and a single-task scalar-reward model without a termination head");
        goto done;
    }
    s.N = c->envs, s.H = c->horizon, s.O = wc->obs_dim, s.A = wc->act_dim;
    wm_init(&s.w, wc, (unsigned long)c->seed);
    s.wopt = nn_adam_default();
    s.Z = s.w.c.latent;
    nn_params_set_frozen(&s.w.p, 1);
    for (int i = 0; i < neps; i++) {
        if (eps[i].obs_dim != s.O || eps[i].act_dim != s.A) {
            nn_err(err, errlen, "episode %d has obs %d, act %d; the model %d, %d", i, eps[i].obs_dim, eps[i].act_dim,
                   s.O, s.A);
            goto done;
        }
        replay_push(&s.rb, &eps[i], 0);
    }
    if (init_nets(&s, err, errlen) || alloc_buffers(&s, err, errlen)) goto done;
    // run_epoch as pwm train runs it, without environments: the actor starts at the episodes' states
    char cols[256], tcols[256];
    for (int ep = 1; ep <= warmup + epochs; ep++) {
        s.pr.epoch = ep;
        double t0 = nn_now();
        run_epoch(&s, ep, cols, tcols, sizeof cols);
        if (ep <= warmup) continue;
        double all = nn_now() - t0, fwd_bwd = s.t_env + s.t_actor + s.t_backward;
        r->actor_s += fwd_bwd / epochs, r->critic_s += s.t_critic / epochs, r->wm_s += s.t_wm / epochs;
        r->update_s += (all - fwd_bwd - s.t_critic - s.t_wm) / epochs, r->epoch_s += all / epochs;
    }
    r->actor_loss = s.last[0], r->grad_norm = s.last[1], r->critic_loss = s.last[2], r->wm_loss = s.last[3];
    r->model_params = nn_params_numel(&s.w.p), r->actor_count = s.ap.count;
    r->actor = nn_malloc(sizeof(float) * s.ap.count);
    memcpy(r->actor, s.ap.values, sizeof(float) * s.ap.count);
    rc = 0;
done:
    pwm_free(&s);
    return rc;
}
