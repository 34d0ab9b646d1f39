#include "ppo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../envs/env.h"
#include "../nn/checkpoint.h"
#include "../nn/common.h"
#include "../nn/optim.h"
#include "learner.h"

#define LOG_2PI 1.8378770664093453

// ---------------------------------------------------------------------------------------------
// presets (docs/ppo.md)

int ppo_preset(ppo_config *c, const char *env, const char *preset, char *err, size_t errlen) {
    int paper = !strcmp(preset, "paper");
    if (!paper && strcmp(preset, "quick")) return nn_err(err, errlen, "unknown preset '%s' (quick or paper)", preset);
    const env_task *t = env_find(env);
    if (!t) return nn_err(err, errlen, "no PPO preset for task '%s' (see pwm envs)", env);
    // quick: CleanRL's ppo_continuous_action.py (1 environment, 2048 steps, 10 epochs of 32
    // minibatches, lr 3e-4 annealed to 0, 64-64 tanh, orthogonal init, normalised observations
    // and rewards clamped to ±10, max grad norm 0.5); 488 epochs = 1M steps on the Gymnasium
    // Hopper, 146 (0.3M, SHAC's quick budget) elsewhere
    *c = (ppo_config){.env = env, .preset = preset, .envs = 1, .horizon = 2048, .update_epochs = 10,
                      .minibatches = 32, .gamma = 0.99, .lambda = 0.95, .clip = 0.2, .vf_coef = 0.5, .ent_coef = 0.0,
                      .max_grad_norm = 0.5, .clip_vloss = 1, .norm_adv = 1, .lr = 3e-4, .lr_end = 0.0,
                      .kl_target = 0.0, .units = "64,64", .activation = "tanh", .torch_init = 0,
                      .logstd_init = 0.0, .adam_eps = 1e-5, .obs_clip = 10.0, .reward_norm = 1,
                      .reward_scale = 1.0, .reward_clip = 10.0, .seed = 0, .eval_episodes = 10,
                      .max_bad_updates = 50, .physics = ph_config_default()};
    c->epochs = !strcmp(env, "gym-hopper") ? 488 : 146;
    if (paper) {
        // SHAC's rl_games PPO (shac-and-tasks.md §2.3): 1024 actors (Ant 2048), horizon 32,
        // minibatch 8192 (Ant 16384), 5 mini-epochs, lr 3e-4 adaptive on KL 0.008, clip 0.2,
        // rewards × 0.01; the rest are rl_games' usual values (docs/ppo.md)
        int ant = !strcmp(env, "ant");
        c->envs = ant ? 2048 : 1024, c->horizon = 32, c->minibatches = 4, c->update_epochs = 5;
        c->kl_target = 0.008, c->lr_end = 3e-4, c->units = "128,64,32", c->activation = "elu", c->torch_init = 1;
        c->vf_coef = 4.0, c->max_grad_norm = 1.0, c->adam_eps = 1e-8, c->obs_clip = 5.0;
        c->reward_norm = 0, c->reward_scale = 0.01, c->reward_clip = 0.0;
        c->epochs = 1000;
    }
    c->eval_every = c->epochs / 10 > 0 ? c->epochs / 10 : 1;
    c->save_every = c->eval_every;
    return 0;
}

// ---------------------------------------------------------------------------------------------
// GAE and the loss

void ppo_gae(int N, int h, double gamma, double lambda, const float *rew, const float *done, const float *val,
             const float *last_val, float *adv, float *ret) {
    for (int i = 0; i < N; i++) {
        double last = 0;
        for (int k = h - 1; k >= 0; k--) {
            size_t j = (size_t)k * N + i;
            double next = k == h - 1 ? last_val[i] : val[j + N], nt = 1.0 - done[j];
            double delta = rew[j] + gamma * next * nt - val[j];
            last = delta + gamma * lambda * nt * last;
            adv[j] = (float)last;
            ret[j] = (float)(last + val[j]);
        }
    }
}

// log N(a; μ, σ) of one row of A actions
static double gauss_logp(const float *a, const float *mu, const float *logstd, int A) {
    double s = 0;
    for (int j = 0; j < A; j++) {
        double z = (a[j] - mu[j]) / exp(logstd[j]);
        s += -0.5 * z * z - logstd[j] - 0.5 * LOG_2PI;
    }
    return s;
}

double ppo_loss(const ppo_batch *b, const ppo_config *c, const float *mu, const float *logstd, const float *v,
                float *g_mu, float *g_logstd, float *g_v, ppo_stats *st) {
    int B = b->B, A = b->A;
    double pg = 0, vl = 0, kl = 0, cf = 0, ent = 0, *gls = nn_malloc(sizeof(double) * A);
    for (int j = 0; j < A; j++) gls[j] = 0, ent += 0.5 + 0.5 * LOG_2PI + logstd[j];
    for (int i = 0; i < B; i++) {
        const float *a = b->act + (size_t)i * A, *m = mu + (size_t)i * A;
        double logr = gauss_logp(a, m, logstd, A) - b->logp_old[i], ratio = exp(logr), adv = b->adv[i];
        double rc = fmin(fmax(ratio, 1.0 - c->clip), 1.0 + c->clip);
        double un = -adv * ratio, cl = -adv * rc;
        pg += fmax(un, cl);
        // ∂/∂log π: the unclipped branch's −Â·ρ where it is the larger, else 0
        double d = un >= cl ? -adv * ratio / B : 0.0;
        for (int j = 0; j < A; j++) {
            double sd = exp(logstd[j]), z = (a[j] - m[j]) / sd;
            if (g_mu) g_mu[(size_t)i * A + j] = (float)(d * z / sd);
            gls[j] += d * (z * z - 1.0);
        }
        kl += (ratio - 1.0) - logr;
        cf += fabs(ratio - 1.0) > c->clip;
        double dv = v[i] - b->ret[i], gv = dv;
        if (c->clip_vloss) {
            double step = v[i] - b->val_old[i], dc = b->val_old[i] + fmin(fmax(step, -c->clip), c->clip) - b->ret[i];
            if (dv * dv >= dc * dc) vl += dv * dv;
            else vl += dc * dc, gv = fabs(step) <= c->clip ? dc : 0.0;
        } else {
            vl += dv * dv;
        }
        if (g_v) g_v[i] = (float)(c->vf_coef * gv / B);
    }
    pg /= B, vl = 0.5 * vl / B;
    double loss = pg + c->vf_coef * vl - c->ent_coef * ent;
    if (g_logstd)
        for (int j = 0; j < A; j++) g_logstd[j] = (float)(gls[j] - c->ent_coef);
    if (st) *st = (ppo_stats){loss, pg, vl, ent, kl / B, cf / B};
    nn_free(gls);
    return loss;
}

// ---------------------------------------------------------------------------------------------
// networks: the actor's mean, its log σ and the critic in one parameter set (one Adam, one clip)

typedef struct {
    nn_mlp pi, vf;
    nn_tensor *logstd;  // 1 × A
} ppo_nets;

static int nets_declare(ppo_nets *n, nn_params *p, int O, int A, const char *units, const char *activation,
                        char *err, size_t errlen) {
    int u[LRN_MAX_UNITS], nu = lrn_parse_units(units, u), act = nn_act_parse(activation);
    if (nu < 1 || nu > NN_MLP_MAX_HIDDEN)
        return nn_err(err, errlen, "bad --units '%s': give widths like 64,64 (1..%d layers)", units, NN_MLP_MAX_HIDDEN);
    if (act < 0) return nn_err(err, errlen, "bad --activation '%s' (tanh, elu, relu, mish)", activation);
    nn_mlp_spec s = {.in = O, .out = A, .n_hidden = nu, .act = (nn_act)act, .block = NN_BLOCK_ACT_NORM,
                     .layernorm = 0, .out_kind = NN_OUT_LINEAR};
    for (int i = 0; i < nu; i++) s.hidden[i] = u[i];
    nn_params_init(p, 0);
    nn_mlp_declare(&n->pi, p, "pi", &s);
    n->logstd = nn_params_add_vec(p, "logstd", A);
    s.out = 1;
    nn_mlp_declare(&n->vf, p, "vf", &s);
    nn_params_alloc(p);
    return 0;
}

static void nets_init(ppo_nets *n, int torch_init, float logstd_init, nn_rng *r) {
    nn_mlp_init(&n->pi, torch_init ? NN_INIT_TORCH : NN_INIT_ORTHOGONAL, 0, r);
    nn_mlp_init(&n->vf, torch_init ? NN_INIT_TORCH : NN_INIT_ORTHOGONAL, 0, r);
    if (!torch_init) {  // CleanRL: the policy's output layer gain 0.01, the value's 1
        nn_tensor *W = n->pi.W[n->pi.n_layers - 1];
        nn_init_orthogonal(W->x, W->n, W->d, 0.01f, r);
        W = n->vf.W[n->vf.n_layers - 1];
        nn_init_orthogonal(W->x, W->n, W->d, 1.0f, r);
    }
    nn_init_const(n->logstd->x, (size_t)n->logstd->d, logstd_init);
}

// the means (n × A) and, when val is non-NULL, the values (n) for normalised observations, no gradients
static void nets_eval(nn_graph *g, const ppo_nets *n, const float *obsn, int rows, float *mu, float *val) {
    nn_graph_reset(g);
    nn_graph_set_no_grad(g, 1);
    nn_tensor *o = nn_tensor_from(g, obsn, rows, n->pi.spec.in, 0);
    nn_tensor *m = nn_mlp_forward(g, &n->pi, o);
    memcpy(mu, m->x, sizeof(float) * rows * m->d);
    if (val) memcpy(val, nn_mlp_forward(g, &n->vf, o)->x, sizeof(float) * rows);
    nn_graph_set_no_grad(g, 0);
}

// actions for raw observations: clip(μ) or clip(μ + σ·ε)
static void nets_act(nn_graph *g, const ppo_nets *n, const nn_rms *rms, const double *obs, int rows, const float *eps,
                     double *u) {
    int O = n->pi.spec.in, A = n->pi.spec.out;
    float *o = nn_malloc(sizeof(float) * rows * O), *mu = nn_malloc(sizeof(float) * rows * A);
    for (int i = 0; i < rows * O; i++) o[i] = (float)obs[i];
    nn_rms_normalize(rms, o, o, rows);
    nets_eval(g, n, o, rows, mu, NULL);
    for (int i = 0; i < rows * A; i++) {
        double a = mu[i] + (eps ? exp(n->logstd->x[i % A]) * eps[i] : 0.0);
        u[i] = fmin(fmax(a, -1.0), 1.0);
    }
    nn_free(o), nn_free(mu);
}

// ---------------------------------------------------------------------------------------------
// the learner's state

typedef struct {
    ppo_config c;
    env_batch *e;
    int N, h, O, A, B;
    nn_params p;
    ppo_nets n;
    nn_adam opt;
    nn_rms obs_rms, ret_rms;
    double *disc;  // N: the discounted returns the reward normalisation tracks
    double lr;     // the adaptive learning rate (kl_target > 0)
    nn_graph *g;
    nn_rng noise, shuffle;
    lrn_progress pr;
    float *obsn;                                                         // N × O: the current observations, normalised
    float *obs_buf, *act_buf, *logp_buf, *val_buf, *rew_buf, *done_buf;  // h × N (× O, × A)
    float *adv, *ret, *last_val, *mu, *fin;                              // h × N, N, N × A, N × O
    float *mb[6];                                                        // a minibatch: obs, act, logp, adv, ret, val
    int *perm;
    double *u;
    double t_physics, t_policy, t_update;
} ppo;

static void ppo_free(ppo *s) {
    env_batch_free(s->e);
    nn_params_free(&s->p);
    nn_rms_free(&s->obs_rms), nn_rms_free(&s->ret_rms);
    nn_graph_free(s->g);
    float *f[] = {s->obsn, s->obs_buf, s->act_buf, s->logp_buf, s->val_buf, s->rew_buf, s->done_buf, s->adv, s->ret,
                  s->last_val, s->mu, s->fin, s->mb[0], s->mb[1], s->mb[2], s->mb[3], s->mb[4], s->mb[5]};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) nn_free(f[i]);
    nn_free(s->disc), nn_free(s->perm), nn_free(s->u);
}

// the current observations, normalised (after the statistics have seen them)
static void normalise_obs(ppo *s, const double *obs, float *out, int rows) {
    for (int i = 0; i < rows * s->O; i++) out[i] = (float)obs[i];
    nn_rms_normalize(&s->obs_rms, out, out, rows);
}

static int ppo_init(ppo *s, const ppo_config *c, int threads, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    s->c = *c;
    const env_task *t = env_find(c->env);
    if (!t) return nn_err(err, errlen, "unknown task '%s' (see pwm envs)", c->env);
    if (c->envs < 1 || c->horizon < 1 || c->epochs < 1 || c->update_epochs < 1 || c->minibatches < 1 ||
        (c->envs * c->horizon) % c->minibatches)
        return nn_err(err, errlen, "need envs, horizon, epochs, update-epochs >= 1 and envs x horizon divisible by "
                      "minibatches");
    nn_set_threads(threads);
    s->N = c->envs, s->h = c->horizon, s->O = t->obs_dim, s->A = t->act_dim, s->B = c->envs * c->horizon / c->minibatches;
    if (nets_declare(&s->n, &s->p, s->O, s->A, c->units, c->activation, err, errlen)) return -1;
    s->e = env_batch_new(t, &c->physics, NULL, c->envs, (unsigned long)c->seed, 0, err, errlen);
    if (!s->e) return -1;
    nn_rng r;
    nn_rng_init(&r, (unsigned long)c->seed, 1u << 20);
    nets_init(&s->n, c->torch_init, (float)c->logstd_init, &r);
    s->opt = (nn_adam){.beta1 = 0.9f, .beta2 = 0.999f, .eps = (float)c->adam_eps};
    nn_rms_init(&s->obs_rms, s->O, 1e-8f, (float)c->obs_clip);
    nn_rms_init(&s->ret_rms, 1, 1e-8f, 0.0f);
    nn_rng_init(&s->noise, (unsigned long)c->seed, (1u << 20) + 1);
    nn_rng_init(&s->shuffle, (unsigned long)c->seed, (1u << 20) + 2);
    s->pr.best_eval = -INFINITY;
    s->lr = c->lr;
    s->g = nn_graph_new(0);
    size_t hn = (size_t)s->h * s->N;
    s->obsn = nn_malloc(sizeof(float) * s->N * s->O);
    s->obs_buf = nn_malloc(sizeof(float) * hn * s->O);
    s->act_buf = nn_malloc(sizeof(float) * hn * s->A);
    float **bufs[] = {&s->logp_buf, &s->val_buf, &s->rew_buf, &s->done_buf, &s->adv, &s->ret};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) *bufs[i] = nn_malloc(sizeof(float) * hn);
    s->last_val = nn_malloc(sizeof(float) * s->N);
    s->mu = nn_malloc(sizeof(float) * s->N * s->A);
    s->fin = nn_malloc(sizeof(float) * s->N * s->O);
    int widths[6] = {s->O, s->A, 1, 1, 1, 1};
    for (int i = 0; i < 6; i++) s->mb[i] = nn_malloc(sizeof(float) * s->B * widths[i]);
    s->perm = nn_malloc(sizeof(int) * hn);
    s->u = nn_malloc(sizeof(double) * s->N * s->A);
    s->disc = nn_malloc(sizeof(double) * s->N);
    for (int i = 0; i < s->N; i++) s->disc[i] = 0;
    // the statistics see the first observations before the policy does (as Gymnasium's wrapper)
    for (int i = 0; i < s->N * s->O; i++) s->fin[i] = (float)s->e->obs[i];
    nn_rms_update(&s->obs_rms, s->fin, s->N);
    normalise_obs(s, s->e->obs, s->obsn, s->N);
    return 0;
}

// ---------------------------------------------------------------------------------------------
// one epoch: the rollout, GAE, the minibatch updates

static void rollout(ppo *s) {
    env_batch *e = s->e;
    int N = s->N, O = s->O, A = s->A;
    const ppo_config *c = &s->c;
    for (int k = 0; k < s->h; k++) {
        size_t at = (size_t)k * N;
        double t0 = nn_now();
        memcpy(s->obs_buf + at * O, s->obsn, sizeof(float) * N * O);
        nets_eval(s->g, &s->n, s->obsn, N, s->mu, s->val_buf + at);
        float *a = s->act_buf + at * A;
        for (int i = 0; i < N * A; i++) {
            a[i] = (float)(s->mu[i] + exp(s->n.logstd->x[i % A]) * nn_rng_normal(&s->noise));
            s->u[i] = a[i];
        }
        for (int i = 0; i < N; i++)
            s->logp_buf[at + i] = (float)gauss_logp(a + (size_t)i * A, s->mu + (size_t)i * A, s->n.logstd->x, A);
        s->t_policy += nn_now() - t0;
        t0 = nn_now();
        env_step(e, s->u, 0);
        s->t_physics += nn_now() - t0;
        t0 = nn_now();
        s->pr.env_steps += N;
        // observation statistics, then the reward scaling (Gymnasium's NormalizeReward: the
        // discounted return restarts at terminations)
        for (int i = 0; i < N * O; i++) s->fin[i] = (float)e->obs[i];
        nn_rms_update(&s->obs_rms, s->fin, N);
        float *rew = s->rew_buf + at, *done = s->done_buf + at;
        for (int i = 0; i < N; i++) {
            s->disc[i] = s->disc[i] * c->gamma * (e->term[i] ? 0.0 : 1.0) + e->rew[i];
            rew[i] = (float)s->disc[i];
        }
        if (c->reward_norm) nn_rms_update(&s->ret_rms, rew, N);
        double scale = c->reward_scale / (c->reward_norm ? sqrt((double)s->ret_rms.var[0] + 1e-8) : 1.0);
        int timeouts = 0;
        for (int i = 0; i < N; i++) {
            double r = e->rew[i] * scale;
            if (c->reward_clip > 0) r = fmin(fmax(r, -c->reward_clip), c->reward_clip);
            rew[i] = (float)r;
            done[i] = e->term[i] || e->trunc[i];
            timeouts += e->trunc[i] && !e->term[i];
            if (done[i]) lrn_recent_add(&s->pr.recent, e->ret_final[i]);
        }
        // a time-out bootstraps the value of its last observation
        if (timeouts) {
            normalise_obs(s, e->obs_final, s->fin, N);
            nets_eval(s->g, &s->n, s->fin, N, s->mu, s->last_val);
            for (int i = 0; i < N; i++)
                if (e->trunc[i] && !e->term[i]) rew[i] += (float)(c->gamma * s->last_val[i]);
        }
        normalise_obs(s, e->obs, s->obsn, N);
        s->t_policy += nn_now() - t0;
    }
    nets_eval(s->g, &s->n, s->obsn, N, s->mu, s->last_val);
}

typedef struct {
    float *g_mu, *g_logstd, *g_v;
} loss_ctx;

static void loss_bwd(nn_graph *g, void *vctx, nn_tensor *out, nn_tensor **in) {
    loss_ctx *c = vctx;
    float go = out->g[0], *src[3] = {c->g_mu, c->g_logstd, c->g_v};
    for (int k = 0; k < 3; k++)
        if (in[k]->requires_grad) {
            float *gx = nn_grad(g, in[k]);
            for (int i = 0; i < in[k]->n * in[k]->d; i++) gx[i] += go * src[k][i];
        }
}

// the minibatch's loss on the graph, differentiable into both networks
static nn_tensor *minibatch_loss(ppo *s, ppo_stats *st) {
    nn_graph *g = s->g;
    nn_tensor *o = nn_tensor_from(g, s->mb[0], s->B, s->O, 0);
    nn_tensor *in[3] = {nn_mlp_forward(g, &s->n.pi, o), s->n.logstd, nn_mlp_forward(g, &s->n.vf, o)};
    loss_ctx *lc = nn_graph_alloc(g, sizeof *lc);
    lc->g_mu = nn_graph_alloc(g, sizeof(float) * s->B * s->A);
    lc->g_logstd = nn_graph_alloc(g, sizeof(float) * s->A);
    lc->g_v = nn_graph_alloc(g, sizeof(float) * s->B);
    ppo_batch b = {s->B, s->A, s->mb[1], s->mb[2], s->mb[3], s->mb[4], s->mb[5]};
    nn_tensor *l = nn_custom(g, 1, 1, in, 3, loss_bwd, lc);
    l->x[0] = (float)ppo_loss(&b, &s->c, in[0]->x, in[1]->x, in[2]->x, lc->g_mu, lc->g_logstd, lc->g_v, st);
    return l;
}

static void gather(ppo *s, const int *idx) {
    int O = s->O, A = s->A, B = s->B;
    const float *src[6] = {s->obs_buf, s->act_buf, s->logp_buf, s->adv, s->ret, s->val_buf};
    int w[6] = {O, A, 1, 1, 1, 1};
    for (int k = 0; k < 6; k++)
        for (int i = 0; i < B; i++) memcpy(s->mb[k] + (size_t)i * w[k], src[k] + (size_t)idx[i] * w[k], sizeof(float) * w[k]);
    if (s->c.norm_adv && B > 1) {  // mean and unbiased std, as torch's
        double m = 0, v = 0;
        for (int i = 0; i < B; i++) m += s->mb[3][i] / (double)B;
        for (int i = 0; i < B; i++) v += (s->mb[3][i] - m) * (s->mb[3][i] - m) / (B - 1.0);
        for (int i = 0; i < B; i++) s->mb[3][i] = (float)((s->mb[3][i] - m) / (sqrt(v) + 1e-8));
    }
}

static void run_epoch(void *ctx, long ep, char *cols, char *tcols, size_t n) {
    ppo *s = ctx;
    const ppo_config *c = &s->c;
    s->t_physics = s->t_policy = s->t_update = 0;
    if (c->kl_target <= 0) s->lr = nn_lr_linear((float)c->lr, (float)c->lr_end, ep - 1, c->epochs);
    rollout(s);
    double t0 = nn_now();
    int total = s->N * s->h, updates = 0, skipped_n = 0;
    ppo_gae(s->N, s->h, c->gamma, c->lambda, s->rew_buf, s->done_buf, s->val_buf, s->last_val, s->adv, s->ret);
    ppo_stats sum = {0}, st;
    double norm_sum = 0;
    for (int ue = 0; ue < c->update_epochs; ue++) {
        for (int i = 0; i < total; i++) s->perm[i] = i;
        for (int i = total - 1; i > 0; i--) {  // Fisher–Yates
            int j = (int)(nn_rng_u32(&s->shuffle) % (uint32_t)(i + 1)), t = s->perm[i];
            s->perm[i] = s->perm[j], s->perm[j] = t;
        }
        for (int mb = 0; mb < c->minibatches; mb++) {
            gather(s, s->perm + (size_t)mb * s->B);
            nn_graph_reset(s->g);
            nn_params_zero_grad(&s->p);
            nn_backward(s->g, minibatch_loss(s, &st));
            int skipped;
            norm_sum += lrn_actor_update(&s->p, &s->opt, c->max_grad_norm, (float)s->lr, &s->pr, "pwm ppo", &skipped);
            skipped_n += skipped;
            if (c->kl_target > 0) {  // rl_games' adaptive schedule, on the minibatch's KL estimate
                if (st.approx_kl > 2.0 * c->kl_target) s->lr = fmax(s->lr / 1.5, 1e-6);
                else if (st.approx_kl < 0.5 * c->kl_target) s->lr = fmin(s->lr * 1.5, 1e-2);
            }
            sum.pg_loss += st.pg_loss, sum.v_loss += st.v_loss, sum.entropy += st.entropy;
            sum.approx_kl += st.approx_kl, sum.clipfrac += st.clipfrac, updates++;
        }
    }
    s->t_update = nn_now() - t0;
    snprintf(cols, n, "%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%d", sum.pg_loss / updates, sum.v_loss / updates,
             sum.entropy / updates, sum.approx_kl / updates, sum.clipfrac / updates, norm_sum / updates, s->lr,
             skipped_n);
    snprintf(tcols, n, "%.4f,%.4f,%.4f", s->t_physics, s->t_policy, s->t_update);
}

// ---------------------------------------------------------------------------------------------
// evaluation and checkpoints

typedef struct {
    nn_graph *g;
    const ppo_nets *n;
    const nn_rms *rms;
} det_policy;

static void det_act(void *ctx, const double *obs, int n, double *u) {
    det_policy *p = ctx;
    nets_act(p->g, p->n, p->rms, obs, n, NULL, u);
}

static int run_evaluate(void *ctx, int episodes, long seed, double *mean, double *std, char *err, size_t errlen) {
    ppo *s = ctx;
    det_policy p = {nn_graph_new(1 << 20), &s->n, &s->obs_rms};
    int rc = lrn_evaluate(s->c.env, episodes, seed, &s->c.physics, det_act, &p, mean, std, 0, err, errlen);
    nn_graph_free(p.g);
    return rc;
}


static int run_save(void *ctx, const char *path, char *err, size_t errlen) {
    ppo *s = ctx;
    st_writer *w = lrn_ckpt_writer(PPO_CKPT_FORMAT, s->c.env, s->c.units);
    nn_ckpt_write_params(w, "p/", &s->p, &s->opt);
    nn_ckpt_write_rms(w, "obs_rms.", &s->obs_rms);
    nn_ckpt_write_rms(w, "ret_rms.", &s->ret_rms);
    char buf[64];
    st_writer_meta(w, "activation", s->c.activation);
    snprintf(buf, sizeof buf, "%.17g", s->c.obs_clip);
    st_writer_meta(w, "obs_clip", buf);
    strbuf b = {0};
    lrn_progress_write(&b, &s->pr);
    sb_add_rng(&b, &s->noise);
    sb_add_rng(&b, &s->shuffle);
    sb_add(&b, s->lr);
    for (int i = 0; i < s->N; i++) sb_add(&b, s->disc[i]);
    lrn_env_state_write(&b, s->e);
    return lrn_ckpt_commit(w, s->pr.epoch, &b, path, err, errlen);
}

static int load_checkpoint(ppo *s, const char *path, char *err, size_t errlen) {
    st_file f;
    const char *state, *epoch;
    if (lrn_ckpt_open(&f, path, PPO_CKPT_FORMAT, "PPO", s->c.env, &state, &epoch, err, errlen)) return -1;
    char msg[512];
    int rc = -1;
    if (nn_ckpt_check_params(&f, "p/", &s->p, &s->opt, msg, sizeof msg) ||
        nn_ckpt_check_rms(&f, "obs_rms.", &s->obs_rms, msg, sizeof msg) ||
        nn_ckpt_check_rms(&f, "ret_rms.", &s->ret_rms, msg, sizeof msg)) {
        nn_err(err, errlen, "%s: %s (resume with the options of the original run: see its config.txt)", path, msg);
    } else {
        // into temporaries first, so that a bad state changes nothing
        const char *p = state;
        int ok = 1;
        lrn_progress pr = s->pr;
        nn_rng noise = s->noise, shuffle = s->shuffle;
        ok = lrn_progress_read(&p, &pr) == 0;
        sb_read_rng(&p, &ok, &noise);
        sb_read_rng(&p, &ok, &shuffle);
        double lr = sb_next(&p, &ok), *disc = nn_malloc(sizeof(double) * s->N);
        for (int i = 0; i < s->N; i++) disc[i] = sb_next(&p, &ok);
        if (!ok || lrn_env_state_read(&p, s->e)) {
            nn_err(err, errlen, "%s: its run state is truncated or was saved with another --envs", path);
        } else {
            nn_ckpt_read_params(&f, "p/", &s->p, &s->opt);
            nn_ckpt_read_rms(&f, "obs_rms.", &s->obs_rms);
            nn_ckpt_read_rms(&f, "ret_rms.", &s->ret_rms);
            s->pr = pr;
            s->pr.epoch = strtol(epoch, NULL, 10);
            s->noise = noise, s->shuffle = shuffle, s->lr = lr;
            memcpy(s->disc, disc, sizeof(double) * s->N);
            normalise_obs(s, s->e->obs, s->obsn, s->N);
            rc = 0;
        }
        nn_free(disc);
    }
    st_free(&f);
    return rc;
}

int ppo_train(const ppo_config *c, const char *out_dir, int resume, int threads) {
    char err[1024];
    rundir_files P;
    if (rundir_start(&P, out_dir, resume, err, sizeof err)) return fprintf(stderr, "pwm ppo: %s\n", err), 1;
    ppo s;
    if (ppo_init(&s, c, threads, err, sizeof err) || (resume && load_checkpoint(&s, P.ckpt, err, sizeof err))) {
        fprintf(stderr, "pwm ppo: %s\n", err);
        ppo_free(&s);
        return 1;
    }
    printf("ppo %s: %d envs x %d steps, %d epochs (%.2fM env steps), %d x %d minibatches of %d, [%s] %s, seed %ld\n",
           c->env, s.N, s.h, c->epochs, (double)c->epochs * s.N * s.h / 1e6, c->update_epochs, c->minibatches, s.B,
           c->units, c->activation, c->seed);
    fflush(stdout);
    lrn_loop L = {.prog = "pwm ppo", .epochs = c->epochs, .eval_every = c->eval_every, .save_every = c->save_every,
                  .stop_after = c->stop_after, .max_bad_updates = c->max_bad_updates,
                  .eval_episodes = c->eval_episodes, .seed = c->seed,
                  .log_header = "pg_loss,v_loss,entropy,approx_kl,clipfrac,grad_norm,lr,skipped",
                  .timing_header = "physics_s,policy_s,update_s", .epoch = run_epoch, .evaluate = run_evaluate,
                  .save = run_save, .ctx = &s, .pr = &s.pr};
    int rc = lrn_run(&L, &P, resume);
    ppo_free(&s);
    return rc;
}

// ---------------------------------------------------------------------------------------------
// a trained policy

struct ppo_policy {
    char env[64];
    nn_params p;
    ppo_nets n;
    nn_rms rms;
    nn_graph *g;
    float *eps;
    int cap;
};

ppo_policy *ppo_policy_load(const char *ckpt, const char *env, char *err, size_t errlen) {
    st_file f;
    if (st_read(ckpt, &f, err, errlen)) return NULL;
    int au[LRN_MAX_UNITS], na;
    const env_task *t = lrn_policy_meta(&f, ckpt, env, au, &na, err, errlen);
    const char *act = st_meta(&f, "activation"), *clip = st_meta(&f, "obs_clip");
    ppo_policy *p = NULL;
    char msg[512];
    if (t) {
        p = nn_malloc(sizeof *p);
        memset(p, 0, sizeof *p);
        snprintf(p->env, sizeof p->env, "%s", t->name);
        nn_rms_init(&p->rms, t->obs_dim, 1e-8f, clip ? strtof(clip, NULL) : 0.0f);
        if (!act || !clip) {
            nn_err(err, errlen, "%s: not a PPO checkpoint of this program (no activation or obs_clip in its metadata)",
                   ckpt);
            ppo_policy_free(p);
            p = NULL;
        } else if (nets_declare(&p->n, &p->p, t->obs_dim, t->act_dim, st_meta(&f, "actor_units"), act, msg,
                         sizeof msg) ||
            nn_ckpt_check_params(&f, "p/", &p->p, NULL, msg, sizeof msg) ||
            nn_ckpt_check_rms(&f, "obs_rms.", &p->rms, msg, sizeof msg)) {
            nn_err(err, errlen, "%s: %s", ckpt, msg);
            ppo_policy_free(p);
            p = NULL;
        } else {
            nn_ckpt_read_params(&f, "p/", &p->p, NULL);
            nn_ckpt_read_rms(&f, "obs_rms.", &p->rms);
            p->g = nn_graph_new(1 << 20);
        }
    }
    st_free(&f);
    return p;
}

const char *ppo_policy_env(const ppo_policy *p) { return p->env; }

void ppo_policy_act(ppo_policy *p, const double *obs, int n, double *u, nn_rng *r) {
    nets_act(p->g, &p->n, &p->rms, obs, n, lrn_noise(&p->eps, &p->cap, n, p->n.pi.spec.out, r), u);
}

void ppo_policy_free(ppo_policy *p) {
    if (!p) return;
    nn_params_free(&p->p);
    nn_rms_free(&p->rms);
    nn_graph_free(p->g);
    nn_free(p->eps);
    nn_free(p);
}

// ---------------------------------------------------------------------------------------------
// gradient check of a minibatch loss through both networks

// the first minibatch's loss with parameter i moved by delta (forward only: the gradient stays)
static double gc_loss(void *ctx, size_t i, double delta) {
    ppo *s = ctx;
    float keep = s->p.values[i];
    s->p.values[i] = keep + (float)delta;
    nn_graph_reset(s->g);
    double L = minibatch_loss(s, NULL)->x[0];
    s->p.values[i] = keep;
    return L;
}

int ppo_gradcheck(const ppo_config *c, int samples, double eps, double *max_rel, double *rel_l2, char *err,
                  size_t errlen) {
    ppo s;
    int rc = ppo_init(&s, c, 1, err, errlen);
    if (rc == 0) {
        rollout(&s);
        ppo_gae(s.N, s.h, c->gamma, c->lambda, s.rew_buf, s.done_buf, s.val_buf, s.last_val, s.adv, s.ret);
        for (int i = 0; i < s.N * s.h; i++) s.perm[i] = i;
        gather(&s, s.perm);
        nn_graph_reset(s.g);
        nn_params_zero_grad(&s.p);
        nn_backward(s.g, minibatch_loss(&s, NULL));
        rc = lrn_gradcheck(&s.p, s.p.grads, samples, eps, gc_loss, &s, max_rel, rel_l2);
        if (rc) nn_err(err, errlen, "the loss was not finite");
    }
    ppo_free(&s);
    return rc;
}
