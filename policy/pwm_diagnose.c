// pwm diagnose: the figures of pwm_diagnose.h on the deterministic policy's recorded episodes.
#include "pwm_diagnose.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "../nn/common.h"
#include "../nn/stats.h"
#include "learner.h"

// LAPACK's symmetric eigensolver (OpenBLAS ships it)
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w, double *work,
            const int *lwork, int *info);

#define NOISE_STREAM 77u  // the closed loops' exploration noise
#define CHUNK 256         // rows per graph pass
#define NEAR_END 20
#define GRAPH_BYTES ((size_t)4 << 20)  // arena blocks: small passes, grown on demand       // "near a termination": the last 20 steps of an episode that terminated

pwm_diag_config pwm_diag_defaults(void) {
    return (pwm_diag_config){.seed = 0, .episodes = 8, .max_steps = 0, .K = 16, .H = 16, .H_long = 64,
                             .grad_starts = 8, .k_starts = 512, .fd_eps = 1e-3};
}

// ---------------------------------------------------------------------------------------------
// closed loops, one recorded

typedef struct {
    int T, term;    // steps; ended by a termination
    float *obs;     // (T + 1) × O: the observation before each step, then the last one
    float *act;     // T × A
    float *rew;     // T, task units
    double *rew_d;  // the same in double (the replay check)
    double *state;  // T × S: the exact state before each step
    float *z;       // (T + 1) × Z: enc(obs)
} episode;

static void episodes_free(episode *ep, int n) {
    for (int i = 0; ep && i < n; i++) nn_free(ep[i].obs), nn_free(ep[i].act), nn_free(ep[i].rew), nn_free(ep[i].rew_d), nn_free(ep[i].state),
                                      nn_free(ep[i].z);
    nn_free(ep);
}

// the mean return of the first episode of each of E environments; rec (E episodes, may be NULL)
// records them. 0, or -1 with a message
static int rollout(const pwm_diag_nets *n, int mode, int E, int cap, int H, long seed, episode *rec, double *mean,
                   char *err, size_t errlen) {
    env_batch *e = env_batch_new(n->task, n->physics, NULL, E, (unsigned long)seed, 0, err, errlen);
    if (!e) return -1;
    const world_model *w = n->w;
    int O = n->task->obs_dim, A = n->task->act_dim, Z = w->c.latent, left = E;
    if (cap <= 0 || cap > n->task->episode_len) cap = n->task->episode_len;
    size_t S = lrn_env_size(e);
    nn_graph *g = nn_graph_new(GRAPH_BYTES);
    nn_rng noise;
    nn_rng_init(&noise, (unsigned long)seed, NOISE_STREAM);
    float *eps = nn_malloc(sizeof(float) * E * A), *zp = nn_malloc(sizeof(float) * E * Z);
    double *u = nn_malloc(sizeof(double) * E * A), sum = 0;
    unsigned char *done = nn_malloc((size_t)E);
    int *steps = nn_malloc(sizeof(int) * E);
    for (int i = 0; rec && i < E; i++) {
        rec[i].obs = nn_malloc(sizeof(float) * (cap + 1) * O), rec[i].act = nn_malloc(sizeof(float) * cap * A);
        rec[i].rew = nn_malloc(sizeof(float) * cap), rec[i].rew_d = nn_malloc(sizeof(double) * cap);
        rec[i].state = nn_malloc(sizeof(double) * cap * S);
    }
    for (int t = 0; left > 0; t++) {
        nn_graph_reset(g);
        nn_graph_set_no_grad(g, 1);
        nn_tensor *o = nn_tensor_new(g, E, O, 0);
        for (int k = 0; k < E * O; k++) o->x[k] = (float)e->obs[k];
        nn_tensor *z = wm_encode(g, w, o, NULL);
        if (mode == 2 && t % H) {
            // the training-time behaviour: the predicted latent, re-anchored every H steps (and at
            // resets, which come only after the first episode, the one counted)
            memcpy(z->x, zp, sizeof(float) * E * Z);
        }
        for (int k = 0; k < E * A; k++) eps[k] = mode ? nn_rng_normal(&noise) : 0.0f;
        nn_tensor *a = actor_forward(g, n->act, z, mode ? eps : NULL);
        if (mode == 2) memcpy(zp, wm_dynamics(g, w, z, a, NULL)->x, sizeof(float) * E * Z);
        for (int k = 0; k < E * A; k++) u[k] = a->x[k];
        for (int i = 0; rec && i < E; i++) {
            if (done[i]) continue;
            episode *r = &rec[i];
            for (int k = 0; k < O; k++) r->obs[(size_t)steps[i] * O + k] = (float)e->obs[(size_t)i * O + k];
            lrn_env_get(e, i, r->state + (size_t)steps[i] * S);
        }
        env_step(e, u, 0);
        for (int i = 0; i < E; i++) {
            int end = e->term[i] || e->trunc[i];
            if (done[i]) continue;
            if (rec) {
                episode *r = &rec[i];
                for (int k = 0; k < A; k++) r->act[(size_t)steps[i] * A + k] = (float)e->act[(size_t)i * A + k];
                r->rew[steps[i]] = (float)e->rew[i], r->rew_d[steps[i]] = e->rew[i];
            }
            steps[i]++;
            if (end || steps[i] == cap) {
                done[i] = 1, left--;
                sum += end ? e->ret_final[i] : e->ret[i];
                if (rec) {
                    rec[i].T = steps[i], rec[i].term = e->term[i];
                    for (int k = 0; k < O; k++) rec[i].obs[(size_t)steps[i] * O + k] = (float)e->obs_final[(size_t)i * O + k];
                }
            }
        }
    }
    nn_graph_set_no_grad(g, 0);
    nn_graph_free(g);
    nn_free(eps), nn_free(zp), nn_free(u), nn_free(done), nn_free(steps);
    env_batch_free(e);
    *mean = sum / E;
    return 0;
}

double pwm_diag_closed_loop(const pwm_diag_nets *n, int mode, int envs, int max_steps, int H, long seed, char *err,
                            size_t errlen) {
    double mean;
    return rollout(n, mode, envs, max_steps, H, seed, NULL, &mean, err, errlen) ? NAN : mean;
}

void pwm_diag_encode(const world_model *w, const float *obs, int rows, float *z) {
    nn_graph *g = nn_graph_new(GRAPH_BYTES);
    nn_graph_set_no_grad(g, 1);
    for (int r0 = 0; r0 < rows; r0 += CHUNK) {
        int m = rows - r0 < CHUNK ? rows - r0 : CHUNK;
        nn_graph_reset(g);
        nn_tensor *y = wm_encode(g, w, nn_tensor_from(g, obs + (size_t)r0 * w->c.obs_dim, m, w->c.obs_dim, 0), NULL);
        memcpy(z + (size_t)r0 * w->c.latent, y->x, sizeof(float) * m * w->c.latent);
    }
    nn_graph_free(g);
}

void pwm_diag_min_values(const pwm_diag_nets *n, const float *z, int rows, double *v) {
    int Z = n->w->c.latent;
    nn_graph *g = nn_graph_new(GRAPH_BYTES);
    nn_graph_set_no_grad(g, 1);
    for (int r0 = 0; r0 < rows; r0 += CHUNK) {
        int m = rows - r0 < CHUNK ? rows - r0 : CHUNK;
        nn_graph_reset(g);
        nn_tensor *x = nn_tensor_from(g, z + (size_t)r0 * Z, m, Z, 0);
        for (int k = 0; k < n->ncritics; k++) {
            nn_tensor *y = nn_mlp_forward(g, &n->critics[k], x);
            for (int i = 0; i < m; i++) v[r0 + i] = k == 0 || y->x[i] < v[r0 + i] ? y->x[i] : v[r0 + i];
        }
    }
    nn_graph_free(g);
}

// ---------------------------------------------------------------------------------------------
// the figures

typedef struct {
    int ep, t;
} start;

// the starts (e, t) with t + need <= T, at most max of them evenly spread; returns the count
static int pick_starts(const episode *ep, int E, int need, int max, start **out) {
    int cnt = 0;
    for (int i = 0; i < E; i++) cnt += ep[i].T >= need ? ep[i].T - need + 1 : 0;
    int m = cnt < max ? cnt : max, c = 0;
    start *all = nn_malloc(sizeof(start) * (cnt + 1)), *s = nn_malloc(sizeof(start) * (m + 1));
    for (int i = 0; i < E; i++)
        for (int t = 0; t + need <= ep[i].T; t++) all[c++] = (start){i, t};
    for (int j = 0; j < m; j++) s[j] = all[(long)(2 * j + 1) * cnt / (2 * m)];
    nn_free(all);
    *out = s;
    return m;
}

static double mse(const float *a, const float *b, int d) {
    double s = 0;
    for (int k = 0; k < d; k++) s += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return s / d;
}

// per k: the model open loop from enc(o_t) under the recorded actions
static void per_k(const pwm_diag_nets *n, const pwm_diag_config *c, const episode *ep, pwm_diag_result *r) {
    const world_model *w = n->w;
    int A = w->c.act_dim, Z = w->c.latent, K = c->K;
    start *s;
    int m = pick_starts(ep, c->episodes, K, c->k_starts, &s);
    double drift[PWM_DIAG_MAX_K] = {0};
    nn_graph *g = nn_graph_new(GRAPH_BYTES);
    nn_graph_set_no_grad(g, 1);
    float *buf = nn_malloc(sizeof(float) * CHUNK * (Z > A ? Z : A));
    double *vp = nn_malloc(sizeof(double) * CHUNK), *vr = nn_malloc(sizeof(double) * CHUNK);
    for (int r0 = 0; r0 < m; r0 += CHUNK) {
        int rows = m - r0 < CHUNK ? m - r0 : CHUNK;
        nn_graph_reset(g);
        for (int i = 0; i < rows; i++) memcpy(buf + (size_t)i * Z, ep[s[r0 + i].ep].z + (size_t)s[r0 + i].t * Z, sizeof(float) * Z);
        nn_tensor *z = nn_tensor_from(g, buf, rows, Z, 0);
        for (int k = 1; k <= K; k++) {
            for (int i = 0; i < rows; i++) {
                const episode *e = &ep[s[r0 + i].ep];
                memcpy(buf + (size_t)i * A, e->act + (size_t)(s[r0 + i].t + k - 1) * A, sizeof(float) * A);
            }
            nn_tensor *a = nn_tensor_from(g, buf, rows, A, 0);
            nn_tensor *rh = wm_reward(g, w, z, a, NULL);
            z = wm_dynamics(g, w, z, a, NULL);
            for (int i = 0; i < rows; i++) {
                const episode *e = &ep[s[r0 + i].ep];
                int t = s[r0 + i].t;
                r->lat_err[k - 1] += mse(z->x + (size_t)i * Z, e->z + (size_t)(t + k) * Z, Z);
                r->lat_change[k - 1] += mse(e->z + (size_t)(t + k) * Z, e->z + (size_t)t * Z, Z);
                r->rew_pred[k - 1] += nn_rms_unnormalize(n->rew_rms, rh->x[i], 0);
                r->rew_real[k - 1] += e->rew[t + k - 1];
                memcpy(buf + (size_t)i * Z, e->z + (size_t)(t + k) * Z, sizeof(float) * Z);
            }
            // the deterministic action on the predicted latent against the one on enc(o_{t+k})
            nn_tensor *ap = actor_forward(g, n->act, z, NULL);
            nn_tensor *at = actor_forward(g, n->act, nn_tensor_from(g, buf, rows, Z, 0), NULL);
            drift[k - 1] += mse(ap->x, at->x, rows * A) * rows;
            // the critics at the predicted latent against them at the real one
            pwm_diag_min_values(n, z->x, rows, vp), pwm_diag_min_values(n, buf, rows, vr);
            for (int i = 0; i < rows; i++) r->val_gap[k - 1] += vp[i] - vr[i];
        }
    }
    for (int k = 0; k < K; k++) {
        r->n_k[k] = m;
        double d = m ? m : NAN;
        r->lat_err[k] /= d, r->lat_change[k] /= d, r->rew_pred[k] /= d, r->rew_real[k] /= d;
        r->rew_bias[k] = r->rew_pred[k] - r->rew_real[k];
        r->act_drift[k] = sqrt(drift[k] / d);
        r->val_gap[k] /= d;
    }
    nn_graph_free(g);
    nn_free(buf), nn_free(s), nn_free(vp), nn_free(vr);
}

void pwm_diag_mc_returns(const float *rew, int T, int terminated, double boot, double gamma, double *G) {
    double next = terminated ? 0.0 : boot;
    for (int t = T - 1; t >= 0; t--) G[t] = next = rew[t] + gamma * next;
}

// the critic against Monte-Carlo returns of the normalised rewards
static void critic_vs_mc(const pwm_diag_nets *n, const pwm_diag_config *c, const episode *ep, pwm_diag_result *r) {
    double s = 0, s2 = 0, ns = 0, ns2 = 0;
    for (int i = 0; i < c->episodes; i++) {
        const episode *e = &ep[i];
        double *v = nn_malloc(sizeof(double) * (e->T + 1)), *G = nn_malloc(sizeof(double) * e->T);
        float *rn = nn_malloc(sizeof(float) * e->T);
        pwm_diag_min_values(n, e->z, e->T + 1, v);
        nn_rms_normalize(n->rew_rms, rn, e->rew, e->T);
        pwm_diag_mc_returns(rn, e->T, e->term, v[e->T], n->gamma, G);
        r->bootstrapped += !e->term;
        for (int t = 0; t < e->T; t++) {
            double d = v[t] - G[t];
            s += d, s2 += d * d, r->n_critic++;
            if (e->term && e->T - t <= NEAR_END) ns += d, ns2 += d * d, r->n_near++;
        }
        nn_free(v), nn_free(G), nn_free(rn);
    }
    r->critic_bias = r->n_critic ? s / r->n_critic : NAN;
    r->critic_rmse = r->n_critic ? sqrt(s2 / r->n_critic) : NAN;
    r->near_bias = r->n_near ? ns / r->n_near : NAN;
    r->near_rmse = r->n_near ? sqrt(ns2 / r->n_near) : NAN;
}

double pwm_diag_effective_rank(const float *x, int n, int d, double *mean_var) {
    double *c = nn_malloc(sizeof(double) * n * d), *cov = nn_malloc(sizeof(double) * d * d);
    double *ev = nn_malloc(sizeof(double) * d), var = 0;
    for (int k = 0; k < d; k++) {
        double mu = 0;
        for (int i = 0; i < n; i++) mu += x[(size_t)i * d + k];
        mu /= n;
        for (int i = 0; i < n; i++) c[(size_t)i * d + k] = x[(size_t)i * d + k] - mu;
    }
    // the singular values of the centred matrix: square roots of the eigenvalues of its Gram matrix
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, n, 1.0, c, d, 0.0, cov, d);
    for (int k = 0; k < d; k++) var += cov[(size_t)k * d + k] / n;
    if (mean_var) *mean_var = var / d;
    int info, lwork = -1;
    double q;
    dsyev_("N", "L", &d, cov, &d, ev, &q, &lwork, &info);  // row-major upper = column-major lower
    lwork = (int)q;
    double *work = nn_malloc(sizeof(double) * (lwork > 1 ? lwork : 1)), tot = 0, h = 0;
    dsyev_("N", "L", &d, cov, &d, ev, work, &lwork, &info);
    for (int k = 0; k < d; k++) tot += ev[k] = info == 0 && ev[k] > 0 ? sqrt(ev[k]) : 0;
    for (int k = 0; k < d; k++)
        if (ev[k] > 0) h -= ev[k] / tot * log(ev[k] / tot);
    nn_free(c), nn_free(cov), nn_free(ev), nn_free(work);
    return tot > 0 ? exp(h) : NAN;
}

static void spread(const pwm_diag_config *c, const episode *ep, int Z, pwm_diag_result *r) {
    float *x = nn_malloc(sizeof(float) * r->states * Z);
    size_t at = 0;
    for (int i = 0; i < c->episodes; i++) {
        memcpy(x + at, ep[i].z, sizeof(float) * ep[i].T * Z);
        at += (size_t)ep[i].T * Z;
    }
    r->eff_rank = r->states > 1 ? pwm_diag_effective_rank(x, (int)r->states, Z, &r->lat_var) : NAN;
    nn_free(x);
}

// the gradient cosines at the picked starts
static int gradients(const pwm_diag_nets *n, const pwm_diag_config *c, const episode *ep, pwm_diag_result *r,
                     char *err, size_t errlen) {
    int A = n->task->act_dim, Z = n->w->c.latent, H = c->H, L = c->H_long;
    start *s;
    int m = pick_starts(ep, c->episodes, H, c->grad_starts, &s);
    r->n_grad = m;
    r->cos_H = r->cos_long = r->cos_objective = r->long_len = NAN;
    r->cos_critic = r->critic_share = r->true_tail_share = NAN;
    r->cos_critic_cl = r->cos_critic_real = r->cos_tail_cl = r->fd_tail_cl = r->fd_critic_real = NAN;
    r->cos_critic_chains = NAN;
    if (!m) return nn_free(s), 0;
    env_batch *fd = env_batch_new(n->task, n->physics, NULL, 2 * L * A + 1 < 128 ? 2 * L * A + 1 : 128,
                                  (unsigned long)c->seed, 0, err, errlen);
    if (!fd) return nn_free(s), -1;
    size_t S = lrn_env_size(fd);
    float *z0 = nn_malloc(sizeof(float) * m * Z), *u = nn_malloc(sizeof(float) * L * m * A);
    // model gradients: H-step return (task units), long return, objective, H-step return (normalised)
    float *gm[4];
    for (int q = 0; q < 4; q++) gm[q] = nn_malloc(sizeof(float) * L * m * A);
    double *gl = nn_malloc(sizeof(double) * L * A), *gs = nn_malloc(sizeof(double) * L * A);
    double *ud = nn_malloc(sizeof(double) * L * A), *x = nn_malloc(sizeof(double) * L * A);
    double *tail = nn_malloc(sizeof(double) * H * A);  // the true return's tail gradient, first H steps
    // the critic's term through MuJoCo and the closed-loop tail
    double *vg = nn_malloc(sizeof(double) * H * A), *tg = nn_malloc(sizeof(double) * H * A), cl[6] = {0};
    double *vg4 = nn_malloc(sizeof(double) * H * A), *tg4 = nn_malloc(sizeof(double) * H * A);
    int ncl[6] = {0};
    int *len = nn_malloc(sizeof(int) * m);
    for (int i = 0; i < m; i++) {
        const episode *e = &ep[s[i].ep];
        int t = s[i].t;
        len[i] = e->T - t < L ? e->T - t : L;
        memcpy(z0 + (size_t)i * Z, e->z + (size_t)t * Z, sizeof(float) * Z);
        for (int j = 0; j < L; j++)
            for (int k = 0; k < A; k++)
                u[((size_t)j * m + i) * A + k] = j < len[i] ? e->act[(size_t)(t + j) * A + k] : 0.0f;
    }
    pwm_diag_model_grad(n, z0, u, m, H, NULL, 1, 0, gm[0], NULL);
    pwm_diag_model_grad(n, z0, u, m, L, len, 1, 0, gm[1], NULL);
    pwm_diag_model_grad(n, z0, u, m, H, NULL, 0, 1, gm[2], NULL);
    pwm_diag_model_grad(n, z0, u, m, H, NULL, 0, 0, gm[3], NULL);
    double sum[3] = {0}, slen = 0, crit[3] = {0};
    int ncrit[2] = {0};
    r->replay_err = 0;
    for (int i = 0; i < m; i++) {
        const episode *e = &ep[s[i].ep];
        int t = s[i].t, h = len[i];
        for (int k = 0; k < h * A; k++) ud[k] = e->act[(size_t)t * A + k];
        double J, rec = 0, disc = 1;
        pwm_diag_true_grad(fd, e->state + (size_t)t * S, ud, h, n->gamma, c->fd_eps, gl, &J, H, gs);
        for (int j = 0; j < h; j++, disc *= n->gamma) rec += disc * e->rew_d[t + j];
        r->replay_err = fmax(r->replay_err, fabs(J - rec));
        // the model's gradients for this row, step-major like the true ones
        for (int q = 0; q < 3; q++) {
            int hq = q == 1 ? h : H;
            for (int j = 0; j < hq; j++)
                for (int k = 0; k < A; k++) x[j * A + k] = gm[q][((size_t)j * m + i) * A + k];
            sum[q] += nn_cosine(x, q == 0 ? gs : gl, hq * A);
        }
        // the critic's term and the true tail, over the first min(h, H) steps' actions
        int hc = (h < H ? h : H) * A;
        double nc = 0, no = 0, nt = 0, nl = 0;
        for (int j = 0; j < hc / A; j++)
            for (int k = 0; k < A; k++) {
                size_t at = ((size_t)j * m + i) * A + k;
                int jk = j * A + k;
                x[jk] = (double)gm[2][at] - gm[3][at], tail[jk] = gl[jk] - gs[jk];
                nc += x[jk] * x[jk], no += (double)gm[2][at] * gm[2][at];
                nt += tail[jk] * tail[jk], nl += gl[jk] * gl[jk];
            }
        double cc = nn_cosine(x, tail, hc);  // NaN where either term is exactly zero
        if (isfinite(cc)) crit[0] += cc, ncrit[0]++;
        if (no > 0 && nl > 0) crit[1] += sqrt(nc / no), crit[2] += sqrt(nt / nl), ncrit[1]++;
        if (h > H) {
            pwm_diag_true_tail(n, fd, e->state + (size_t)t * S, ud, H, h, c->fd_eps, vg, tg);
            pwm_diag_true_tail(n, fd, e->state + (size_t)t * S, ud, H, h, c->fd_eps / 4, vg4, tg4);
            double q[6] = {nn_cosine(x, tg, H * A), nn_cosine(vg, tg, H * A), nn_cosine(tail, tg, H * A),
                           nn_cosine(tg, tg4, H * A), nn_cosine(vg, vg4, H * A), nn_cosine(x, vg, H * A)};
            for (int k = 0; k < 6; k++)
                if (isfinite(q[k])) cl[k] += q[k], ncl[k]++;
        }
        slen += h;
    }
    r->cos_H = sum[0] / m, r->cos_long = sum[1] / m, r->cos_objective = sum[2] / m, r->long_len = slen / m;
    if (ncrit[0]) r->cos_critic = crit[0] / ncrit[0];
    if (ncrit[1]) r->critic_share = crit[1] / ncrit[1], r->true_tail_share = crit[2] / ncrit[1];
    double *cls[6] = {&r->cos_critic_cl, &r->cos_critic_real, &r->cos_tail_cl, &r->fd_tail_cl, &r->fd_critic_real,
                      &r->cos_critic_chains};
    for (int k = 0; k < 6; k++)
        if (ncl[k]) *cls[k] = cl[k] / ncl[k];
    env_batch_free(fd);
    nn_free(s), nn_free(z0), nn_free(u);
    for (int q = 0; q < 4; q++) nn_free(gm[q]);
    nn_free(gl), nn_free(gs), nn_free(ud), nn_free(x), nn_free(tail), nn_free(len), nn_free(vg), nn_free(tg);
    nn_free(vg4), nn_free(tg4);
    return 0;
}

int pwm_diagnose(const pwm_diag_nets *n, const pwm_diag_config *c, pwm_diag_result *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    const world_model *w = n->w;
    if (w->c.num_tasks || w->c.reward_bins || w->c.obs_dim != n->task->obs_dim || w->c.act_dim != n->task->act_dim)
        return nn_err(err, errlen, "the world model (obs %d, act %d, %d tasks, %d reward bins) is not a single-task "
                      "scalar-reward model of '%s' (obs %d, act %d)", w->c.obs_dim, w->c.act_dim, w->c.num_tasks,
                      w->c.reward_bins, n->task->name, n->task->obs_dim, n->task->act_dim);
    if (c->episodes < 1 || c->K < 1 || c->K > PWM_DIAG_MAX_K || c->H < 1 || c->H_long < c->H || c->grad_starts < 0 ||
        c->k_starts < 1 || !(c->fd_eps > 0) || n->ncritics < 1)
        return nn_err(err, errlen, "diagnose: need episodes >= 1, K in 1..%d, 1 <= H <= long horizon, k-starts >= 1, "
                      "grad-starts >= 0, eps > 0 and a critic", PWM_DIAG_MAX_K);
    r->K = c->K, r->episodes = c->episodes;
    episode *ep = nn_malloc(sizeof(episode) * c->episodes);
    if (rollout(n, 0, c->episodes, c->max_steps, c->H, c->seed, ep, &r->ret_det, err, errlen))
        return episodes_free(ep, c->episodes), -1;
    for (int i = 0; i < c->episodes; i++) {
        ep[i].z = nn_malloc(sizeof(float) * (ep[i].T + 1) * w->c.latent);
        pwm_diag_encode(w, ep[i].obs, ep[i].T + 1, ep[i].z);
        r->states += ep[i].T, r->terminated += ep[i].term;
    }
    per_k(n, c, ep, r);
    critic_vs_mc(n, c, ep, r);
    spread(c, ep, w->c.latent, r);
    int rc = gradients(n, c, ep, r, err, errlen);
    episodes_free(ep, c->episodes);
    if (rc) return -1;
    if (rollout(n, 1, c->episodes, c->max_steps, c->H, c->seed, NULL, &r->ret_stoch, err, errlen)) return -1;
    return rollout(n, 2, c->episodes, c->max_steps, c->H, c->seed, NULL, &r->ret_train, err, errlen);
}

// ---------------------------------------------------------------------------------------------
// output

void pwm_diag_print(FILE *f, const pwm_diag_config *c, const pwm_diag_result *r) {
    fprintf(f, "%d episodes of the deterministic policy (%d terminated, %d timed out), %ld states, seed %ld\n\n",
            r->episodes, r->terminated, r->episodes - r->terminated, r->states, c->seed);
    fprintf(f, "per k: the model open loop from enc(o_t) under the recorded actions, %ld start states\n",
            r->n_k[0]);
    fprintf(f, "%4s %12s %12s %9s %12s %12s %12s %12s %12s\n", "k", "latent err", "true change", "err/chg",
            "act drift", "reward pred", "reward real", "reward bias", "V gap");
    for (int k = 0; k < r->K; k++)
        fprintf(f, "%4d %12.4g %12.4g %9.3g %12.4g %12.4g %12.4g %12.4g %12.4g\n", k + 1, r->lat_err[k],
                r->lat_change[k], r->lat_err[k] / r->lat_change[k], r->act_drift[k], r->rew_pred[k], r->rew_real[k],
                r->rew_bias[k], r->val_gap[k]);
    fprintf(f, "(V gap: min V(predicted latent) - min V(enc(o_{t+k})), model units)\n");
    fprintf(f, "\ngradient cosines with the true gradient (central differences through MuJoCo), %d start states\n",
            r->n_grad);
    fprintf(f, "  model %2d-step return (task units)                     %8.3f\n", c->H, r->cos_H);
    fprintf(f, "  model %2d-step return, stopping at a fall (mean %.1f)  %8.3f\n", c->H_long, r->long_len, r->cos_long);
    fprintf(f, "  actor objective (%d steps + gamma^%d min V) vs the true %d-step return  %8.3f\n", c->H, c->H,
            c->H_long, r->cos_objective);
    fprintf(f, "  its critic term (gamma^%d min V) vs the true return after step %d            %8.3f\n", c->H, c->H,
            r->cos_critic);
    fprintf(f, "  share of the gradient's norm from beyond step %d: objective's critic term %.3f, true %.3f\n", c->H,
            r->critic_share, r->true_tail_share);
    fprintf(f, "  against the policy's own true tail (closed loop after step %d, what V values):\n", c->H);
    fprintf(f, "    the critic term through the model                                     %8.3f\n", r->cos_critic_cl);
    fprintf(f, "    the critic term through the true dynamics, gamma^%d min V(enc(o_%d))    %8.3f\n", c->H, c->H,
            r->cos_critic_real);
    fprintf(f, "    the open-loop true tail                                               %8.3f\n", r->cos_tail_cl);
    fprintf(f, "    (each differenced gradient against its own at a 4x smaller step: tail %.3f, critic term %.3f)\n",
            r->fd_tail_cl, r->fd_critic_real);
    fprintf(f, "  the critic term through the model vs through the true dynamics                  %8.3f\n",
            r->cos_critic_chains);
    fprintf(f, "  replay of the recorded actions from the saved states: max return error %.3g (0: exact)\n",
            r->replay_err);
    fprintf(f, "\ncritic min V(enc(o_t)) - Monte-Carlo return (normalised reward units)%s\n",
            r->bootstrapped ? "; time-outs end with gamma^n min V" : "");
    fprintf(f, "  all states                      bias %9.4g  rmse %9.4g  (%ld states)\n", r->critic_bias,
            r->critic_rmse, r->n_critic);
    fprintf(f, "  last 20 steps before a fall     bias %9.4g  rmse %9.4g  (%ld states)\n", r->near_bias, r->near_rmse,
            r->n_near);
    fprintf(f, "\nreturns (mean of %d finished episodes)\n", r->episodes);
    fprintf(f, "  deterministic closed loop tanh(mu(enc(o)))               %10.2f\n", r->ret_det);
    fprintf(f, "  stochastic closed loop tanh(mu(enc(o)) + sigma eps)      %10.2f\n", r->ret_stoch);
    fprintf(f, "  training-time: stochastic on predicted latents (H %d)    %10.2f\n", c->H, r->ret_train);
    fprintf(f, "\nlatent spread over the policy's states\n");
    fprintf(f, "  mean per-dimension variance %.4g, effective rank %.2f; one-step true change %.4g, model error %.4g\n",
            r->lat_var, r->eff_rank, r->lat_change[0], r->lat_err[0]);
}

void pwm_diag_write_long_csv(FILE *f, const pwm_diag_result *r) {
    fprintf(f, "figure,k,value,count\n");
    const char *names[7] = {"latent_err",  "latent_change", "action_drift", "reward_pred",
                            "reward_real", "reward_bias",   "value_gap"};
    const double *vals[7] = {r->lat_err, r->lat_change, r->act_drift, r->rew_pred, r->rew_real, r->rew_bias, r->val_gap};
    for (int q = 0; q < 7; q++)
        for (int k = 0; k < r->K; k++) fprintf(f, "%s,%d,%.9g,%ld\n", names[q], k + 1, vals[q][k], r->n_k[k]);
    struct {
        const char *name;
        double v;
        long n;
    } one[] = {{"cos_H", r->cos_H, r->n_grad}, {"cos_long", r->cos_long, r->n_grad},
               {"cos_objective", r->cos_objective, r->n_grad}, {"cos_critic", r->cos_critic, r->n_grad},
               {"critic_share", r->critic_share, r->n_grad}, {"true_tail_share", r->true_tail_share, r->n_grad},
               {"cos_critic_cl", r->cos_critic_cl, r->n_grad}, {"cos_critic_real", r->cos_critic_real, r->n_grad},
               {"cos_tail_cl", r->cos_tail_cl, r->n_grad}, {"fd_tail_cl", r->fd_tail_cl, r->n_grad},
               {"fd_critic_real", r->fd_critic_real, r->n_grad}, {"cos_critic_chains", r->cos_critic_chains, r->n_grad},
               {"long_len", r->long_len, r->n_grad},
               {"replay_err", r->replay_err, r->n_grad}, {"critic_bias", r->critic_bias, r->n_critic},
               {"critic_rmse", r->critic_rmse, r->n_critic}, {"near_bias", r->near_bias, r->n_near},
               {"near_rmse", r->near_rmse, r->n_near}, {"bootstrapped_episodes", r->bootstrapped, r->episodes},
               {"return_det", r->ret_det, r->episodes}, {"return_stoch", r->ret_stoch, r->episodes},
               {"return_train", r->ret_train, r->episodes}, {"latent_var", r->lat_var, r->states},
               {"effective_rank", r->eff_rank, r->states}, {"terminated_episodes", r->terminated, r->episodes}};
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) fprintf(f, "%s,0,%.9g,%ld\n", one[i].name, one[i].v, one[i].n);
}

#define CORE_HEADER                                                                                                   \
    "epoch,K,lat_err_1,lat_change_1,lat_err_K,lat_change_K,act_drift_1,act_drift_K,rew_bias_1,rew_bias_K,cos_H,"     \
    "cos_long,cos_objective,critic_bias,critic_rmse,near_bias,near_rmse,near_n,ret_det,ret_stoch,ret_train,lat_var," \
    "eff_rank,cos_critic,critic_share,true_tail_share,cos_critic_cl,cos_critic_real,cos_tail_cl,fd_tail_cl,"     \
    "fd_critic_real,cos_critic_chains,val_gap_1,val_gap_K"

void pwm_diag_csv_header(FILE *f) { fprintf(f, "%s\n", CORE_HEADER); }

void pwm_diag_csv_row(FILE *f, long epoch, const pwm_diag_result *r) {
    int K = r->K - 1;
    double v[] = {r->lat_err[0], r->lat_change[0], r->lat_err[K], r->lat_change[K], r->act_drift[0],
                  r->act_drift[K], r->rew_bias[0], r->rew_bias[K], r->cos_H, r->cos_long, r->cos_objective,
                  r->critic_bias, r->critic_rmse, r->near_bias, r->near_rmse, (double)r->n_near, r->ret_det,
                  r->ret_stoch, r->ret_train, r->lat_var, r->eff_rank, r->cos_critic, r->critic_share,
                  r->true_tail_share, r->cos_critic_cl, r->cos_critic_real, r->cos_tail_cl,
                  r->fd_tail_cl, r->fd_critic_real, r->cos_critic_chains, r->val_gap[0], r->val_gap[K]};
    fprintf(f, "%ld,%d", epoch, r->K);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) fprintf(f, ",%.6g", v[i]);
    fprintf(f, "\n");
}

int pwm_diag_append(const char *path, long epoch, const pwm_diag_result *r, char *err, size_t errlen) {
    FILE *f = lrn_open_log(path, CORE_HEADER);
    if (!f) return nn_err(err, errlen, "cannot append to %s: %s", path, strerror(errno));
    pwm_diag_csv_row(f, epoch, r);
    return fclose(f) ? nn_err(err, errlen, "cannot write %s: %s", path, strerror(errno)) : 0;
}
