// pwm diagnose: each figure on a case with a known answer. Effective ranks of known spectra,
// Monte-Carlo returns by hand, the true gradient at H = 1 against the task's analytic ∂r/∂a, an
// exact replay from saved states, the model's action gradient against its own differences, per-k
// figures and the critic against values computed here from a model whose dynamics, reward and
// critic are constants, closed loops of a constant-mean actor, and the checkpoint loader's errors.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../envs/env.h"
#include "../nn/checkpoint.h"
#include "../nn/common.h"
#include "../policy/learner.h"
#include "../policy/pwm.h"
#include "../policy/pwm_diagnose.h"
#include "test.h"

#define Z 16
#define NC 2

// a tiny Hopper world model with perturbed weights, an actor and NC critics on its latents
typedef struct {
    world_model w;
    nn_rms rms;
    nn_params ap, cp;
    actor act;
    nn_mlp critics[NC];
    ph_config phys;
    pwm_diag_nets n;
} nets;

static void nets_init(nets *s, unsigned long seed) {
    // tiny networks: one thread avoids OpenMP's spin-waits on a loaded machine (results do not
    // depend on the thread count; the runner restores it after each case)
    nn_set_threads(1);
    const env_task *t = env_find("hopper");
    wm_config c = {.obs_dim = t->obs_dim, .act_dim = t->act_dim, .latent = Z, .enc_dim = 16, .enc_layers = 1,
                   .mlp_dim = 16, .activation = WM_SIMNORM};
    wm_init(&s->w, &c, seed);
    snprintf(s->w.tasks, sizeof s->w.tasks, "hopper");
    nn_rng r;
    nn_rng_init(&r, seed, 9);
    for (size_t i = 0; i < s->w.p.count; i++) s->w.p.values[i] += 0.3f * nn_rng_normal(&r);
    nn_rms_init(&s->rms, 1, 1e-5f, 5.0f);
    s->rms.mean[0] = 0.5f, s->rms.var[0] = 4.0f;  // (r − 0.5)/2
    int au[1] = {8};
    nn_params_init(&s->ap, 0), nn_params_init(&s->cp, 0);
    actor_declare(&s->act, &s->ap, "actor.", Z, t->act_dim, au, 1, NN_ACT_MISH);
    nn_params_alloc(&s->ap);
    actor_init(&s->act, &r, -1.0f);
    nn_mlp_spec cs = {.in = Z, .out = 1, .n_hidden = 1, .hidden = {8}, .act = NN_ACT_MISH, .block = NN_BLOCK_ACT_NORM,
                      .layernorm = 1, .out_kind = NN_OUT_LINEAR};
    for (int k = 0; k < NC; k++) {
        char name[24];
        snprintf(name, sizeof name, "critic%d", k);
        nn_mlp_declare(&s->critics[k], &s->cp, name, &cs);
    }
    nn_params_alloc(&s->cp);
    for (int k = 0; k < NC; k++) nn_mlp_init(&s->critics[k], NN_INIT_ORTHOGONAL, 0, &r);
    s->phys = ph_config_default();
    s->n = (pwm_diag_nets){&s->w, &s->rms, &s->act, s->critics, NC, 0.9, t, &s->phys};
}

static void nets_free(nets *s) {
    wm_free(&s->w);
    nn_rms_free(&s->rms);
    nn_params_free(&s->ap), nn_params_free(&s->cp);
}

// zero every tensor of p whose name starts with prefix
static void zero_prefix(nn_params *p, const char *prefix) {
    for (int i = 0; i < p->n; i++)
        if (!strncmp(p->list[i].name, prefix, strlen(prefix)))
            memset(p->list[i].t.x, 0, sizeof(float) * p->list[i].t.n * p->list[i].t.d);
}

TEST(effective_rank_of_known_spectra) {
    // orthogonal ±1 columns with zero mean (Walsh patterns over 8 rows): equal singular values
    enum { N = 8, D = 5 };
    float x[N * D];
    double var;
    for (int cols = 1; cols <= 3; cols++) {
        memset(x, 0, sizeof x);
        for (int i = 0; i < N; i++)
            for (int k = 0; k < cols; k++) x[i * D + k] = ((i >> k) & 1) ? 1.0f : -1.0f;
        for (int i = 0; i < N; i++) x[i * D + 4] = 3.0f;  // a constant column: removed by the centring
        CHECK_CLOSE(pwm_diag_effective_rank(x, N, D, &var), cols, 1e-9, 1e-9);
        CHECK_CLOSE(var, (double)cols / D, 1e-9, 1e-12);
    }
    // singular values 2 and 1: p = (2/3, 1/3)
    for (int i = 0; i < N; i++) x[i * D] *= 2.0f;
    memset(x, 0, sizeof x);
    for (int i = 0; i < N; i++) x[i * D] = (i & 1) ? 2.0f : -2.0f, x[i * D + 1] = ((i >> 1) & 1) ? 1.0f : -1.0f;
    double p = 2.0 / 3, want = exp(-(p * log(p) + (1 - p) * log(1 - p)));
    CHECK_CLOSE(pwm_diag_effective_rank(x, N, D, NULL), want, 1e-9, 1e-12);
}

TEST(monte_carlo_returns_by_hand) {
    float rew[3] = {1, 2, 3};
    double G[3];
    pwm_diag_mc_returns(rew, 3, 1, 99.0, 0.5, G);  // terminated: the bootstrap is ignored
    CHECK_CLOSE(G[2], 3.0, 0, 1e-12);
    CHECK_CLOSE(G[1], 3.5, 0, 1e-12);
    CHECK_CLOSE(G[0], 2.75, 0, 1e-12);
    pwm_diag_mc_returns(rew, 3, 0, 4.0, 0.5, G);  // time-out: + γ^{T−t}·4
    CHECK_CLOSE(G[2], 5.0, 0, 1e-12);
    CHECK_CLOSE(G[1], 4.5, 0, 1e-12);
    CHECK_CLOSE(G[0], 3.25, 0, 1e-12);
}

// a Hopper batch stepped a few random steps (a state off the reset)
static env_batch *hopper_after(int n, int steps, int grads) {
    char err[512];
    env_batch *e = env_batch_new(env_find("hopper"), NULL, NULL, n, 11, 0, err, sizeof err);
    CHECK(e, "%s", err);
    if (grads) env_batch_enable_grads(e);
    nn_rng r;
    nn_rng_init(&r, 4, 0);
    double u[3 * 8];
    for (int k = 0; k < steps; k++) {
        for (int i = 0; i < 3 * n; i++) u[i] = 0.6 * (2 * nn_rng_uniform(&r) - 1);
        env_step(e, u, 0);
    }
    return e;
}

TEST(saved_state_replays_exactly) {
    // 20 steps from a saved state, restored into another batch, give the same rewards bit for bit
    env_batch *e = hopper_after(1, 5, 0), *f = hopper_after(2, 0, 0);
    double s[256], u[3] = {0.3, -0.2, 0.5}, rew[20];
    CHECK(lrn_env_size(e) <= 256, "state size %zu", lrn_env_size(e));
    lrn_env_get(e, 0, s);
    for (int k = 0; k < 20; k++) env_step(e, u, 0), rew[k] = e->rew[0];
    pwm_diag_restore(f, 1, s);
    double uu[6] = {0, 0, 0, 0.3, -0.2, 0.5};
    for (int k = 0; k < 20; k++) {
        env_step(f, uu, 0);
        CHECK(f->rew[1] == rew[k], "step %d: %.17g vs %.17g", k, f->rew[1], rew[k]);
    }
    env_batch_free(e), env_batch_free(f);
}

TEST(true_gradient_at_h1_is_the_analytic_reward_gradient) {
    env_batch *e = hopper_after(1, 6, 1), *fd = hopper_after(5, 0, 0);
    double s[256], u[3] = {0.4, -0.7, 0.1}, g[3], J;
    lrn_env_get(e, 0, s);
    env_step(e, u, 0);
    pwm_diag_true_grad(fd, s, u, 1, 0.99, 1e-4, g, &J, 1, NULL);
    CHECK_CLOSE(J, e->rew[0], 0, 1e-12);
    for (int k = 0; k < 3; k++) CHECK_CLOSE(g[k], e->drda[k], 1e-6, 1e-8);
    // over 3 steps the first action's gradient differs (it moves later states), the last's does not
    double u3[9] = {0.4, -0.7, 0.1, 0.2, 0.2, -0.3, -0.5, 0.6, 0.3}, g3[9], gs[9], J3;
    pwm_diag_true_grad(fd, s, u3, 3, 0.99, 1e-4, g3, &J3, 1, gs);
    for (int k = 0; k < 3; k++) CHECK_CLOSE(gs[k], e->drda[k], 1e-6, 1e-8);
    for (int k = 3; k < 9; k++) CHECK(gs[k] == 0, "short gradient beyond its horizon: %g", gs[k]);
    CHECK(fabs(g3[0] - e->drda[0]) > 1e-4, "the 3-step gradient ignores the dynamics: %g vs %g", g3[0], e->drda[0]);
    env_batch_free(e), env_batch_free(fd);
}

TEST(model_gradient_matches_its_own_differences) {
    nets s;
    nets_init(&s, 3);
    enum { R = 2, H = 4, A = 3 };
    float z0[R * Z], u[H * R * A], g[H * R * A];
    nn_rng r;
    nn_rng_init(&r, 8, 0);
    for (int i = 0; i < R * Z; i++) z0[i] = nn_rng_uniform(&r) / 4;
    for (int i = 0; i < H * R * A; i++) u[i] = 0.8f * (2 * nn_rng_uniform(&r) - 1);
    int len[R] = {H, 2};
    for (int mode = 0; mode < 3; mode++) {
        // task units with lengths; model units with the critics' minimum; task units, every row H
        const int *ln = mode == 0 ? len : NULL;
        int tu = mode != 1, val = mode == 1;
        double ret[R], hi[R], lo[R];
        pwm_diag_model_grad(&s.n, z0, u, R, H, ln, tu, val, g, ret);
        for (int m = 0; m < H * R * A; m++) {
            float keep = u[m];
            u[m] = keep + 1e-2f;
            pwm_diag_model_grad(&s.n, z0, u, R, H, ln, tu, val, NULL, hi);
            u[m] = keep - 1e-2f;
            pwm_diag_model_grad(&s.n, z0, u, R, H, ln, tu, val, NULL, lo);
            u[m] = keep;
            int row = (m / A) % R;
            CHECK_CLOSE(g[m], (hi[row] - lo[row]) / 2e-2, 2e-2, 2e-3);
        }
        if (mode == 0) CHECK(g[(3 * R + 1) * A] == 0, "row 1 counts 2 steps, yet step 3 has a gradient");
    }
    // the return itself: one step, task units = R̂·std + mean
    double ret1[R];
    pwm_diag_model_grad(&s.n, z0, u, R, 1, NULL, 1, 0, NULL, ret1);
    double ret0[R];
    pwm_diag_model_grad(&s.n, z0, u, R, 1, NULL, 0, 0, NULL, ret0);
    CHECK_CLOSE(ret1[0], ret0[0] * sqrt(4.0 + 1e-5) + 0.5, 1e-5, 1e-6);
    // the bootstrap: γ^H·min_k V_k(ẑ_H), ẑ_H rolled here
    double rv[R], r0[R];
    pwm_diag_model_grad(&s.n, z0, u, R, H, NULL, 0, 1, NULL, rv);
    pwm_diag_model_grad(&s.n, z0, u, R, H, NULL, 0, 0, NULL, r0);
    nn_graph *gr = nn_graph_new(1 << 20);
    nn_graph_set_no_grad(gr, 1);
    nn_tensor *z = nn_tensor_from(gr, z0, R, Z, 0);
    for (int j = 0; j < H; j++) z = wm_dynamics(gr, &s.w, z, nn_tensor_from(gr, u + j * R * A, R, A, 0), NULL);
    nn_tensor *v0 = nn_mlp_forward(gr, &s.critics[0], z), *v1 = nn_mlp_forward(gr, &s.critics[1], z);
    for (int i = 0; i < R; i++)
        CHECK_CLOSE(rv[i] - r0[i], pow(0.9, H) * fmin(v0->x[i], v1->x[i]), 1e-4, 1e-6);
    CHECK(fabs(v0->x[0] - v1->x[0]) > 1e-3, "the critics agree: the minimum is not tested");
    nn_graph_free(gr);
    // and no parameter received a gradient
    for (size_t i = 0; i < s.w.p.count; i++) CHECK(s.w.p.grads[i] == 0, "world-model gradient written");
    for (size_t i = 0; i < s.cp.count; i++) CHECK(s.cp.grads[i] == 0, "critic gradient written");
    nets_free(&s);
}

// min over the NC critics of s at one latent, computed here
static double min_critic(const nets *s, nn_graph *g, const float *z) {
    nn_graph_reset(g);
    nn_tensor *x = nn_tensor_new(g, 1, Z, 0);
    memcpy(x->x, z, sizeof(float) * Z);
    double v = INFINITY;
    for (int k = 0; k < NC; k++) v = fmin(v, nn_mlp_forward(g, &s->critics[k], x)->x[0]);
    return v;
}

TEST(constant_model_and_critic_give_known_figures) {
    // dynamics all zero: ẑ_k = SimNorm(0) = 1/8 everywhere; reward head a constant c; critics first
    // as initialised (the value gap), then a constant v0. The figures are then recomputed here from
    // an independent recording.
    nets s;
    nets_init(&s, 5);
    zero_prefix(&s.w.p, "dynamics.");
    zero_prefix(&s.w.p, "reward.");
    const float c = 0.7f, v0 = 1.5f;
    s.w.rew.b[s.w.rew.n_layers - 1]->x[0] = c;
    pwm_diag_config cfg = pwm_diag_defaults();
    cfg.episodes = 2, cfg.max_steps = 40, cfg.K = 3, cfg.H = 3, cfg.H_long = 3, cfg.grad_starts = 0, cfg.seed = 2;
    pwm_diag_result res, res_v;
    char err[512];
    CHECK(pwm_diagnose(&s.n, &cfg, &res_v, err, sizeof err) == 0, "%s", err);
    nn_graph *gv = nn_graph_new(1 << 20);
    float zc8[Z];
    for (int k = 0; k < Z; k++) zc8[k] = 1.0f / 8;
    const double vc = min_critic(&s, gv, zc8);  // every predicted latent's value
    // the deterministic policy's episodes, recorded here
    enum { E = 2, CAP = 40, K = 3, A = 3 };
    const env_task *t = env_find("hopper");
    env_batch *e = env_batch_new(t, NULL, NULL, E, 2, 0, err, sizeof err);
    CHECK(e, "%s", err);
    static float zs[E][CAP + 1][Z], acts[E][CAP + 1][A], rew[E][CAP];
    int T[E] = {0}, term[E] = {0}, done[E] = {0};
    nn_graph *g = nn_graph_new(1 << 20);
    for (int step = 0; !(done[0] && done[1]); step++) {
        nn_graph_reset(g);
        nn_tensor *o = nn_tensor_new(g, E, t->obs_dim, 0);
        for (int i = 0; i < E * t->obs_dim; i++) o->x[i] = (float)e->obs[i];
        nn_tensor *z = wm_encode(g, &s.w, o, NULL), *a = actor_forward(g, &s.act, z, NULL);
        double u[E * A];
        for (int i = 0; i < E * A; i++) u[i] = a->x[i];
        for (int i = 0; i < E; i++)
            if (!done[i]) memcpy(zs[i][T[i]], z->x + i * Z, sizeof(float) * Z), memcpy(acts[i][T[i]], a->x + i * A, sizeof(float) * A);
        env_step(e, u, 0);
        for (int i = 0; i < E; i++) {
            if (done[i]) continue;
            rew[i][T[i]++] = (float)e->rew[i];
            if (e->term[i] || e->trunc[i] || T[i] == CAP) {
                done[i] = 1, term[i] = e->term[i];
                nn_tensor *of = nn_tensor_new(g, 1, t->obs_dim, 0);
                for (int k = 0; k < t->obs_dim; k++) of->x[k] = (float)e->obs_final[i * t->obs_dim + k];
                nn_tensor *zf = wm_encode(g, &s.w, of, NULL), *af = actor_forward(g, &s.act, zf, NULL);
                memcpy(zs[i][T[i]], zf->x, sizeof(float) * Z), memcpy(acts[i][T[i]], af->x, sizeof(float) * A);
            }
        }
    }
    // the value gap with the initialised critics, then the same diagnosis with constant ones
    double gap[K] = {0};
    for (int i = 0; i < E; i++)
        for (int t0 = 0; t0 + K <= T[i]; t0++)
            for (int k = 1; k <= K; k++) gap[k - 1] += vc - min_critic(&s, gv, zs[i][t0 + k]);
    zero_prefix(&s.cp, "critic");
    for (int k = 0; k < NC; k++) s.critics[k].b[s.critics[k].n_layers - 1]->x[0] = v0 + k;  // min: v0
    CHECK(pwm_diagnose(&s.n, &cfg, &res, err, sizeof err) == 0, "%s", err);
    // the deterministic action on the constant predicted latent
    nn_graph_reset(g);
    nn_tensor *zc = nn_tensor_new(g, 1, Z, 0);
    for (int k = 0; k < Z; k++) zc->x[k] = 1.0f / 8;
    float astar[A];
    memcpy(astar, actor_forward(g, &s.act, zc, NULL)->x, sizeof astar);
    double err_k[K] = {0}, chg[K] = {0}, real[K] = {0}, drift[K] = {0};
    int n = 0;
    for (int i = 0; i < E; i++)
        for (int t0 = 0; t0 + K <= T[i]; t0++, n++)
            for (int k = 1; k <= K; k++) {
                for (int d = 0; d < Z; d++) {
                    double a1 = 1.0 / 8 - zs[i][t0 + k][d], b1 = zs[i][t0 + k][d] - zs[i][t0][d];
                    err_k[k - 1] += a1 * a1 / Z, chg[k - 1] += b1 * b1 / Z;
                }
                for (int j = 0; j < A; j++) drift[k - 1] += pow(astar[j] - acts[i][t0 + k][j], 2) / A;
                real[k - 1] += rew[i][t0 + k - 1];
            }
    CHECK(n > 0 && res.n_k[0] == n, "start states: %ld vs %d", res.n_k[0], n);
    double pred = c * sqrt(4.0 + 1e-5) + 0.5;
    for (int k = 0; k < K; k++) {
        CHECK_CLOSE(res.lat_err[k], err_k[k] / n, 1e-5, 1e-9);
        CHECK_CLOSE(res.lat_change[k], chg[k] / n, 1e-5, 1e-9);
        CHECK_CLOSE(res.act_drift[k], sqrt(drift[k] / n), 1e-4, 1e-7);
        CHECK_CLOSE(res.rew_pred[k], pred, 1e-6, 1e-6);
        CHECK_CLOSE(res.rew_bias[k], pred - real[k] / n, 1e-5, 1e-6);
        // the initialised critics' values at the predicted latent against the recorded ones; constant critics: 0
        CHECK_CLOSE(res_v.val_gap[k], gap[k] / n, 1e-5, 1e-6);
        CHECK(res.val_gap[k] == 0.0, "constant critics, value gap %g", res.val_gap[k]);
    }
    CHECK(fabs(res_v.val_gap[0]) > 1e-3, "initialised critics, value gap %g: the check cannot tell", res_v.val_gap[0]);
    // the critic: v0 against the Monte-Carlo return of (r − 0.5)/2 (time-outs bootstrapped with v0)
    double sum = 0, nsum = 0;
    long cnt = 0, ncnt = 0;
    for (int i = 0; i < E; i++) {
        double G = term[i] ? 0.0 : v0;
        for (int t0 = T[i] - 1; t0 >= 0; t0--) {
            float rn = (rew[i][t0] - 0.5f) * (1.0f / sqrtf(4.0f + 1e-5f));
            rn = rn < -5 ? -5 : rn > 5 ? 5 : rn;
            G = rn + 0.9 * G;
            sum += v0 - G, cnt++;
            if (term[i] && T[i] - t0 <= 20) nsum += v0 - G, ncnt++;
        }
    }
    CHECK(res.n_critic == cnt && res.n_near == ncnt, "critic states %ld/%ld vs %ld/%ld", res.n_critic, res.n_near,
          cnt, ncnt);
    CHECK_CLOSE(res.critic_bias, sum / cnt, 1e-5, 1e-6);
    if (ncnt) CHECK_CLOSE(res.near_bias, nsum / ncnt, 1e-5, 1e-6);
    else CHECK(isnan(res.near_bias), "no termination, yet a near-termination bias %g", res.near_bias);
    CHECK(isnan(res.cos_H) && res.n_grad == 0, "no gradient starts asked, yet cosines");
    nn_graph_free(g), nn_graph_free(gv);
    env_batch_free(e);
    nets_free(&s);
}

TEST(gradient_cosines_agree_where_their_returns_do) {
    // long horizon = H and constant critics: the three gradients are the same up to scale, so the
    // three cosines are equal; the unperturbed replay from the saved states is exact
    nets s;
    nets_init(&s, 4);
    zero_prefix(&s.cp, "critic");
    s.rms.scale_only = 1;
    pwm_diag_config cfg = pwm_diag_defaults();
    cfg.episodes = 2, cfg.max_steps = 30, cfg.K = 2, cfg.H = cfg.H_long = 4, cfg.grad_starts = 2, cfg.seed = 3;
    pwm_diag_result r;
    char err[512];
    CHECK(pwm_diagnose(&s.n, &cfg, &r, err, sizeof err) == 0, "%s", err);
    CHECK(r.n_grad == 2 && r.long_len == 4 && r.replay_err == 0, "%d starts, length %g, replay error %g", r.n_grad,
          r.long_len, r.replay_err);
    CHECK(isfinite(r.cos_H) && fabs(r.cos_H) <= 1, "cosine %g", r.cos_H);
    CHECK_CLOSE(r.cos_long, r.cos_H, 0, 1e-5);
    CHECK_CLOSE(r.cos_objective, r.cos_H, 0, 1e-5);
    // constant critics add nothing to the objective's gradient, and a long horizon equal to H leaves
    // the true return no tail: both shares are exactly 0 and the critic-term cosine is undefined
    CHECK(r.critic_share == 0 && r.true_tail_share == 0 && isnan(r.cos_critic), "shares %g / %g, cosine %g",
          r.critic_share, r.true_tail_share, r.cos_critic);
    nets_free(&s);
}

TEST(critic_term_cosine_and_shares) {
    // random critics and a longer true horizon: the critic's term and the true tail both exist; the
    // shares are norm ratios of parts of a sum, so they lie in [0, ∞) and are finite; with the same
    // critics zeroed the critic's share drops to exactly 0 while the true tail's is unchanged
    nets s;
    nets_init(&s, 4);
    pwm_diag_config cfg = pwm_diag_defaults();
    cfg.episodes = 2, cfg.max_steps = 30, cfg.K = 2, cfg.H = 4, cfg.H_long = 8, cfg.grad_starts = 2, cfg.seed = 3;
    pwm_diag_result r, r0;
    char err[512];
    CHECK(pwm_diagnose(&s.n, &cfg, &r, err, sizeof err) == 0, "%s", err);
    CHECK(isfinite(r.cos_critic) && fabs(r.cos_critic) <= 1, "critic-term cosine %g", r.cos_critic);
    CHECK(r.critic_share > 0 && isfinite(r.critic_share), "critic share %g", r.critic_share);
    CHECK(r.true_tail_share > 0 && isfinite(r.true_tail_share), "true tail share %g", r.true_tail_share);
    zero_prefix(&s.cp, "critic");
    CHECK(pwm_diagnose(&s.n, &cfg, &r0, err, sizeof err) == 0, "%s", err);
    CHECK(r0.critic_share == 0 && isnan(r0.cos_critic), "zeroed critics: share %g, cosine %g", r0.critic_share,
          r0.cos_critic);
    CHECK(r0.true_tail_share == r.true_tail_share, "the true tail moved with the critics: %.17g vs %.17g",
          r0.true_tail_share, r.true_tail_share);
    // against the policy's own tail: defined and bounded with random critics; with zero critics
    // neither critic term has a gradient, while the two true tails are unchanged
    CHECK(isfinite(r.cos_critic_cl) && fabs(r.cos_critic_cl) <= 1 + 1e-12, "cos_critic_cl %g", r.cos_critic_cl);
    CHECK(isfinite(r.cos_critic_real) && fabs(r.cos_critic_real) <= 1 + 1e-12, "cos_critic_real %g",
          r.cos_critic_real);
    CHECK(isnan(r0.cos_critic_cl) && isnan(r0.cos_critic_real) && isnan(r0.cos_critic_chains),
          "zeroed critics: %g, %g, %g", r0.cos_critic_cl, r0.cos_critic_real, r0.cos_critic_chains);
    CHECK(isfinite(r.cos_critic_chains) && fabs(r.cos_critic_chains) <= 1 + 1e-12, "cos_critic_chains %g",
          r.cos_critic_chains);
    CHECK(r0.cos_tail_cl == r.cos_tail_cl, "the tails moved with the critics: %.17g vs %.17g", r0.cos_tail_cl,
          r.cos_tail_cl);
    nets_free(&s);
}

TEST(closed_loop_tail_of_a_constant_policy_is_the_open_loop_one) {
    // μ ≡ 0: the deterministic policy acts 0 everywhere, so its recorded actions are 0 and acting
    // closed loop after step H takes the open-loop actions: the two tails' gradients agree (cosine 1
    // up to rounding), and they are not trivially zero
    nets s;
    nets_init(&s, 6);
    zero_prefix(&s.ap, "actor.mlp");
    pwm_diag_config cfg = pwm_diag_defaults();
    cfg.episodes = 2, cfg.max_steps = 30, cfg.K = 2, cfg.H = 3, cfg.H_long = 7, cfg.grad_starts = 2, cfg.seed = 3;
    pwm_diag_result r;
    char err[512];
    CHECK(pwm_diagnose(&s.n, &cfg, &r, err, sizeof err) == 0, "%s", err);
    CHECK(r.n_grad == 2 && r.long_len > cfg.H, "%d starts, length %g", r.n_grad, r.long_len);
    CHECK_CLOSE(r.cos_tail_cl, 1.0, 0, 1e-6);
    CHECK(isfinite(r.fd_tail_cl) && r.fd_tail_cl > 0.9, "the tail's differences at two steps disagree: %g",
          r.fd_tail_cl);
    // and directly: the closed-loop tail's gradient is the open-loop return's minus its first H steps'
    env_batch *e = hopper_after(1, 6, 0), *fd = hopper_after(7, 0, 0);
    double st[256], u[7 * 3] = {0.4, -0.7, 0.1, 0.2, 0.2, -0.3, -0.5, 0.6, 0.3}, gl[21], gs[21], J, vg[9], tg[9];
    lrn_env_get(e, 0, st);
    pwm_diag_true_grad(fd, st, u, 7, s.n.gamma, 1e-4, gl, &J, 3, gs);
    pwm_diag_true_tail(&s.n, fd, st, u, 3, 7, 1e-4, vg, tg);
    double nt = 0;
    for (int m = 0; m < 9; m++) {
        CHECK_CLOSE(tg[m], gl[m] - gs[m], 1e-6, 1e-6);
        nt += tg[m] * tg[m];
    }
    CHECK(nt > 1e-8, "the tail has no gradient: %g", nt);
    env_batch_free(e), env_batch_free(fd);
    nets_free(&s);
}

TEST(constant_mean_actor_closed_loops) {
    // μ ≡ 0: the stochastic closed loop and the training-time behaviour take the same actions
    // tanh(σ·ε) with the same noise, so the same returns; the deterministic loop (u = 0) differs
    nets s;
    nets_init(&s, 6);
    zero_prefix(&s.ap, "actor.mlp");
    char err[256];
    double det = pwm_diag_closed_loop(&s.n, 0, 3, 30, 4, 1, err, sizeof err);
    double sto = pwm_diag_closed_loop(&s.n, 1, 3, 30, 4, 1, err, sizeof err);
    double trn = pwm_diag_closed_loop(&s.n, 2, 3, 30, 4, 1, err, sizeof err);
    CHECK(sto == trn, "stochastic %.17g vs training-time %.17g", sto, trn);
    CHECK(det != sto, "the noise changed nothing: %g", det);
    nets_free(&s);
}

TEST(training_time_with_h1_is_the_stochastic_closed_loop) {
    // re-anchored to enc(o) at every step, the predicted latent is never used: the same returns;
    // with H = 4 the actor acts on predicted latents and the returns differ
    nets s;
    nets_init(&s, 6);
    char err[256];
    double sto = pwm_diag_closed_loop(&s.n, 1, 3, 30, 1, 1, err, sizeof err);
    double h1 = pwm_diag_closed_loop(&s.n, 2, 3, 30, 1, 1, err, sizeof err);
    double h4 = pwm_diag_closed_loop(&s.n, 2, 3, 30, 4, 1, err, sizeof err);
    CHECK(sto == h1, "stochastic %.17g vs training-time at H = 1 %.17g", sto, h1);
    CHECK(h4 != sto, "training-time at H = 4 ignores the predicted latents: %g", h4);
    nets_free(&s);
}

TEST(loader_reads_pwm_checkpoints_and_names_bad_files) {
    nets s;
    nets_init(&s, 7);
    char ck[512], wm[512], err[512];
    snprintf(ck, sizeof ck, "%s/diag_pwm.safetensors", test_tmpdir());
    snprintf(wm, sizeof wm, "%s/diag_wm.safetensors", test_tmpdir());
    st_writer *w = st_writer_new();
    nn_ckpt_write_params(w, "a/", &s.ap, NULL);
    nn_ckpt_write_params(w, "c/", &s.cp, NULL);
    wm_write(w, &s.w, NULL, &s.rms, 0);
    const char *meta[][2] = {{"format", "pwm-pwm-1"}, {"env", "hopper"}, {"actor_units", "8"},
                             {"critic_units", "8"}, {"critics", "2"}};
    for (int i = 0; i < 5; i++) st_writer_meta(w, meta[i][0], meta[i][1]);
    CHECK(st_writer_commit(w, ck, err, sizeof err) == 0, "%s", err);
    st_writer_free(w);
    CHECK(wm_save(&s.w, NULL, &s.rms, 0, wm, err, sizeof err) == 0, "%s", err);
    pwm_diag_loaded L;
    CHECK(pwm_diag_load(&L, ck, wm, "hopper", 0.9, &s.phys, err, sizeof err) == 0, "%s", err);
    CHECK(L.nets.ncritics == 2 && L.rew_rms.mean[0] == 0.5f && !memcmp(L.ap.values, s.ap.values, sizeof(float) * s.ap.count) &&
          !memcmp(L.cp.values, s.cp.values, sizeof(float) * s.cp.count), "the loaded networks differ");
    pwm_diag_unload(&L);
    // another task, a world-model file as the policy
    CHECK(pwm_diag_load(&L, ck, NULL, "ant", 0.9, &s.phys, err, sizeof err) != 0 && strstr(err, "ant") &&
          strstr(err, ck), "wrong task accepted: %s", err);
    pwm_diag_unload(&L);
    CHECK(pwm_diag_load(&L, wm, NULL, NULL, 0.9, &s.phys, err, sizeof err) != 0 && strstr(err, wm) &&
          strstr(err, "not a PWM checkpoint"), "a world model accepted as a policy: %s", err);
    pwm_diag_unload(&L);
    nets_free(&s);
}

TEST(core_csv_appends_rows_under_one_header) {
    char path[512], buf[4096];
    snprintf(path, sizeof path, "%s/diagnose.csv", test_tmpdir());
    pwm_diag_result r;
    memset(&r, 0, sizeof r);
    r.K = 4, r.lat_err[0] = 0.25, r.lat_err[3] = 0.5, r.eff_rank = 7.5, r.near_bias = NAN, r.true_tail_share = 0.125;
    r.cos_critic_chains = 0.375, r.val_gap[0] = 0.625, r.val_gap[3] = 0.875;
    char err[256];
    CHECK(pwm_diag_append(path, 10, &r, err, sizeof err) == 0, "%s", err);
    CHECK(pwm_diag_append(path, 20, &r, err, sizeof err) == 0, "%s", err);
    test_read_file(path, buf, sizeof buf);
    char *l1 = strchr(buf, '\n'), *l2 = l1 ? strchr(l1 + 1, '\n') : NULL;
    CHECK(!strncmp(buf, "epoch,K,lat_err_1,", 18) && l1 && l2 && !strncmp(l1 + 1, "10,4,0.25,", 10) &&
          !strncmp(l2 + 1, "20,4,0.25,", 10), "diagnose.csv:\n%s", buf);
    // every line has as many columns as the header; lat_err_K is the K-th value, cos_critic_chains then the
    // value gaps at 1 and K the last
    int cols[3] = {0}, line = 0;
    for (char *p = buf; *p && line < 3; p++) {
        if (*p == ',') cols[line]++;
        if (*p == '\n') line++;
    }
    CHECK(cols[0] == cols[1] && cols[1] == cols[2], "columns %d %d %d", cols[0], cols[1], cols[2]);
    CHECK(strstr(l1, ",0.5,") && strstr(l1, ",7.5,") && strstr(l1, ",0.125,") && strstr(l1, ",0.375,0.625,0.875\n") && strstr(l1, ",nan,"), "row: %.200s", l1 + 1);
}

TEST(diagnoses_a_pwm_train_checkpoint) {
    // the loader against the layout pwm train really writes: a one-epoch run on a tiny model
    nets s;
    nets_init(&s, 12);
    char wm[512], wm8[512], dir[512], ck[600], err[512];
    snprintf(wm, sizeof wm, "%s/diag_run_wm.safetensors", test_tmpdir());
    snprintf(wm8, sizeof wm8, "%s/diag_run_wm8.safetensors", test_tmpdir());
    snprintf(dir, sizeof dir, "%s/diag_run", test_tmpdir());
    CHECK(wm_save(&s.w, NULL, &s.rms, 0, wm, err, sizeof err) == 0, "%s", err);
    pwm_config c;
    CHECK(pwm_preset(&c, "hopper", "quick", err, sizeof err) == 0, "%s", err);
    c.wm = wm, c.envs = 2, c.horizon = 3, c.epochs = 1, c.eval_episodes = 1, c.eval_every = 1, c.save_every = 1;
    c.actor_units = "8", c.critic_units = "8", c.critics = 2, c.critic_minibatches = 1, c.wm_iters = 0;
    CHECK(nn_mkdirs(dir) == 0, "mkdir %s", dir);
    CHECK(pwm_train(&c, dir, 0, 1) == 0, "pwm train failed");
    snprintf(ck, sizeof ck, "%s/final.safetensors", dir);
    pwm_diag_loaded L;
    CHECK(pwm_diag_load(&L, ck, NULL, "hopper", 0.99, &s.phys, err, sizeof err) == 0, "%s", err);
    pwm_diag_config cfg = pwm_diag_defaults();
    cfg.episodes = 2, cfg.max_steps = 20, cfg.K = 2, cfg.H = 2, cfg.H_long = 4, cfg.grad_starts = 1;
    pwm_diag_result r;
    CHECK(pwm_diagnose(&L.nets, &cfg, &r, err, sizeof err) == 0, "%s", err);
    CHECK(r.states > 0 && isfinite(r.lat_err[0]) && isfinite(r.critic_bias) && isfinite(r.eff_rank) &&
          r.replay_err == 0 && isfinite(r.ret_train), "figures: %ld states, err %g, critic %g, rank %g, replay %g",
          r.states, r.lat_err[0], r.critic_bias, r.eff_rank, r.replay_err);
    pwm_diag_unload(&L);
    // a model of another latent width under this actor: refused, naming both files
    world_model w8;
    wm_config c8 = s.w.c;
    c8.latent = 8;
    wm_init(&w8, &c8, 1);
    CHECK(wm_save(&w8, NULL, &s.rms, 0, wm8, err, sizeof err) == 0, "%s", err);
    wm_free(&w8);
    CHECK(pwm_diag_load(&L, ck, wm8, "hopper", 0.99, &s.phys, err, sizeof err) != 0 && strstr(err, wm8) &&
          strstr(err, ck) && strstr(err, "latent"), "a latent-8 model accepted: %s", err);
    pwm_diag_unload(&L);
    nets_free(&s);
}

const test_case diagnose_tests[] = {
    {"effective_rank_of_known_spectra", effective_rank_of_known_spectra},
    {"monte_carlo_returns_by_hand", monte_carlo_returns_by_hand},
    {"saved_state_replays_exactly", saved_state_replays_exactly},
    {"true_gradient_at_h1_is_the_analytic_reward_gradient", true_gradient_at_h1_is_the_analytic_reward_gradient},
    {"model_gradient_matches_its_own_differences", model_gradient_matches_its_own_differences},
    {"constant_model_and_critic_give_known_figures", constant_model_and_critic_give_known_figures},
    {"gradient_cosines_agree_where_their_returns_do", gradient_cosines_agree_where_their_returns_do},
    {"critic_term_cosine_and_shares", critic_term_cosine_and_shares},
    {"closed_loop_tail_of_a_constant_policy_is_the_open_loop_one", closed_loop_tail_of_a_constant_policy_is_the_open_loop_one},
    {"constant_mean_actor_closed_loops", constant_mean_actor_closed_loops},
    {"training_time_with_h1_is_the_stochastic_closed_loop", training_time_with_h1_is_the_stochastic_closed_loop},
    {"core_csv_appends_rows_under_one_header", core_csv_appends_rows_under_one_header},
    {"diagnoses_a_pwm_train_checkpoint", diagnoses_a_pwm_train_checkpoint},
    {"loader_reads_pwm_checkpoints_and_names_bad_files", loader_reads_pwm_checkpoints_and_names_bad_files},
    {0},
};
