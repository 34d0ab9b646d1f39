// PPO: GAE and the loss against hand-computed cases, the loss's gradient against central differences,
// training runs that are the same on 1 and 2 threads and resume bit for bit, checkpoints that evaluate.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../experiments/compare.h"
#include "../policy/policy.h"
#include "../policy/ppo.h"
#include "test.h"

#define LOG_2PI 1.8378770664093453

TEST(gae_hand_computed) {
    // environment 0: γ 0.9, λ 0.5, an episode end after step 1; environment 1 all zeros (the layout is time-major)
    //   step 2: δ = 3 + 0.9·0.8 − 0.7 = 3.02;  step 1 (done): δ = 2 − 0.6 = 1.4;
    //   step 0: δ = 1 + 0.9·0.6 − 0.5 = 1.04, A = 1.04 + 0.9·0.5·1.4 = 1.67
    float rew[6] = {1, 0, 2, 0, 3, 0}, done[6] = {0, 0, 1, 0, 0, 0}, val[6] = {0.5f, 0, 0.6f, 0, 0.7f, 0};
    float last[2] = {0.8f, 0}, adv[6], ret[6];
    ppo_gae(2, 3, 0.9, 0.5, rew, done, val, last, adv, ret);
    float want_adv[6] = {1.67f, 0, 1.4f, 0, 3.02f, 0}, want_ret[6] = {2.17f, 0, 2.0f, 0, 3.72f, 0};
    for (int i = 0; i < 6; i++) {
        CHECK_CLOSE(adv[i], want_adv[i], 1e-6, 1e-6);
        CHECK_CLOSE(ret[i], want_ret[i], 1e-6, 1e-6);
    }
}

static ppo_config quick(const char *env) {
    ppo_config c;
    char err[256];
    CHECK(ppo_preset(&c, env, "quick", err, sizeof err) == 0, "%s", err);
    return c;
}

TEST(loss_hand_computed) {
    // σ = 1, ε 0.2, vf 0.5, entropy 0.01. Row 0: a − μ = 0.5, ρ = 1.1, Â = 2 (unclipped: −2.2); value 1
    // against R = 2 with v_old = 0.5, whose clipped form (0.7) is further: ½·1.3², no gradient. Row 1:
    // a = μ, ρ = 1.5, Â = 1: clipped to −1.2, no gradient; value 0 against R = 0.1.
    // pg = −1.7, value loss ½·(1.69 + 0.01)/2 = 0.425, entropy ½ + ½·log 2π
    ppo_config c = quick("gym-hopper");
    c.clip = 0.2, c.vf_coef = 0.5, c.ent_coef = 0.01, c.clip_vloss = 1;
    float act[2] = {0.5f, 0}, mu[2] = {0, 0}, logstd[1] = {0}, v[2] = {1, 0};
    float logp_old[2] = {(float)(-0.125 - 0.5 * LOG_2PI - log(1.1)), (float)(-0.5 * LOG_2PI - log(1.5))};
    float adv[2] = {2, 1}, ret[2] = {2, 0.1f}, vold[2] = {0.5f, 0};
    ppo_batch b = {2, 1, act, logp_old, adv, ret, vold};
    float gmu[2], gls[1], gv[2];
    ppo_stats st;
    double L = ppo_loss(&b, &c, mu, logstd, v, gmu, gls, gv, &st);
    double ent = 0.5 + 0.5 * LOG_2PI;
    CHECK_CLOSE(st.pg_loss, -1.7, 1e-6, 1e-6);
    CHECK_CLOSE(st.v_loss, 0.425, 1e-6, 1e-6);
    CHECK_CLOSE(st.entropy, ent, 1e-9, 1e-9);
    CHECK_CLOSE(L, -1.7 + 0.5 * 0.425 - 0.01 * ent, 1e-6, 1e-6);
    CHECK_CLOSE(st.approx_kl, (0.1 - log(1.1) + 0.5 - log(1.5)) / 2, 1e-6, 1e-7);
    CHECK_CLOSE(st.clipfrac, 0.5, 0, 0);
    // ∂/∂μ0 = −Â·ρ/B·(a − μ)/σ² = −0.55; ∂/∂logσ = −1.1·((a − μ)² − 1) − 0.01
    CHECK_CLOSE(gmu[0], -0.55, 1e-6, 1e-6);
    CHECK_CLOSE(gmu[1], 0, 0, 0);
    CHECK_CLOSE(gls[0], 0.815, 1e-6, 1e-6);
    CHECK_CLOSE(gv[0], 0, 0, 0);
    CHECK_CLOSE(gv[1], 0.5 * -0.1 / 2, 1e-6, 1e-7);
}

// log N(a; μ, σ) of one row, as the policy's
static double logp(const float *a, const float *mu, const float *ls, int A) {
    double s = 0;
    for (int j = 0; j < A; j++) {
        double z = (a[j] - mu[j]) / exp(ls[j]);
        s += -0.5 * z * z - ls[j] - 0.5 * LOG_2PI;
    }
    return s;
}

TEST(loss_gradient_matches_differences) {
    // a batch of 8 rows, 3 actions, ratios on both sides of the clip range and inside it, values
    // inside and outside the value clip (away from the kinks), with and without the clipped value
    // loss: the analytic gradient against central differences in every input
    enum { B = 8, A = 3 };
    float act[B * A], mu[B * A], ls[A] = {-0.5f, 0.1f, 0.3f}, v[B], lpo[B], adv[B], ret[B], vold[B];
    double ratios[B] = {0.5, 0.9, 1.05, 1.5, 0.6, 1.3, 0.95, 1.1};
    double steps[B] = {0.05, -0.1, 0.5, -0.6, 0.02, 0.3, -0.35, 0.1};
    nn_rng r;
    nn_rng_init(&r, 7, 0);
    for (int i = 0; i < B; i++) {
        for (int j = 0; j < A; j++) mu[i * A + j] = nn_rng_normal(&r), act[i * A + j] = mu[i * A + j] + nn_rng_normal(&r);
        lpo[i] = (float)(logp(act + i * A, mu + i * A, ls, A) - log(ratios[i]));
        adv[i] = (i % 2 ? -1.0f : 1.0f) * (0.5f + nn_rng_uniform(&r));
        vold[i] = nn_rng_normal(&r), v[i] = vold[i] + (float)steps[i], ret[i] = vold[i] + nn_rng_normal(&r);
    }
    ppo_batch b = {B, A, act, lpo, adv, ret, vold};
    for (int clipv = 0; clipv < 2; clipv++) {
        ppo_config c = quick("gym-hopper");
        c.clip_vloss = clipv, c.ent_coef = 0.01, c.vf_coef = 0.5;
        float gmu[B * A], gls[A], gv[B];
        ppo_loss(&b, &c, mu, ls, v, gmu, gls, gv, NULL);
        float *x[3] = {mu, ls, v}, *g[3] = {gmu, gls, gv};
        int n[3] = {B * A, A, B};
        double worst = 0, eps = 1e-3;
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < n[k]; i++) {
                float keep = x[k][i];
                x[k][i] = keep + (float)eps;
                double hi = ppo_loss(&b, &c, mu, ls, v, NULL, NULL, NULL, NULL);
                x[k][i] = keep - (float)eps;
                double lo = ppo_loss(&b, &c, mu, ls, v, NULL, NULL, NULL, NULL);
                x[k][i] = keep;
                double num = (hi - lo) / (2 * eps), d = fabs(num - g[k][i]);
                CHECK(d <= 1e-4 + 1e-3 * fabs(num), "clip_vloss %d, input %d[%d]: analytic %.6g, differences %.6g", clipv,
                      k, i, g[k][i], num);
                worst = fmax(worst, d);
            }
        CHECK(worst > 0 || clipv, "no gradient was compared");
    }
}

static ppo_config small(const char *env);

TEST(gradient_through_networks_matches_differences) {
    // the first minibatch's loss (value, surrogate and entropy terms) through both MLPs and log σ,
    // against central differences in 24 parameters; ratios start at 1 there, inside the clip range
    ppo_config c = small("hopper");
    c.ent_coef = 0.01;
    double max_rel, rel_l2;
    char err[256];
    CHECK(ppo_gradcheck(&c, 24, 1e-2, &max_rel, &rel_l2, err, sizeof err) == 0, "%s", err);
    CHECK(rel_l2 < 1e-2 && max_rel < 5e-2, "gradient through the networks: rel L2 %.3g, max rel %.3g", rel_l2, max_rel);
}

static ppo_config small(const char *env) {
    ppo_config c = quick(env);
    c.envs = 2, c.horizon = 8, c.epochs = 3, c.update_epochs = 2, c.minibatches = 2, c.units = "16";
    c.eval_episodes = 2, c.eval_every = 3, c.save_every = 1;
    c.kl_target = 0.008;  // the adaptive learning rate is run state that a resume must restore
    return c;
}

TEST(reproducible_and_resumable) {
    // the same seed logs the same numbers on 2 threads and on 1; a run stopped after 2 epochs and
    // resumed matches one that ran straight through
    ppo_config c = small("gym-hopper");
    char a[512], b[512], r[512], pa[600];
    snprintf(a, sizeof a, "%s/ppo_a", test_tmpdir());
    snprintf(b, sizeof b, "%s/ppo_b", test_tmpdir());
    snprintf(r, sizeof r, "%s/ppo_r", test_tmpdir());
    for (int i = 0; i < 3; i++) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "mkdir -p %s", i == 0 ? a : i == 1 ? b : r);
        CHECK(system(cmd) == 0, "mkdir");
    }
    CHECK(ppo_train(&c, a, 0, 2) == 0, "run a failed");
    CHECK(ppo_train(&c, b, 0, 1) == 0, "run b failed");
    c.stop_after = 2;
    CHECK(ppo_train(&c, r, 0, 2) == 0, "run r failed");
    c.stop_after = 0;
    CHECK(ppo_train(&c, r, 1, 1) == 0, "resume failed");
    static char la[65536], lb[65536], lr[65536];
    test_read_log(a, la, sizeof la), test_read_log(b, lb, sizeof lb), test_read_log(r, lr, sizeof lr);
    CHECK(strstr(la, "\n3,48,"), "the log lacks epoch 3 at 48 env steps:\n%s", la);
    CHECK(!strcmp(la, lb), "1-thread and 2-thread runs logged different numbers:\n%s\nvs\n%s", la, lb);
    CHECK(!strcmp(la, lr), "the resumed run differs:\n%s\nvs\n%s", la, lr);
    CHECK(ppo_train(&c, a, 0, 2) != 0, "a second run overwrote the first");
    // the checkpoints evaluate through the common loader, and not on another task
    double mean, std;
    char err[512];
    snprintf(pa, sizeof pa, "%s/final.safetensors", a);
    CHECK(policy_evaluate("gym-hopper", pa, 2, 1, &c.physics, &mean, &std, err, sizeof err) == 0, "%s", err);
    CHECK(isfinite(mean), "evaluation return %g", mean);
    CHECK(policy_evaluate("hopper", pa, 2, 1, &c.physics, &mean, &std, err, sizeof err) != 0 &&
          strstr(err, "gym-hopper"), "a gym-hopper policy evaluated on the hopper: %s", err);
    // the deterministic policy is the clipped mean; a sampled one differs from it
    trained_policy *p = policy_load(pa, NULL, err, sizeof err);
    CHECK(p, "%s", err);
    double obs[11] = {1.25, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, u0[3], u1[3];
    nn_rng nr;
    nn_rng_init(&nr, 1, 0);
    policy_act(p, obs, 1, u0, NULL);
    policy_act(p, obs, 1, u1, &nr);
    int differ = 0;
    for (int j = 0; j < 3; j++) {
        differ += u0[j] != u1[j];
        CHECK(fabs(u0[j]) <= 1 && fabs(u1[j]) <= 1, "actions outside [-1, 1]: %g, %g", u0[j], u1[j]);
    }
    CHECK(differ, "sampled and deterministic actions are the same");
    policy_free(p);
}

TEST(presets) {
    // quick is CleanRL's: 488 x 2048 steps on the Gymnasium Hopper; paper is rl_games' shape
    ppo_config c = quick("gym-hopper");
    CHECK(c.envs * c.horizon * c.epochs == 999424 && c.envs * c.horizon / c.minibatches == 64, "quick preset");
    char err[256];
    CHECK(ppo_preset(&c, "ant", "paper", err, sizeof err) == 0, "%s", err);
    CHECK(c.envs == 2048 && c.horizon == 32 && c.envs * c.horizon / c.minibatches == 16384 && c.update_epochs == 5,
          "paper preset for the ant");
    CHECK(ppo_preset(&c, "hopper", "fast", err, sizeof err) != 0 && strstr(err, "fast"), "unknown preset accepted");
    CHECK(ppo_preset(&c, "nope", "quick", err, sizeof err) != 0 && strstr(err, "nope"), "unknown task accepted");
}

TEST(compare_methods_list) {
    // pwm compare --methods: a subset, all by default, unknown names refused
    int on[CMP_METHODS];
    char err[256];
    CHECK(compare_methods("ppo,shac", on, err, sizeof err) == 0 && on[0] && !on[1] && on[2], "%s", err);
    CHECK(compare_methods(NULL, on, err, sizeof err) == 0 && on[0] && on[1] && on[2] && !on[CMP_HYBRID], "%s", err);
    CHECK(compare_methods("hybrid", on, err, sizeof err) == 0 && on[CMP_HYBRID] && !on[CMP_PWM], "%s", err);
    CHECK(compare_methods("shac,sac", on, err, sizeof err) != 0 && strstr(err, "sac"), "sac accepted");
    CHECK(compare_methods(",", on, err, sizeof err) != 0, "an empty list accepted");
}

const test_case ppo_tests[] = {
    {"gae_hand_computed", gae_hand_computed},
    {"loss_hand_computed", loss_hand_computed},
    {"loss_gradient_matches_differences", loss_gradient_matches_differences},
    {"gradient_through_networks_matches_differences", gradient_through_networks_matches_differences},
    {"reproducible_and_resumable", reproducible_and_resumable},
    {"presets", presets},
    {"compare_methods_list", compare_methods_list},
    {0},
};
