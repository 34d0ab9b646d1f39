// PWM's actor loss: an H-step imagined rollout through the frozen world model from the encoded
// observations of the lock-step environments (or dataset start states offline), the critics'
// bootstrap (docs/pwm.md); the `model` source's window (pwm.c), and the helpers the hybrid's shares.
#include <math.h>
#include <string.h>

#include "../nn/common.h"
#include "pwm_internal.h"

nn_tensor *pwm_encode_obs(pwm *s, const double *obs) {
    for (int i = 0; i < s->L.N * s->L.O; i++) s->obs_f[i] = (float)obs[i];
    return wm_encode(s->L.g, &s->w, nn_tensor_from(s->L.g, s->obs_f, s->L.N, s->L.O, 0), NULL);
}

// offline: the epoch's start observations, drawn from the buffer's episodes, with the action the
// data took there (bc_act; bc_mask 0 at an episode's final observation, which has none)
static nn_tensor *offline_starts(pwm *s) {
    nn_rng r;
    nn_rng_init(&r, (unsigned long)s->c.seed, (3ul << 20) + (unsigned long)s->L.pr.epoch);
    for (int i = 0; i < s->L.N; i++) {
        const ds_episode *ep = s->rb.eps[nn_rng_u32(&r) % (unsigned)s->rb.n];
        int t = (int)(nn_rng_u32(&r) % (unsigned)(ep->T + 1));
        memcpy(s->obs_f + (size_t)i * s->L.O, ep->obs + (size_t)t * s->L.O, sizeof(float) * s->L.O);
        for (int j = 0; j < s->L.A; j++) {
            s->bc_act[(size_t)i * s->L.A + j] = t < ep->T ? ep->act[(size_t)t * s->L.A + j] : 0.0f;
            s->bc_mask[(size_t)i * s->L.A + j] = t < ep->T ? 1.0f : 0.0f;
        }
    }
    return wm_encode(s->L.g, &s->w, nn_tensor_from(s->L.g, s->obs_f, s->L.N, s->L.O, 0), NULL);
}

void pwm_window_begin(pwm *s, nn_rng *noise) {
    nn_graph_reset(s->L.g);
    s->t_env = 0;
    nn_params_set_frozen(&s->L.cp, 1);
    // the std stays >= exp(logstd_min): the log-std is clamped in place before the forward pass
    for (int j = 0; j < s->L.A; j++)
        if (s->L.act.logstd->x[j] < (float)s->c.logstd_min) s->L.act.logstd->x[j] = (float)s->c.logstd_min;
    nn_rng_init(noise, (unsigned long)s->c.seed, (1ul << 21) + (unsigned long)s->L.pr.epoch);
}

void pwm_segment_close(pwm *s, nn_tensor **R, nn_tensor **L, nn_tensor *v, const float *boot, const float *keep_rew,
                       const float *close, const float *keep) {
    nn_graph *g = s->L.g;
    int N = s->L.N;
    nn_tensor *c = nn_add(g, nn_mul(g, *R, nn_tensor_from(g, keep_rew, N, 1, 0)),
                          nn_mul(g, v, nn_tensor_from(g, boot, N, 1, 0)));
    *L = nn_add(g, *L, nn_mul(g, c, nn_tensor_from(g, close, N, 1, 0)));
    *R = nn_mul(g, *R, nn_tensor_from(g, keep, N, 1, 0));
}

nn_tensor *pwm_restart(pwm *s, nn_tensor *z, nn_tensor *zr, const float *keep) {
    nn_graph *g = s->L.g;
    int N = s->L.N;
    float cut[N];
    for (int i = 0; i < N; i++) cut[i] = 1.0f - keep[i];
    return nn_add(g, nn_mul(g, z, nn_tensor_from(g, keep, N, 1, 0)), nn_mul(g, zr, nn_tensor_from(g, cut, N, 1, 0)));
}

void pwm_env_step(pwm *s, const float *a) {
    env_batch *e = s->L.e;
    int N = s->L.N;
    for (int i = 0; i < N * s->L.A; i++) s->L.u[i] = a[i];
    env_step(e, s->L.u, 0);
    s->L.pr.env_steps += N;
    if (s->c.reproduce_original) {
        // the public code's running reward statistics follow the online rewards
        float rf[N];
        for (int i = 0; i < N; i++) rf[i] = (float)e->rew[i];
        nn_rms_update(&s->rew_rms, rf, N);
    }
    lrn_record_step(&s->L);
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

nn_tensor *pwm_return_loss(pwm *s, nn_tensor *L, float *scale) {
    // per-environment losses −L, normalised by the running std of those losses
    int N = s->L.N;
    float neg[N];
    for (int i = 0; i < N; i++) neg[i] = -L->x[i];
    if (!s->freeze_ret) nn_rms_update(&s->ret_rms, neg, N);
    *scale = 1.0f / sqrtf(s->ret_rms.var[0] + 1e-5f);
    return nn_scale(s->L.g, nn_mean(s->L.g, L), -*scale);
}

float pwm_done_flag(int done, int last, int offline, int original) {
    return (done || last || (original && offline)) ? 1.0f : 0.0f;
}

// offline --bc-weight W: W·Σ_i Σ_j m_ij (tanh(μ(sg z_i))_j − a_ij)² / (A·Σ_i m_i), the mean squared
// distance of the deterministic action at each start state from the action the data took there
// (a TD3+BC-style anchor to the data; the RL part of the loss is already return-normalised)
static nn_tensor *behaviour_cloning(pwm *s, nn_tensor *zin) {
    nn_graph *g = s->L.g;
    int N = s->L.N, A = s->L.A, have = 0;
    for (int i = 0; i < N; i++) have += s->bc_mask[(size_t)i * A] > 0;
    nn_tensor *mask = nn_tensor_from(g, s->bc_mask, N, A, 0);
    nn_tensor *d = nn_mul(g, nn_sub(g, actor_forward(g, &s->L.act, zin, NULL), nn_tensor_from(g, s->bc_act, N, A, 0)), mask);
    return nn_scale(g, nn_mean(g, nn_mul(g, d, d)), (float)(s->c.bc_weight * N / (have > 0 ? have : 1)));
}

float pwm_actor_window(pwm *s) {
    int N = s->L.N, H = s->L.H, A = s->L.A, Z = s->Z, orig = s->c.reproduce_original;
    double gamma = s->c.gamma, gam[N], t0 = nn_now();
    float col[N], coef[N], keep[N], rk[N];
    nn_graph *g = s->L.g;
    env_batch *e = s->L.e;
    nn_rng noise;
    pwm_window_begin(s, &noise);
    nn_tensor *z = e ? pwm_encode_obs(s, e->obs) : offline_starts(s);
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
        memcpy(s->L.xbuf + (size_t)k * N * Z, z->x, sizeof(float) * N * Z);
        for (int i = 0; i < N * A; i++) s->L.eps[i] = nn_rng_normal(&noise);
        // the actor sees sg(z_k), or with --closed-loop the encoded observation of its real environment
        nn_tensor *zin = s->actor_in                  ? nn_tensor_from(g, s->actor_in + (size_t)k * N * Z, N, Z, 0)
                         : e && s->c.closed_loop && k ? pwm_encode_obs(s, e->obs)
                                                      : nn_detach(g, z);
        nn_tensor *a = actor_forward(g, &s->L.act, zin, s->L.eps);
        if (k == 0 && !e && s->c.bc_weight > 0) bc = behaviour_cloning(s, zin);
        nn_tensor *r = wm_reward(g, &s->w, z, a, NULL);
        nn_tensor *z1 = wm_dynamics(g, &s->w, z, a, NULL);
        nn_tensor *v = lrn_min_value(&s->L, z1), *rw = r, *vw = v, *cont = NULL;
        if (surv) {
            cont = nn_sub(g, ones, wm_termination(g, &s->w, z, a, NULL));
            rw = nn_mul(g, r, S);
            S = nn_mul(g, S, cont);
            vw = nn_mul(g, v, S);
        }
        // --critic-data real: the critics learn from the real encoded state before the step
        if (s->creal) {
            nn_tensor *zr = pwm_encode_obs(s, e->obs);
            memcpy(s->creal + (size_t)k * N * Z, zr->x, sizeof(float) * N * Z);
        }
        s->L.t_actor += nn_now() - t0;
        t0 = nn_now();
        unsigned char none[N];
        const unsigned char *term = none, *trunc = none;
        memset(none, 0, sizeof none);
        if (e) {
            pwm_env_step(s, a->x);
            term = e->term, trunc = e->trunc;
        }
        s->t_env += nn_now() - t0;
        t0 = nn_now();
        // R += γ^k·r̂ per segment; a segment closes at an episode end or the window's end with
        // −(R + γ^len·V(z_end)): V = 0 after a termination
        for (int i = 0; i < N; i++) col[i] = (float)gam[i];
        R = nn_add(g, R, nn_mul(g, rw, nn_tensor_from(g, col, N, 1, 0)));
        pwm_close_weights(N, last, gamma, gam, term, trunc, orig, col, rk, coef);
        // --critic-data real|real-targets: the real reward (normalised as the model's) and the value
        // of the real next state (the final observation of an episode that ended)
        float rreal[N];
        const float *vreal = NULL;
        if (s->c.critic_data && e) {
            double nxt[N * s->L.O];
            for (int i = 0; i < N; i++) {
                const double *src = term[i] || trunc[i] ? e->obs_final : e->obs;
                memcpy(nxt + (size_t)i * s->L.O, src + (size_t)i * s->L.O, sizeof(double) * s->L.O);
                rreal[i] = (float)e->rew[i];
            }
            nn_rms_normalize(&s->rew_rms, rreal, rreal, N);
            vreal = lrn_min_value(&s->L, pwm_encode_obs(s, nxt))->x;
        }
        int any_done = 0;
        for (int i = 0; i < N; i++) {
            int done = term[i] || trunc[i];
            any_done |= done;
            s->L.rew_buf[(size_t)k * N + i] = vreal ? rreal[i] : r->x[i];
            s->L.done_buf[(size_t)k * N + i] = pwm_done_flag(done, last, !e, orig);
            s->L.next_val[(size_t)k * N + i] = term[i] ? 0.0f : vreal ? vreal[i] : v->x[i] * (cont ? cont->x[i] : 1.0f);
            keep[i] = done ? 0.0f : 1.0f;
            gam[i] = done ? 1.0 : gam[i] * gamma;
            if (done) lrn_recent_add(&s->L.pr.recent, e->ret_final[i]);
        }
        pwm_segment_close(s, &R, &L, vw, col, rk, coef, keep);
        // finished environments restart from the encoded reset observation
        if (!last) z = any_done ? pwm_restart(s, z1, pwm_encode_obs(s, e->obs), keep) : z1;
    }
    float scale;
    nn_tensor *loss = pwm_return_loss(s, L, &scale);
    if (bc) loss = nn_add(g, loss, bc);
    nn_params_zero_grad(&s->L.ap);
    s->L.t_actor += nn_now() - t0;
    t0 = nn_now();
    nn_backward(g, loss);
    s->L.t_backward += nn_now() - t0;
    nn_params_set_frozen(&s->L.cp, 0);
    return loss->x[0];
}
