#include "pwm.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../envs/env.h"
#include "../nn/checkpoint.h"
#include "../nn/common.h"
#include "../nn/device.h"
#include "../nn/normalizer.h"
#include "../worldmodel/dataset.h"
#include "../worldmodel/train.h"
#include "actor.h"
#include "learner.h"
#include "pwm_diagnose.h"
#include "version.h"

#define FORMAT PWM_CKPT_FORMAT

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
// the learner's state

typedef struct {
    pwm_config c;
    env_batch *e;                 // online: the real environments; offline: NULL
    int N, H, O, A, Z;
    world_model w;
    nn_adam wopt;
    nn_rms rew_rms, ret_rms;
    nn_params ap, cp, tp;  // tp: the target critics (--target-alpha > 0; else empty)
    actor act;
    nn_mlp critics[PWM_MAX_CRITICS], targets_net[PWM_MAX_CRITICS];
    nn_adam aopt, copt;
    nn_graph *g;
    lrn_progress pr;
    float *zbuf, *rew_buf, *done_buf, *next_val, *targets, *eps, *obs_f;  // H × N (× Z) and N × (A, O)
    float *creal;  // --critic-data real: the critics' inputs, enc(o_k) of the real environments (H × N × Z)
    float *bc_act, *bc_mask;  // offline: the start states' dataset actions and which starts have one (N × A)
    double *u;
    // the replay buffer: episodes in arrival order (datasets first), some owned
    ds_dataset data[PWM_MAX_DATA + 1];
    int ndata;
    const ds_episode **buf;
    unsigned char *owned;
    int nbuf, capbuf;
    long buf_steps;
    float *wobs, *wact, *wrew, *wterm;
    ds_recorder rec;
    int recording;
    char online_dir[1024];
    char diag_path[1100];   // --diagnose-every: DIR/diagnose.csv
    double t_env, t_actor, t_backward, t_critic, t_wm;
    double last[4];         // the last epoch's actor loss, actor gradient norm, critic loss, model loss
    int freeze_ret;         // the gradient check holds the return normaliser fixed
    const float *actor_in;  // and the actor's inputs (H × N × Z), which the loss sees through sg()
} pwm;

void pwm_critic_spec(nn_mlp_spec *s, int in, const int *units, int n) {
    *s = (nn_mlp_spec){.in = in, .out = 1, .n_hidden = n, .act = NN_ACT_MISH, .block = NN_BLOCK_ACT_NORM,
                       .layernorm = 1, .out_kind = NN_OUT_LINEAR};
    for (int i = 0; i < n; i++) s->hidden[i] = units[i];
}

static void buf_push(pwm *s, const ds_episode *ep, int owned) {
    if (s->nbuf == s->capbuf) {
        s->capbuf = s->capbuf ? 2 * s->capbuf : 1024;
        const ds_episode **nb = nn_malloc(sizeof *nb * s->capbuf);
        unsigned char *no = nn_malloc((size_t)s->capbuf);
        if (s->nbuf) memcpy(nb, s->buf, sizeof *nb * s->nbuf), memcpy(no, s->owned, (size_t)s->nbuf);
        nn_free(s->buf), nn_free(s->owned);
        s->buf = nb, s->owned = no;
    }
    s->buf[s->nbuf] = ep;
    s->owned[s->nbuf++] = (unsigned char)owned;
    s->buf_steps += ep->T;
    // the oldest episodes leave once the buffer holds more than its capacity
    int drop = 0;
    while (s->buf_steps > s->c.buffer && s->nbuf - drop > 1) {
        s->buf_steps -= s->buf[drop]->T;
        if (s->owned[drop]) {
            ds_episode_free((ds_episode *)s->buf[drop]);
            nn_free((void *)s->buf[drop]);
        }
        drop++;
    }
    if (drop) {
        memmove(s->buf, s->buf + drop, sizeof *s->buf * (s->nbuf - drop));
        memmove(s->owned, s->owned + drop, (size_t)(s->nbuf - drop));
        s->nbuf -= drop;
    }
}

// a finished online episode: a copy joins the buffer
static void on_episode(void *ctx, const ds_episode *ep) {
    pwm *s = ctx;
    ds_episode *x = nn_malloc(sizeof *x);
    ds_episode_alloc(x, ep->T, ep->obs_dim, ep->act_dim);
    memcpy(x->obs, ep->obs, sizeof(float) * (ep->T + 1) * ep->obs_dim);
    memcpy(x->act, ep->act, sizeof(float) * ep->T * ep->act_dim);
    memcpy(x->rew, ep->rew, sizeof(float) * ep->T);
    memcpy(x->term, ep->term, (size_t)ep->T);
    memcpy(x->trunc, ep->trunc, (size_t)ep->T);
    buf_push(s, x, 1);
}

// load datasets into s->data (and the buffer), checked against the task and the model
static int load_data(pwm *s, const char *const *dirs, char *err, size_t errlen) {
    for (int i = 0; dirs && dirs[i]; i++) {
        if (i == PWM_MAX_DATA) return nn_err(err, errlen, "at most %d datasets", PWM_MAX_DATA);
        ds_dataset *d = &s->data[s->ndata];
        if (ds_load(dirs[i], d, err, errlen)) return -1;
        s->ndata++;
        if (strcmp(d->env, s->c.env) || d->obs_dim != s->O || d->act_dim != s->A)
            return nn_err(err, errlen, "%s holds task '%s' (obs %d, act %d), not '%s' (obs %d, act %d)", dirs[i], d->env,
                          d->obs_dim, d->act_dim, s->c.env, s->O, s->A);
        for (int k = 0; k < d->n; k++) buf_push(s, &d->eps[k], 0);
    }
    return 0;
}

static void pwm_free(pwm *s) {
    char err[512];
    if (s->recording && ds_recorder_close(&s->rec, err, sizeof err)) fprintf(stderr, "pwm train: online data: %s\n", err);
    if (s->e) env_batch_free(s->e);
    for (int i = 0; i < s->nbuf; i++)
        if (s->owned[i]) {
            ds_episode_free((ds_episode *)s->buf[i]);
            nn_free((void *)s->buf[i]);
        }
    for (int i = 0; i < s->ndata; i++) ds_free(&s->data[i]);
    nn_free(s->buf), nn_free(s->owned);
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
    if (!fmt || (strcmp(fmt, "pwm-worldmodel-1") && strcmp(fmt, FORMAT))) {
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
    nn_rms_init(&s->rew_rms, 1, 1e-5f, 5.0f);
    nn_rms_init(&s->ret_rms, 1, 1e-5f, 0.0f);
    s->g = nn_graph_new(0);
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

// out_dir NULL: no online dataset (the gradient check)
static int pwm_init(pwm *s, const pwm_config *c, const char *out_dir, int threads, char *err, size_t errlen) {
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
    if (load_data(s, c->data, err, errlen)) return -1;
    if (c->offline && !s->nbuf) return nn_err(err, errlen, "--offline needs a dataset of start states: give --data DIR");
    if (c->bc_weight < 0 || (c->bc_weight > 0 && !c->offline))
        return nn_err(err, errlen, "--bc-weight must be >= 0 and applies to --offline runs only");
    if (init_nets(s, err, errlen)) return -1;
    s->pr.best_eval = -INFINITY;
    if (out_dir) snprintf(s->diag_path, sizeof s->diag_path, "%s/diagnose.csv", out_dir);
    if (c->diagnose_every < 0) return nn_err(err, errlen, "--diagnose-every must be >= 0");
    if (!c->offline) {
        s->e = env_batch_new(t, &c->physics, NULL, s->N, (unsigned long)c->seed, 0, err, errlen);
        if (!s->e) return -1;
        if (out_dir) {
            snprintf(s->online_dir, sizeof s->online_dir, "%s/online", out_dir);
            if (ds_recorder_open(&s->rec, s->online_dir, t->name, s->N, s->O, s->A, t->episode_len, s->e->obs, err,
                                 errlen))
                return -1;
            s->rec.on_episode = on_episode, s->rec.ctx = s;
            s->recording = 1;
        }
    }
    return alloc_buffers(s, err, errlen);
}

// ---------------------------------------------------------------------------------------------
// the actor loss through the world model

// the minimum over k columns (each n × 1); the gradient goes to the smallest
static void min_bwd(nn_graph *g, void *ctx, nn_tensor *out, nn_tensor **in) {
    int K = *(int *)ctx;
    for (int i = 0; i < out->n; i++) {
        int best = 0;
        for (int k = 1; k < K; k++)
            if (in[k]->x[i] < in[best]->x[i]) best = k;
        if (in[best]->requires_grad) nn_grad(g, in[best])[i] += out->g[i];
    }
}

// the bootstrap value min_j V_j(z): the target critics' with --target-alpha, else the critics'
static nn_tensor *min_value(pwm *s, nn_tensor *z) {
    nn_graph *g = s->g;
    int K = s->c.critics;
    const nn_mlp *net = s->c.target_alpha > 0 ? s->targets_net : s->critics;
    nn_tensor *v[PWM_MAX_CRITICS];
    for (int k = 0; k < K; k++) v[k] = nn_mlp_forward(g, &net[k], z);
    if (K == 1) return v[0];
    int *ctx = nn_graph_alloc(g, sizeof(int));
    *ctx = K;
    nn_tensor *m = nn_custom(g, z->n, 1, v, K, min_bwd, ctx);
    for (int i = 0; i < z->n; i++) {
        float b = v[0]->x[i];
        for (int k = 1; k < K; k++) b = v[k]->x[i] < b ? v[k]->x[i] : b;
        m->x[i] = b;
    }
    return m;
}

// the latents of observations (double, n × O) as a constant tensor
static nn_tensor *encode_obs(pwm *s, const double *obs) {
    for (int i = 0; i < s->N * s->O; i++) s->obs_f[i] = (float)obs[i];
    return wm_encode(s->g, &s->w, nn_tensor_from(s->g, s->obs_f, s->N, s->O, 0), NULL);
}

// offline: the epoch's start observations, drawn from the buffer's episodes, with the action the
// data took there (bc_act; bc_mask 0 at an episode's final observation, which has none)
static nn_tensor *offline_starts(pwm *s) {
    nn_rng r;
    nn_rng_init(&r, (unsigned long)s->c.seed, (3ul << 20) + (unsigned long)s->pr.epoch);
    for (int i = 0; i < s->N; i++) {
        const ds_episode *ep = s->buf[nn_rng_u32(&r) % (unsigned)s->nbuf];
        int t = (int)(nn_rng_u32(&r) % (unsigned)(ep->T + 1));
        memcpy(s->obs_f + (size_t)i * s->O, ep->obs + (size_t)t * s->O, sizeof(float) * s->O);
        for (int j = 0; j < s->A; j++) {
            s->bc_act[(size_t)i * s->A + j] = t < ep->T ? ep->act[(size_t)t * s->A + j] : 0.0f;
            s->bc_mask[(size_t)i * s->A + j] = t < ep->T ? 1.0f : 0.0f;
        }
    }
    return wm_encode(s->g, &s->w, nn_tensor_from(s->g, s->obs_f, s->N, s->O, 0), NULL);
}

void pwm_close_weights(int N, int last, double gamma, const double *gam, const unsigned char *term,
                       const unsigned char *trunc, int original, float *boot, float *keep_rew, float *close) {
    for (int i = 0; i < N; i++) {
        int done = term[i] || trunc[i];
        double g_len = gamma * gam[i];
        if (original && last) g_len = done ? gamma : gamma * gamma * gam[i];
        boot[i] = (float)(term[i] ? 0.0 : g_len);
        keep_rew[i] = (original && last && done) ? 0.0f : 1.0f;
        close[i] = (done || last) ? 1.0f : 0.0f;
    }
}

float pwm_done_flag(int done, int last, int offline, int original) {
    return (done || last || (original && offline)) ? 1.0f : 0.0f;
}

// offline --bc-weight W: W·Σ_i Σ_j m_ij (tanh(μ(sg z_i))_j − a_ij)² / (A·Σ_i m_i), the mean squared
// distance of the deterministic action at each start state from the action the data took there
// (a TD3+BC-style anchor to the data; the RL part of the loss is already return-normalised)
static nn_tensor *behaviour_cloning(pwm *s, nn_tensor *zin) {
    nn_graph *g = s->g;
    int N = s->N, A = s->A, have = 0;
    for (int i = 0; i < N; i++) have += s->bc_mask[(size_t)i * A] > 0;
    nn_tensor *mask = nn_tensor_from(g, s->bc_mask, N, A, 0);
    nn_tensor *d = nn_mul(g, nn_sub(g, actor_forward(g, &s->act, zin, NULL), nn_tensor_from(g, s->bc_act, N, A, 0)), mask);
    return nn_scale(g, nn_mean(g, nn_mul(g, d, d)), (float)(s->c.bc_weight * N / (have > 0 ? have : 1)));
}

// the actor loss over one epoch's H-step imagined rollout; fills the critic's buffers; returns
// the loss (after the return normalisation)
static float actor_window(pwm *s) {
    int N = s->N, H = s->H, A = s->A, Z = s->Z, orig = s->c.reproduce_original;
    double gamma = s->c.gamma, gam[N], t0 = nn_now();
    float col[N], coef[N], keep[N], rk[N];
    nn_graph *g = s->g;
    env_batch *e = s->e;
    nn_graph_reset(g);
    nn_params_set_frozen(&s->cp, 1);
    // the std stays >= exp(logstd_min): the log-std is clamped in place before the forward pass
    for (int j = 0; j < A; j++)
        if (s->act.logstd->x[j] < (float)s->c.logstd_min) s->act.logstd->x[j] = (float)s->c.logstd_min;
    nn_rng noise;
    nn_rng_init(&noise, (unsigned long)s->c.seed, (1ul << 21) + (unsigned long)s->pr.epoch);
    nn_tensor *z = e ? encode_obs(s, e->obs) : offline_starts(s);
    nn_tensor *R = nn_tensor_new(g, N, 1, 0), *L = nn_tensor_new(g, N, 1, 0);
    memset(R->x, 0, sizeof(float) * N), memset(L->x, 0, sizeof(float) * N);
    for (int i = 0; i < N; i++) gam[i] = 1.0;
    // offline with a termination head: rewards and bootstraps weighted by the probability S of
    // being alive, S_{k+1} = S_k·(1 − p_end(z_k, a_k)) (online, the real environments end episodes)
    int surv = !e && s->w.c.termination;
    nn_tensor *S = NULL, *ones = NULL, *bc = NULL;
    if (surv) {
        S = nn_tensor_new(g, N, 1, 0), ones = nn_tensor_new(g, N, 1, 0);
        for (int i = 0; i < N; i++) S->x[i] = ones->x[i] = 1.0f;
    }
    for (int k = 0; k < H; k++) {
        int last = k == H - 1;
        memcpy(s->zbuf + (size_t)k * N * Z, z->x, sizeof(float) * N * Z);
        for (int i = 0; i < N * A; i++) s->eps[i] = nn_rng_normal(&noise);
        // the actor sees sg(z_k), or with --closed-loop the encoded observation of its real environment
        nn_tensor *zin = s->actor_in                  ? nn_tensor_from(g, s->actor_in + (size_t)k * N * Z, N, Z, 0)
                         : e && s->c.closed_loop && k ? encode_obs(s, e->obs)
                                                      : nn_detach(g, z);
        nn_tensor *a = actor_forward(g, &s->act, zin, s->eps);
        if (k == 0 && !e && s->c.bc_weight > 0) bc = behaviour_cloning(s, zin);
        nn_tensor *r = wm_reward(g, &s->w, z, a, NULL);
        nn_tensor *z1 = wm_dynamics(g, &s->w, z, a, NULL);
        nn_tensor *v = min_value(s, z1), *rw = r, *vw = v, *cont = NULL;
        if (surv) {
            cont = nn_sub(g, ones, wm_termination(g, &s->w, z, a, NULL));
            rw = nn_mul(g, r, S);
            S = nn_mul(g, S, cont);
            vw = nn_mul(g, v, S);
        }
        // --critic-data real: the critics learn from the real encoded state before the step
        if (s->creal) {
            nn_tensor *zr = encode_obs(s, e->obs);
            memcpy(s->creal + (size_t)k * N * Z, zr->x, sizeof(float) * N * Z);
        }
        s->t_actor += nn_now() - t0;
        t0 = nn_now();
        unsigned char none[N];
        const unsigned char *term = none, *trunc = none;
        memset(none, 0, sizeof none);
        if (e) {
            for (int i = 0; i < N * A; i++) s->u[i] = a->x[i];
            env_step(e, s->u, 0);
            s->pr.env_steps += N;
            term = e->term, trunc = e->trunc;
            if (orig) {
                // the public code's running reward statistics follow the online rewards
                float rf[N];
                for (int i = 0; i < N; i++) rf[i] = (float)e->rew[i];
                nn_rms_update(&s->rew_rms, rf, N);
            }
            char err[512];
            if (s->recording &&
                ds_recorder_step(&s->rec, e->act, e->rew, e->term, e->trunc, e->obs_final, e->obs, err, sizeof err)) {
                fprintf(stderr, "pwm train: online data: %s; recording and fine-tuning on new data stopped\n", err);
                ds_recorder_close(&s->rec, err, sizeof err);
                s->recording = 0;
            }
        }
        s->t_env += nn_now() - t0;
        t0 = nn_now();
        // R += γ^k·r̂ per segment; a segment closes at an episode end or the window's end with
        // −(R + γ^len·V(z_end)): V = 0 after a termination
        for (int i = 0; i < N; i++) col[i] = (float)gam[i];
        R = nn_add(g, R, nn_mul(g, rw, nn_tensor_from(g, col, N, 1, 0)));
        pwm_close_weights(N, last, gamma, gam, term, trunc, orig, col, rk, coef);
        // --critic-data real: the real reward (normalised as the model's) and the value of the real
        // next state (the final observation of an episode that ended)
        float rreal[N];
        const float *vreal = NULL;
        if (s->creal) {
            double nxt[N * s->O];
            for (int i = 0; i < N; i++) {
                const double *src = term[i] || trunc[i] ? e->obs_final : e->obs;
                memcpy(nxt + (size_t)i * s->O, src + (size_t)i * s->O, sizeof(double) * s->O);
                rreal[i] = (float)e->rew[i];
            }
            nn_rms_normalize(&s->rew_rms, rreal, rreal, N);
            vreal = min_value(s, encode_obs(s, nxt))->x;
        }
        int any_done = 0;
        for (int i = 0; i < N; i++) {
            int done = term[i] || trunc[i];
            any_done |= done;
            s->rew_buf[(size_t)k * N + i] = vreal ? rreal[i] : r->x[i];
            s->done_buf[(size_t)k * N + i] = pwm_done_flag(done, last, !e, orig);
            s->next_val[(size_t)k * N + i] = term[i] ? 0.0f : vreal ? vreal[i] : v->x[i] * (cont ? cont->x[i] : 1.0f);
            keep[i] = done ? 0.0f : 1.0f;
            gam[i] = done ? 1.0 : gam[i] * gamma;
            if (done) lrn_recent_add(&s->pr.recent, e->ret_final[i]);
        }
        nn_tensor *close = nn_add(g, nn_mul(g, R, nn_tensor_from(g, rk, N, 1, 0)),
                                  nn_mul(g, vw, nn_tensor_from(g, col, N, 1, 0)));
        L = nn_add(g, L, nn_mul(g, close, nn_tensor_from(g, coef, N, 1, 0)));
        R = nn_mul(g, R, nn_tensor_from(g, keep, N, 1, 0));
        if (!last) {
            // finished environments restart from the encoded reset observation
            z = z1;
            if (any_done) {
                nn_tensor *zr = encode_obs(s, e->obs);
                for (int i = 0; i < N; i++) col[i] = 1.0f - keep[i];
                z = nn_add(g, nn_mul(g, z1, nn_tensor_from(g, keep, N, 1, 0)),
                           nn_mul(g, zr, nn_tensor_from(g, col, N, 1, 0)));
            }
        }
    }
    // per-environment losses −L, normalised by the running std of those losses
    float neg[N];
    for (int i = 0; i < N; i++) neg[i] = -L->x[i];
    if (!s->freeze_ret) nn_rms_update(&s->ret_rms, neg, N);
    float scale = 1.0f / sqrtf(s->ret_rms.var[0] + 1e-5f);
    nn_tensor *loss = nn_scale(g, nn_mean(g, L), -scale);
    if (bc) loss = nn_add(g, loss, bc);
    nn_params_zero_grad(&s->ap);
    s->t_actor += nn_now() - t0;
    t0 = nn_now();
    nn_backward(g, loss);
    s->t_backward += nn_now() - t0;
    nn_params_set_frozen(&s->cp, 0);
    return loss->x[0];
}

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
        if (wm_sample_windows(s->buf, NULL, 0, s->nbuf, s->O, s->A, B, H, &r, &s->rew_rms, s->wobs, s->wact, s->wrew,
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

// ---------------------------------------------------------------------------------------------
// the deterministic policy: tanh(μ(enc(obs)))

static void det_forward(nn_graph *g, const world_model *w, const actor *act, const double *obs, int n,
                        const float *eps, double *u) {
    nn_graph_reset(g);
    nn_graph_set_no_grad(g, 1);
    nn_tensor *o = nn_tensor_new(g, n, w->c.obs_dim, 0);
    for (int i = 0; i < n * w->c.obs_dim; i++) o->x[i] = (float)obs[i];
    nn_tensor *a = actor_forward(g, act, wm_encode(g, w, o, NULL), eps);
    for (int i = 0; i < n * act->act_dim; i++) u[i] = a->x[i];
    nn_graph_set_no_grad(g, 0);
}

typedef struct {
    nn_graph *g;
    const world_model *w;
    const actor *act;
} det_policy;

static void det_act(void *ctx, const double *obs, int n, double *u) {
    det_policy *p = ctx;
    det_forward(p->g, p->w, p->act, obs, n, NULL, u);
}

static int evaluate(pwm *s, int episodes, long seed, double *mean, double *std, char *err, size_t errlen) {
    det_policy p = {nn_graph_new(1 << 20), &s->w, &s->act};
    int rc = lrn_evaluate(s->c.env, episodes, seed, &s->c.physics, det_act, &p, mean, std, 0, err, errlen);
    nn_graph_free(p.g);
    return rc;
}

// ---------------------------------------------------------------------------------------------
// checkpoints: actor, critics, the fine-tuned model, statistics, and the run's exact state

static int save_checkpoint(const pwm *s, const char *path, char *err, size_t errlen) {
    st_writer *w = st_writer_new();
    nn_ckpt_write_params(w, "a/", &s->ap, &s->aopt);
    nn_ckpt_write_params(w, "c/", &s->cp, &s->copt);
    if (s->c.target_alpha > 0) nn_ckpt_write_params(w, "t/", &s->tp, NULL);
    nn_ckpt_write_rms(w, "ret_rms.", &s->ret_rms);
    wm_write(w, &s->w, &s->wopt, &s->rew_rms, 0);
    char buf[64];
    st_writer_meta(w, "format", FORMAT);
    st_writer_meta(w, "env", s->c.env);
    st_writer_meta(w, "actor_units", s->c.actor_units);
    st_writer_meta(w, "critic_units", s->c.critic_units);
    st_writer_meta(w, "git_commit", PWM_GIT_COMMIT);
    snprintf(buf, sizeof buf, "%d", s->c.critics);
    st_writer_meta(w, "critics", buf);
    snprintf(buf, sizeof buf, "%ld", s->pr.epoch);
    st_writer_meta(w, "epoch", buf);
    strbuf b = {0};
    lrn_progress_write(&b, &s->pr);
    if (s->e) lrn_env_state_write(&b, s->e);
    if (s->recording) {
        // the online dataset's next episode and every environment's unfinished one
        sb_add(&b, s->rec.next), sb_add(&b, (double)s->rec.steps), sb_add(&b, s->rec.written);
        for (int i = 0; i < s->N; i++) {
            const ds_episode *x = &s->rec.eps[i];
            sb_add(&b, x->T);
            char name[64];
            int64_t so[2] = {x->T + 1, s->O}, sa[2] = {x->T, s->A}, sr[1] = {x->T};
            snprintf(name, sizeof name, "run/ep%d.obs", i);
            st_writer_add(w, name, 2, so, x->obs);
            if (x->T) {
                snprintf(name, sizeof name, "run/ep%d.act", i);
                st_writer_add(w, name, 2, sa, x->act);
                snprintf(name, sizeof name, "run/ep%d.rew", i);
                st_writer_add(w, name, 1, sr, x->rew);
            }
        }
    }
    st_writer_meta(w, "state", b.s);
    st_writer_seal(w);
    int rc = st_writer_commit(w, path, err, errlen);
    st_writer_free(w);
    nn_free(b.s);
    return rc;
}

// remove the online episodes written after the checkpoint (index >= next) and reload the rest
static int restore_online(pwm *s, int next, char *err, size_t errlen) {
    char path[1200];
    for (int idx = next; idx < s->rec.next; idx++) {
        snprintf(path, sizeof path, "%s/episode-%06d.npz", s->online_dir, idx);
        if (unlink(path) && errno != ENOENT) return nn_err(err, errlen, "cannot remove %s: %s", path, strerror(errno));
    }
    s->rec.next = next;
    if (next == 0 || s->ndata > PWM_MAX_DATA) return 0;
    ds_dataset *d = &s->data[s->ndata];
    if (ds_load(s->online_dir, d, err, errlen)) return -1;
    s->ndata++;
    for (int k = 0; k < d->n; k++) buf_push(s, &d->eps[k], 0);
    return 0;
}

static int load_checkpoint(pwm *s, const char *path, char *err, size_t errlen) {
    st_file f;
    if (st_read(path, &f, err, errlen)) return -1;
    char msg[512];
    const char *state, *epoch;
    int rc = -1;
    if (lrn_ckpt_header(&f, path, FORMAT, "PWM", s->c.env, &state, &epoch, err, errlen)) {
    } else if (nn_ckpt_check_params(&f, "a/", &s->ap, &s->aopt, msg, sizeof msg) ||
               nn_ckpt_check_params(&f, "c/", &s->cp, &s->copt, msg, sizeof msg) ||
               (s->c.target_alpha > 0 && nn_ckpt_check_params(&f, "t/", &s->tp, NULL, msg, sizeof msg)) ||
               nn_ckpt_check_params(&f, "wm/", &s->w.p, &s->wopt, msg, sizeof msg) ||
               nn_ckpt_check_rms(&f, "ret_rms.", &s->ret_rms, msg, sizeof msg)) {
        nn_err(err, errlen, "%s: %s (resume with the options of the original run: see its config.txt)", path, msg);
    } else {
        const char *p = state;
        double rec[3] = {0};
        lrn_progress pr = s->pr;
        int ok = lrn_progress_read(&p, &pr) == 0 && lrn_epoch_parse(epoch, &pr.epoch) == 0;
        if (ok && s->e) ok = lrn_env_state_read(&p, s->e) == 0;
        if (ok && s->recording) {
            for (int i = 0; i < 3; i++) rec[i] = (double)sb_next_count(&p, &ok, INT_MAX);
            for (int i = 0; ok && i < s->N; i++) {
                ds_episode *x = &s->rec.eps[i];
                int T = (int)sb_next_count(&p, &ok, s->rec.cap - 1);
                char name[64];
                const char *parts[3] = {"obs", "act", "rew"};
                size_t sizes[3] = {(size_t)(T + 1) * s->O, (size_t)T * s->A, (size_t)T};
                float *dst[3] = {x->obs, x->act, x->rew};
                for (int j = 0; ok && j < (T ? 3 : 1); j++) {
                    snprintf(name, sizeof name, "run/ep%d.%s", i, parts[j]);
                    const st_entry *en = st_find(&f, name);
                    ok = en && T >= 0 && T < s->rec.cap && en->nbytes == sizeof(float) * sizes[j];
                    if (ok) memcpy(dst[j], st_data(&f, en), sizeof(float) * sizes[j]);
                }
                if (ok) {
                    x->T = T;
                    memset(x->term, 0, (size_t)s->rec.cap), memset(x->trunc, 0, (size_t)s->rec.cap);
                }
            }
        }
        if (!ok) {
            nn_err(err, errlen, "%s: its run state is truncated, corrupt (a value out of range) or was saved with "
                   "another --envs or --offline", path);
        } else if (!s->recording || restore_online(s, (int)rec[0], err, errlen) == 0) {
            nn_ckpt_read_params(&f, "a/", &s->ap, &s->aopt);
            nn_ckpt_read_params(&f, "c/", &s->cp, &s->copt);
            if (s->c.target_alpha > 0) nn_ckpt_read_params(&f, "t/", &s->tp, NULL);
            nn_ckpt_read_params(&f, "wm/", &s->w.p, &s->wopt);
            nn_ckpt_read_rms(&f, "ret_rms.", &s->ret_rms);
            nn_ckpt_read_rms(&f, "rew_rms.", &s->rew_rms);
            s->pr = pr;
            s->rec.steps = (long)rec[1], s->rec.written = (int)rec[2];
            rc = 0;
        }
    }
    st_free(&f);
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
    float loss = actor_window(s);
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
    return save_checkpoint(ctx, path, err, errlen);
}

int pwm_train(const pwm_config *c, const char *out_dir, int resume, int threads) {
    char err[1024];
    rundir_files P;
    if (rundir_start(&P, out_dir, resume, err, sizeof err)) return fprintf(stderr, "pwm train: %s\n", err), 1;
    pwm s;
    if (pwm_init(&s, c, out_dir, threads, err, sizeof err) || (resume && load_checkpoint(&s, P.ckpt, err, sizeof err))) {
        fprintf(stderr, "pwm train: %s\n", err);
        pwm_free(&s);
        return 1;
    }
    if (resume) lrn_truncate_csv(s.diag_path, s.pr.epoch);
    printf("pwm %s (%s): %d %s x %d steps, %d epochs, world model %s (latent %d, %.2fM parameters), actor [%s], "
           "%d critics [%s], seed %ld%s, device %s; rewards %s\n", c->env, c->offline ? "offline" : "online", s.N,
           c->offline ? "dataset starts" : "envs", s.H, c->epochs, c->wm, s.Z, nn_params_numel(&s.w.p) / 1e6,
           c->actor_units, c->critics, c->critic_units, c->seed, c->reproduce_original ? ", original quirks" : "",
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
// loading a trained policy

struct pwm_policy {
    char env[64];
    world_model w;
    nn_rms rew_rms;  // the model's reward statistics (its rewards in task units)
    nn_params ap;
    actor act;
    nn_graph *g;
    float *eps;
    int cap;
};

pwm_policy *pwm_policy_load(const char *ckpt, const char *env, char *err, size_t errlen) {
    st_file f;
    if (st_read(ckpt, &f, err, errlen)) return NULL;
    int au[LRN_MAX_UNITS], na;
    const env_task *t = lrn_policy_meta(&f, ckpt, env, au, &na, err, errlen);
    pwm_policy *p = NULL;
    char msg[512];
    if (t) {
        p = nn_malloc(sizeof *p);
        memset(p, 0, sizeof *p);
        snprintf(p->env, sizeof p->env, "%s", t->name);
        nn_rms_init(&p->rew_rms, 1, 1e-5f, 5.0f);
        if (wm_read(&f, &p->w, NULL, &p->rew_rms, NULL, ckpt, err, errlen)) {
            nn_rms_free(&p->rew_rms);
            nn_free(p);
            p = NULL;
        } else {
            nn_params_init(&p->ap, 0);
            actor_declare(&p->act, &p->ap, "actor.", p->w.c.latent, t->act_dim, au, na, NN_ACT_MISH);
            if (nn_ckpt_check_params(&f, "a/", &p->ap, NULL, msg, sizeof msg)) {
                nn_err(err, errlen, "%s: %s", ckpt, msg);
                pwm_policy_free(p);
                p = NULL;
            } else {
                nn_params_alloc(&p->ap);
                nn_ckpt_read_params(&f, "a/", &p->ap, NULL);
                p->g = nn_graph_new(1 << 20);
            }
        }
    }
    st_free(&f);
    return p;
}

const char *pwm_policy_env(const pwm_policy *p) { return p->env; }

void pwm_policy_act(pwm_policy *p, const double *obs, int n, double *u, nn_rng *r) {
    det_forward(p->g, &p->w, &p->act, obs, n, lrn_noise(&p->eps, &p->cap, n, p->act.act_dim, r), u);
}

void pwm_policy_free(pwm_policy *p) {
    if (!p) return;
    wm_free(&p->w);
    nn_rms_free(&p->rew_rms);
    nn_params_free(&p->ap);
    nn_graph_free(p->g);
    nn_free(p->eps);
    nn_free(p);
}

nn_params *pwm_policy_params(pwm_policy *p) { return &p->ap; }

double pwm_policy_return(pwm_policy *p, const double *obs, int n, int H, int model, const ph_config *physics,
                         long seed) {
    int A = p->act.act_dim;
    double *u = nn_malloc(sizeof(double) * n * A), total = 0;
    if (!model) {
        // the real task from the same start states (same seed), deterministic actions; an
        // environment's sum stops at its episode's end
        char err[256];
        env_batch *e = env_batch_new(env_find(p->env), physics, NULL, n, (unsigned long)seed, 0, err, sizeof err);
        nn_check(e, "landscape: %s", err);
        unsigned char *done = nn_malloc((size_t)n);
        memset(done, 0, (size_t)n);
        for (int t = 0; t < H; t++) {
            det_forward(p->g, &p->w, &p->act, e->obs, n, NULL, u);
            env_step(e, u, 0);
            for (int i = 0; i < n; i++) {
                if (!done[i]) total += e->rew[i];
                done[i] |= e->term[i] || e->trunc[i];
            }
        }
        nn_free(done);
        env_batch_free(e);
    } else {
        // the world model from the encoded start observations: the model's rewards in task units
        nn_graph *g = p->g;
        nn_graph_reset(g);
        nn_graph_set_no_grad(g, 1);
        nn_tensor *o = nn_tensor_new(g, n, p->w.c.obs_dim, 0);
        for (int i = 0; i < n * p->w.c.obs_dim; i++) o->x[i] = (float)obs[i];
        nn_tensor *z = wm_encode(g, &p->w, o, NULL);
        for (int t = 0; t < H; t++) {
            nn_tensor *a = actor_forward(g, &p->act, z, NULL);
            nn_tensor *r = wm_reward(g, &p->w, z, a, NULL);
            for (int i = 0; i < n; i++) total += nn_rms_unnormalize(&p->rew_rms, r->x[i], 0);
            z = wm_dynamics(g, &p->w, z, a, NULL);
        }
        nn_graph_set_no_grad(g, 0);
    }
    nn_free(u);
    return total / n;
}

// ---------------------------------------------------------------------------------------------
// gradient check of the actor loss

typedef struct {
    const pwm_config *c;
    const float *zin;
    char *err;
    size_t errlen;
} gc_ctx;

// the first epoch's loss of a fresh learner with actor parameter i moved by delta, its actor inputs
// and return normaliser held
static double gc_loss(void *vctx, size_t i, double delta) {
    gc_ctx *x = vctx;
    pwm t;
    double L = NAN;
    if (pwm_init(&t, x->c, NULL, 1, x->err, x->errlen) == 0) {
        t.pr.epoch = 1, t.freeze_ret = 1, t.actor_in = x->zin;
        t.ap.values[i] += (float)delta;
        L = actor_window(&t);
    }
    pwm_free(&t);
    return L;
}

int pwm_actor_gradcheck(const pwm_config *c, int samples, double eps, double *max_rel, double *rel_l2, char *err,
                        size_t errlen) {
    // a fresh learner's first epoch is a deterministic function of the actor's weights; the
    // return normaliser (a constant of the gradient) is held at its initial value in every pass
    pwm s;
    if (pwm_init(&s, c, NULL, 1, err, errlen)) {
        pwm_free(&s);
        return -1;
    }
    s.pr.epoch = 1, s.freeze_ret = 1;
    actor_window(&s);
    // the actor's inputs are sg(z_k): the differenced loss keeps them at this pass's latents
    gc_ctx x = {c, s.zbuf, err, errlen};
    int rc = lrn_gradcheck(&s.ap, s.ap.grads, samples, eps, gc_loss, &x, max_rel, rel_l2);
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
    s.c.offline = 0, s.c.diagnose_every = 0;
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
        buf_push(&s, &eps[i], 0);
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
