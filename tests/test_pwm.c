// PWM: the actor gradient through the world-model rollout against finite differences (online and
// offline, fixes and original quirks), the quirks' decisions, and training runs that are
// reproducible, resumable and evaluate in the real environment.
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../envs/env.h"
#include "../experiments/compare.h"
#include "../nn/common.h"
#include "../policy/learner.h"
#include "../policy/policy.h"
#include "../policy/pwm.h"
#include "../policy/pwm_diagnose.h"
#include "../policy/pwm_internal.h"  // the hybrid test evaluates a fresh learner's critics itself
#include "../policy/replay.h"
#include "../worldmodel/dataset.h"
#include "../worldmodel/wm.h"
#include "files.h"
#include "test.h"

// small Hopper world models (without and with a termination head) with every weight perturbed
// (the reward head starts at zero) and a random-policy dataset, made once per test run
static const char *fixture(const char **data_dir, int termination) {
    static char wm_path[2][400], dir[400];
    static int made;
    *data_dir = dir;
    if (made) return wm_path[termination];
    snprintf(wm_path[0], sizeof wm_path[0], "%s/pwm_wm.safetensors", test_tmpdir());
    snprintf(wm_path[1], sizeof wm_path[1], "%s/pwm_wm_term.safetensors", test_tmpdir());
    snprintf(dir, sizeof dir, "%s/pwm_data", test_tmpdir());
    char err[512];
    const env_task *t = env_find("hopper");
    nn_rng r;
    nn_rng_init(&r, 5, 0);
    files_random_dataset(dir, 3, 60, &r);
    for (int k = 0; k < 2; k++) {
        world_model w;
        wm_config c = {.obs_dim = t->obs_dim, .act_dim = t->act_dim, .latent = 16, .enc_dim = 16, .enc_layers = 1,
                       .mlp_dim = 16, .activation = WM_SIMNORM, .termination = k};
        wm_init(&w, &c, 2);
        snprintf(w.tasks, sizeof w.tasks, "hopper");
        for (size_t i = 0; i < w.p.count; i++) w.p.values[i] += 0.3f * nn_rng_normal(&r);
        nn_rms rms;
        nn_rms_init(&rms, 1, 1e-5f, 5.0f);
        CHECK(wm_save(&w, NULL, &rms, 0, wm_path[k], err, sizeof err) == 0, "%s", err);
        nn_rms_free(&rms);
        wm_free(&w);
    }
    made = 1;
    return wm_path[termination];
}

static pwm_config small(void) {
    pwm_config c;
    char err[256];
    CHECK(pwm_preset(&c, "hopper", "quick", err, sizeof err) == 0, "%s", err);
    static const char *data[2];
    c.wm = fixture(&data[0], 0);
    c.data = data;
    c.envs = 3, c.horizon = 5, c.epochs = 3, c.eval_episodes = 2, c.eval_every = 3, c.save_every = 1;
    c.actor_units = "16,8", c.critic_units = "16", c.critic_minibatches = 3;
    c.wm_iters = 2, c.wm_batch = 4;
    return c;
}

TEST(actor_gradient_matches_differences) {
    // the whole actor loss (actor on the detached latent, the model's reward and dynamics, the
    // min over the critics at segment ends, resets to encoded observations) against central
    // differences in 12 actor weights, the actor's inputs held at the latents (they enter the loss
    // through sg()); online (real environments in lock-step) and offline, with the fixes and with
    // the original's quirks, offline through a termination head (survival-weighted rewards), and
    // offline with the behaviour-cloning term (--bc-weight), and online with 4 critics (more
    // inputs to the min than nn_custom used to take).
    // Measured: rel L2 ≈ 1e-3 for eps 1e-2 (without holding the inputs: 0.3, the detached path)
    for (int mode = 0; mode < 6; mode++) {
        pwm_config c = small();
        if (mode == 5) c.critics = 4;
        c.horizon = 8;
        c.offline = mode == 1 || mode == 3 || mode == 4;
        c.reproduce_original = mode == 2;
        c.bc_weight = mode == 4 ? 2.0 : 0.0;
        const char *unused;
        if (mode == 3) c.wm = fixture(&unused, 1);  // offline through a termination head
        double max_rel, rel_l2;
        char err[512];
        CHECK(pwm_actor_gradcheck(&c, 12, 3e-3, &max_rel, &rel_l2, err, sizeof err) == 0, "%s", err);
        CHECK(rel_l2 < 1e-2 && max_rel < 3e-2, "mode %d: actor gradient rel L2 %.3g, max rel %.3g", mode, rel_l2,
              max_rel);
    }
}

TEST(true_source_gradient_matches_differences) {
    // --gradient true on PWM's networks: the real rollout's loss (actor on the encoded observations,
    // rewards, the critics' min at the encoded real states, recorded Jacobians, the encoder's own
    // derivative d enc(o)/d o) against central differences in 12 actor weights; centred Jacobians,
    // as SHAC's check (tests/test_shac.c), the log-std above --logstd-min (a clamped one has no
    // difference). Measured: rel L2 2e-4, max rel 8e-3; with the encoder's input detached (no
    // d enc(o)/d o) rel L2 0.17
    pwm_config c = small();
    c.gradient = PWM_GRADIENT_TRUE, c.horizon = 3, c.physics.centered = 1, c.logstd_init = -2.0, c.logstd_min = -3.0;
    double max_rel, rel_l2;
    char err[512];
    CHECK(pwm_actor_gradcheck(&c, 12, 1e-3, &max_rel, &rel_l2, err, sizeof err) == 0, "%s", err);
    CHECK(rel_l2 < 5e-3 && max_rel < 5e-2, "actor gradient rel L2 %.3g, max rel %.3g", rel_l2, max_rel);
}

// a run of c in test_tmpdir()/name (resume: continuing it) on `threads`; its log.csv without the
// wall time into log
static void train_logged(const pwm_config *c, const char *name, int resume, int threads, char *log, size_t n) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    CHECK(nn_mkdirs(dir) == 0, "mkdir %s", dir);
    CHECK(pwm_train(c, dir, resume, threads) == 0, "run %s failed", name);
    test_read_log(dir, log, n);
}

TEST(true_source_trains_and_resumes) {
    // pwm train --gradient true: a run stopped after epoch 2 and resumed logs what one that ran
    // through does (2 threads against 1); the model source's run differs; the policy evaluates
    pwm_config c = small();
    c.gradient = PWM_GRADIENT_TRUE;
    static char a[65536], r[65536], m[65536];
    train_logged(&c, "true_a", 0, 1, a, sizeof a);
    c.stop_after = 2;
    train_logged(&c, "true_r", 0, 2, r, sizeof r);
    c.stop_after = 0;
    train_logged(&c, "true_r", 1, 2, r, sizeof r);
    CHECK(!strcmp(a, r), "the resumed run differs:\n%s\nvs\n%s", a, r);
    c.gradient = PWM_GRADIENT_MODEL;
    train_logged(&c, "true_m", 0, 1, m, sizeof m);
    CHECK(strcmp(a, m), "the true and model sources logged the same run:\n%s", a);
    double mean, std;
    char err[512], path[1024];
    snprintf(path, sizeof path, "%s/true_a/final.safetensors", test_tmpdir());
    CHECK(policy_evaluate("hopper", path, 2, 1, &c.physics, &mean, &std, err, sizeof err) == 0, "%s", err);
    CHECK(isfinite(mean) && mean != 0, "evaluation return %g", mean);
    // an offline run has no environments to differentiate through
    c.gradient = PWM_GRADIENT_TRUE, c.offline = 1;
    CHECK(pwm_actor_gradcheck(&c, 1, 1e-3, &mean, &std, err, sizeof err) != 0 && strstr(err, "--gradient true"),
          "--gradient true --offline accepted: %s", err);
}

TEST(bootstrap_and_edge_case_decisions) {
    // three environments at the window's last step, each 16 steps into its segment: open, truncated
    // and terminated right there
    double gamma = 0.99, gam[3];
    for (int i = 0; i < 3; i++) gam[i] = pow(gamma, 15);
    unsigned char term[3] = {0, 0, 1}, trunc[3] = {0, 1, 0};
    float boot[3], keep[3], close[3];
    pwm_close_weights(3, 1, gamma, gam, term, trunc, 0, boot, keep, close);
    // fixed: γ^16 = γ^H for a whole window; the truncated segment keeps its rewards and bootstraps
    // V(z_pred) with γ^16; the terminated one keeps its rewards, bootstrap 0
    CHECK_CLOSE(boot[0], pow(gamma, 16), 1e-6, 0);
    CHECK_CLOSE(boot[1], pow(gamma, 16), 1e-6, 0);
    CHECK(boot[2] == 0 && keep[0] == 1 && keep[1] == 1 && keep[2] == 1, "fixed weights %g %g %g", keep[0], keep[1],
          keep[2]);
    CHECK(close[0] == 1 && close[1] == 1 && close[2] == 1, "every segment closes at the window's end");
    pwm_close_weights(3, 1, gamma, gam, term, trunc, 1, boot, keep, close);
    // the public code: γ^{H+1} for the open segment; the done ones lose their rewards
    CHECK_CLOSE(boot[0], pow(gamma, 17), 1e-6, 0);
    CHECK_CLOSE(boot[1], gamma, 1e-6, 0);
    CHECK(boot[2] == 0 && keep[0] == 1 && keep[1] == 0 && keep[2] == 0, "original weights");
    // inside the window only finished segments close, the same way in both
    for (int orig = 0; orig < 2; orig++) {
        pwm_close_weights(3, 0, gamma, gam, term, trunc, orig, boot, keep, close);
        CHECK(close[0] == 0 && close[1] == 1 && close[2] == 1 && keep[1] == 1, "mid-window closes (orig %d)", orig);
        CHECK_CLOSE(boot[1], pow(gamma, 16), 1e-6, 0);
    }
}

TEST(offline_targets) {
    // offline windows without terminations: the fix gives TD(λ) targets; the original's done flag
    // at every step collapses them to one-step r + γV
    enum { N = 2, H = 6 };
    float rew[H * N], val[H * N], done[H * N], t_fix[H * N], t_orig[H * N];
    for (int j = 0; j < H * N; j++) rew[j] = 0.1f * (float)(j % 5) - 0.2f, val[j] = 1.0f + 0.05f * (float)j;
    for (int k = 0; k < H; k++)
        for (int i = 0; i < N; i++) done[k * N + i] = pwm_done_flag(0, k == H - 1, 1, 0);
    lrn_td_lambda(N, H, 0.99, 0.95, rew, done, val, t_fix);
    for (int k = 0; k < H; k++)
        for (int i = 0; i < N; i++) done[k * N + i] = pwm_done_flag(0, k == H - 1, 1, 1);
    lrn_td_lambda(N, H, 0.99, 0.95, rew, done, val, t_orig);
    double diff = 0;
    for (int j = 0; j < H * N; j++) {
        CHECK_CLOSE(t_orig[j], rew[j] + 0.99 * val[j], 1e-5, 1e-6);
        diff = fmax(diff, fabs(t_fix[j] - t_orig[j]));
    }
    CHECK(diff > 1e-3, "the fixed targets are one-step too (max diff %g)", diff);
    // TD(λ) at the first step by hand: (1−λ)Σ_n λ^{n−1} G_n + λ^{H−1} G_H
    double lam = 0.95, g = 0.99, G = 0, acc = 0;
    for (int n = 1; n <= H; n++) {
        G += pow(g, n - 1) * rew[(n - 1) * N];
        double Gn = G + pow(g, n) * val[(n - 1) * N];
        acc += (n < H ? (1 - lam) * pow(lam, n - 1) : pow(lam, H - 1)) * Gn;
    }
    CHECK_CLOSE(t_fix[0], acc, 1e-4, 1e-6);
}

TEST(reproducible_resumable_and_evaluates) {
    // same seed on 1 and 2 threads: the same log; stopped after epoch 2 and resumed (the online
    // dataset cut back to the checkpoint, the unfinished episodes restored): the same log
    pwm_config c = small();
    c.epochs = 4;
    char dir[3][512], path[1600];
    const char *names[3] = {"pwm_a", "pwm_b", "pwm_r"};
    static char logs[3][65536];
    for (int i = 0; i < 3; i++) {
        snprintf(dir[i], sizeof dir[i], "%s/%s", test_tmpdir(), names[i]);
        CHECK(nn_mkdirs(dir[i]) == 0, "mkdir %s", dir[i]);
    }
    CHECK(pwm_train(&c, dir[0], 0, 2) == 0, "run a failed");
    CHECK(pwm_train(&c, dir[1], 0, 1) == 0, "run b failed");
    c.stop_after = 2;
    CHECK(pwm_train(&c, dir[2], 0, 2) == 0, "run r failed");
    c.stop_after = 0;
    CHECK(pwm_train(&c, dir[2], 1, 2) == 0, "resume failed");
    for (int i = 0; i < 3; i++) test_read_log(dir[i], logs[i], sizeof logs[i]);
    CHECK(!strcmp(logs[0], logs[1]), "1-thread and 2-thread runs differ:\n%s\nvs\n%s", logs[0], logs[1]);
    CHECK(!strcmp(logs[0], logs[2]), "the resumed run differs:\n%s\nvs\n%s", logs[0], logs[2]);
    CHECK(pwm_train(&c, dir[0], 0, 2) != 0, "a second run overwrote the first");
    // the online episodes form a dataset
    ds_dataset d;
    char err[512];
    snprintf(path, sizeof path, "%s/online", dir[0]);
    CHECK(ds_load(path, &d, err, sizeof err) == 0, "%s", err);
    CHECK(!strcmp(d.env, "hopper") && d.n >= 1 && d.steps <= (long)c.epochs * c.envs * c.horizon,
          "online dataset: %d episodes, %ld steps", d.n, d.steps);
    ds_free(&d);
    // the final policy evaluates in the real environment, through the generic loader too
    double mean, std;
    snprintf(path, sizeof path, "%s/final.safetensors", dir[0]);
    CHECK(policy_evaluate("hopper", path, 2, 1, &c.physics, &mean, &std, err, sizeof err) == 0, "%s", err);
    CHECK(isfinite(mean) && mean != 0, "evaluation return %g", mean);
    CHECK(policy_evaluate("ant", path, 2, 1, &c.physics, &mean, &std, err, sizeof err) != 0 && strstr(err, "hopper"),
          "a hopper policy evaluated on the ant: %s", err);
    // offline: no environment steps, still evaluated in MuJoCo
    c.offline = 1;
    char off[512];
    snprintf(off, sizeof off, "%s/pwm_off", test_tmpdir());
    CHECK(nn_mkdirs(off) == 0, "mkdir");
    CHECK(pwm_train(&c, off, 0, 2) == 0, "offline run failed");
    snprintf(path, sizeof path, "%s/eval.csv", off);
    test_read_file(path, logs[0], sizeof logs[0]);
    CHECK(strstr(logs[0], ",0\n"), "offline run took environment steps: %s", logs[0]);
}

TEST(a_finished_run_extends_to_a_longer_one) {
    // a finished 2-epoch run continued with --resume and 4 epochs logs from epoch 3 on what one
    // 4-epoch run logs: the learning rates decay over --lr-decay-epochs (the preset's 15,000), not
    // over --epochs, and the finished run's final evaluations leave the training state alone (its
    // log keeps the one extra evaluation, at epoch 2). With --lr-decay-epochs 0 (decay over
    // --epochs) the two schedules part after epoch 1, and so do the logs.
    pwm_config c = small();
    static char a[65536], x[65536];
    char dir[512];
    for (int decay_over_epochs = 0; decay_over_epochs < 2; decay_over_epochs++) {
        c.lr_decay_epochs = decay_over_epochs ? 0 : 15000, c.epochs = 4;
        train_logged(&c, decay_over_epochs ? "pwm_longer_lr0" : "pwm_longer", 0, 1, a, sizeof a);
        c.epochs = 2;
        const char *name = decay_over_epochs ? "pwm_extend_lr0" : "pwm_extend";
        train_logged(&c, name, 0, 1, x, sizeof x);
        snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
        CHECK(rundir_state_of(dir) == RUNDIR_FINISHED, "the 2-epoch run did not finish");
        c.epochs = 4;
        train_logged(&c, name, 1, 1, x, sizeof x);
        const char *ta = strstr(a, "\n3,"), *tx = strstr(x, "\n3,"), *ua = strstr(a, "\n2,"), *ux = strstr(x, "\n2,");
        CHECK(ta && tx && ua && ux, "epochs missing:\n%s\nvs\n%s", a, x);
        if (!(ta && tx && ua && ux)) return;
        int same = !strcmp(ta, tx) && ua - a == ux - x && !strncmp(a, x, (size_t)(ua - a));
        CHECK(same == !decay_over_epochs, "decay over %s: the extended run %s the straight one:\n%s\nvs\n%s",
              decay_over_epochs ? "--epochs" : "15,000 epochs", same ? "equals" : "differs from", a, x);
    }
}

TEST(bench_epochs_are_the_learners) {
    // pwm_bench_epochs (what `pwm bench nn` times) runs pwm train's own epoch: on the same model,
    // data and settings its first epoch logs what an offline pwm_train logs (the actor's loss and
    // gradient norm, the critics' loss; the bench fine-tunes the model after them), and every part
    // reports a finite time
    const char *data;
    fixture(&data, 0);
    pwm_config c = small();
    c.offline = 1, c.epochs = 1, c.eval_every = 1, c.save_every = 1;
    wm_config wc = {.obs_dim = 11, .act_dim = 3, .latent = 16, .enc_dim = 16, .enc_layers = 1, .mlp_dim = 16,
                    .activation = WM_SIMNORM};
    char wm_path[512], dir[512], path[600], err[512];
    snprintf(wm_path, sizeof wm_path, "%s/pwm_bench_wm.safetensors", test_tmpdir());
    snprintf(dir, sizeof dir, "%s/pwm_bench", test_tmpdir());
    world_model w;
    wm_init(&w, &wc, (unsigned long)c.seed);
    snprintf(w.tasks, sizeof w.tasks, "hopper");
    nn_rms rms;
    nn_rms_init(&rms, 1, 1e-5f, 5.0f);
    CHECK(wm_save(&w, NULL, &rms, 0, wm_path, err, sizeof err) == 0, "%s", err);
    nn_rms_free(&rms), wm_free(&w);
    c.wm = wm_path;
    CHECK(nn_mkdirs(dir) == 0, "mkdir %s", dir);
    CHECK(pwm_train(&c, dir, 0, 1) == 0, "offline run failed");
    static char log[4096];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    test_read_file(path, log, sizeof log);
    ds_dataset d;
    CHECK(ds_load(data, &d, err, sizeof err) == 0, "%s", err);
    pwm_bench_result r;
    nn_set_threads(1);
    CHECK(pwm_bench_epochs(&c, &wc, d.eps, d.n, 0, 1, &r, err, sizeof err) == 0, "%s", err);
    ds_free(&d);
    // log.csv: ...,actor_loss,actor_grad_norm,critic_loss,wm_loss,skipped
    char want[256];
    snprintf(want, sizeof want, ",%.6g,%.6g,%.6g,", r.actor_loss, r.grad_norm, r.critic_loss);
    CHECK(strstr(log, want), "the bench's first epoch (%s) is not pwm train's:\n%s", want, log);
    CHECK(isfinite(r.wm_loss) && r.wm_loss > 0, "the bench did not fine-tune the model: %g", r.wm_loss);
    double parts[5] = {r.actor_s, r.update_s, r.critic_s, r.wm_s, r.epoch_s};
    for (int i = 0; i < 5; i++) CHECK(isfinite(parts[i]) && parts[i] >= 0, "part %d: %g s", i, parts[i]);
    CHECK(r.epoch_s >= r.actor_s && r.epoch_s >= r.critic_s && r.epoch_s >= r.wm_s && r.epoch_s > 0, "epoch %g s", r.epoch_s);
    CHECK(r.actor && r.actor_count > 0 && isfinite(r.actor[0]), "the actor's values");
    nn_free(r.actor);
}

TEST(bad_inputs) {
    pwm_config c = small();
    char dir[512];
    snprintf(dir, sizeof dir, "%s/pwm_bad", test_tmpdir());
    CHECK(nn_mkdirs(dir) == 0, "mkdir");
    c.wm = "/nonexistent/wm.safetensors";
    CHECK(pwm_train(&c, dir, 0, 1) != 0, "a missing world model was accepted");
    c = small();
    c.env = "ant";  // a Hopper model for the Ant
    CHECK(pwm_train(&c, dir, 0, 1) != 0, "a Hopper world model was used for the Ant");
    c = small();
    c.offline = 1, c.data = NULL;
    CHECK(pwm_train(&c, dir, 0, 1) != 0, "offline without start states");
    c = small();
    c.bc_weight = 1.0;  // the behaviour-cloning term needs dataset start states (offline)
    CHECK(pwm_train(&c, dir, 0, 1) != 0, "--bc-weight accepted online");
    c = small();
    CHECK(pwm_train(&c, dir, 1, 1) != 0, "resumed without a checkpoint");
}

TEST(extensions_change_the_run_and_resume) {
    // --closed-loop, --target-alpha and --critic-data real, each on its own and all together: each
    // changes the numbers (none is a no-op), and the combined run resumes bit for bit (the target
    // critics travel in the checkpoint)
    pwm_config base = small();
    base.epochs = 2;
    char dir[6][512];
    static char txt[6][65536];
    for (int i = 0; i < 6; i++) {
        pwm_config c = base;
        if (i == 1 || i >= 4) c.closed_loop = 1;
        if (i == 2 || i >= 4) c.target_alpha = 0.5;
        if (i == 3 || i >= 4) c.critic_data = PWM_CRITIC_REAL;
        snprintf(dir[i], sizeof dir[i], "%s/pwm_ext%d", test_tmpdir(), i);
        CHECK(nn_mkdirs(dir[i]) == 0, "mkdir %s", dir[i]);
        if (i == 5) {
            c.stop_after = 1;
            CHECK(pwm_train(&c, dir[i], 0, 1) == 0, "run %d failed", i);
            c.stop_after = 0;
            CHECK(pwm_train(&c, dir[i], 1, 1) == 0, "resume failed");
        } else {
            CHECK(pwm_train(&c, dir[i], 0, 1) == 0, "run %d failed", i);
        }
        test_read_log(dir[i], txt[i], sizeof txt[i]);
    }
    for (int i = 1; i < 5; i++) CHECK(strcmp(txt[0], txt[i]), "variant %d logged the default run's numbers", i);
    CHECK(!strcmp(txt[4], txt[5]), "the resumed run differs:\n%s\nvs\n%s", txt[4], txt[5]);
}

// the actor's values under prefix ("a/": the actor, "m/": its average) in checkpoint path, in the
// file's order, into v (cap floats at most); returns how many
static size_t ckpt_actor(const char *path, const char *prefix, float *v, size_t cap) {
    st_file f;
    char err[512];
    CHECK(st_read(path, &f, err, sizeof err) == 0, "%s", err);
    size_t n = 0, plen = strlen(prefix);
    for (int i = 0; i < f.n; i++) {
        const st_entry *e = &f.entries[i];
        if (strncmp(e->name, prefix, plen) || strncmp(e->name + plen, "actor.", 6)) continue;
        CHECK(n + e->nbytes / sizeof(float) <= cap, "%s: more actor values than %zu", path, cap);
        memcpy(v + n, st_data(&f, e), e->nbytes);
        n += e->nbytes / sizeof(float);
    }
    st_free(&f);
    return n;
}

TEST(actor_average_is_the_evaluated_policy) {
    // --actor-average 3 over 4 epochs, stopped and resumed after every epoch: the training columns
    // of its log are the plain run's (only the evaluations differ), its final "m/" actor is
    // theta1, (theta1 + theta2)/2, (theta1 + theta2 + theta3)/3, then 2/3 avg + 1/3 theta4 of the
    // iterates read from each epoch's checkpoint, and a loaded policy reads it; the actor's own
    // evaluations (log.csv's eval_actor, eval.csv's actor columns) are the plain run's; --actor-average 1
    // logs the plain run exactly but for that column; resuming across the flag is refused with a message
    enum { CAP = 4096 };
    pwm_config c = small();
    c.epochs = 4, c.eval_every = 2;
    static char plain[65536], one[65536], avg[65536];
    static float theta[4][CAP], m[CAP], a[CAP], want[CAP];
    char path[1024], err[512];
    train_logged(&c, "avg_plain", 0, 1, plain, sizeof plain);
    c.actor_average = 1;
    train_logged(&c, "avg_one", 0, 1, one, sizeof one);
    test_take_actor_column(one, plain);
    CHECK(!strcmp(plain, one), "--actor-average 1 changed the run:\n%s\nvs\n%s", plain, one);
    c.actor_average = 3;
    size_t n = 0;
    for (int ep = 1; ep <= 4; ep++) {
        c.stop_after = ep < 4 ? ep : 0;
        train_logged(&c, "avg_three", ep > 1, 1, avg, sizeof avg);
        snprintf(path, sizeof path, "%s/avg_three/ckpt.safetensors", test_tmpdir());
        n = ckpt_actor(path, "a/", theta[ep - 1], CAP);
    }
    test_take_actor_column(avg, plain);
    CHECK(strcmp(plain, avg), "the average's evaluations are the actor's:\n%s", avg);
    test_strip_column(plain, 4), test_strip_column(avg, 4);
    CHECK(!strcmp(plain, avg), "averaging changed the training:\n%s\nvs\n%s", plain, avg);
    // eval.csv: the average's final evaluation, then the actor's, which is the plain run's
    static char ev[2][512];
    const char *run[2] = {"avg_plain", "avg_three"};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s/eval.csv", test_tmpdir(), run[k]);
        test_read_file(path, ev[k], sizeof ev[k]);
    }
    int eps;
    double pm, ps, am, as, xm, xs;
    long steps;
    CHECK(sscanf(strchr(ev[0], '\n'), "%d,%lf,%lf,%ld", &eps, &pm, &ps, &steps) == 4, "plain eval.csv: %s", ev[0]);
    CHECK(strstr(ev[1], ",actor_mean_return,actor_std_return\n") &&
          sscanf(strchr(ev[1], '\n'), "%d,%lf,%lf,%ld,%lf,%lf", &eps, &am, &as, &steps, &xm, &xs) == 6 &&
          xm == pm && xs == ps && am != pm, "averaged eval.csv %s against the plain run's %s", ev[1], ev[0]);
    snprintf(path, sizeof path, "%s/avg_three/final.safetensors", test_tmpdir());
    CHECK(ckpt_actor(path, "m/", m, CAP) == n && n > 0, "final.safetensors: no actor average of %zu values", n);
    CHECK(ckpt_actor(path, "a/", a, CAP) == n && !memcmp(a, theta[3], sizeof(float) * n), "final's actor is not epoch 4's");
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double mean3 = ((double)theta[0][i] + theta[1][i] + theta[2][i]) / 3;
        want[i] = (float)(2.0 / 3 * mean3 + 1.0 / 3 * theta[3][i]);
        worst = fmax(worst, fabs(want[i] - m[i]) / (fabs(want[i]) + 1e-3));
    }
    CHECK(worst < 1e-5 && memcmp(m, theta[3], sizeof(float) * n), "average off by %.3g (relative)", worst);
    pwm_policy *p = pwm_policy_load(path, "hopper", err, sizeof err);
    CHECK(p, "%s", err);
    const nn_params *pp = pwm_policy_params(p);
    st_file f;
    CHECK(st_read(path, &f, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < pp->n; i++) {
        char name[300];
        snprintf(name, sizeof name, "m/%s", pp->list[i].name);
        const st_entry *e = st_find(&f, name);
        CHECK(e && e->nbytes == sizeof(float) * pp->list[i].t.n * pp->list[i].t.d &&
              !memcmp(st_data(&f, e), pp->values + pp->list[i].offset, e->nbytes), "the loaded policy's %s is not %s",
              pp->list[i].name, name);
    }
    st_free(&f);
    pwm_policy_free(p);
    // `pwm eval` of final.safetensors from the start states the help names repeats eval.csv's figure
    double em, es;
    char got[32], want_ev[32];
    CHECK(policy_evaluate("hopper", path, eps, c.seed + LRN_FINAL_SEED, &c.physics, &em, &es, err, sizeof err) == 0,
          "%s", err);
    snprintf(got, sizeof got, "%.6g", em), snprintf(want_ev, sizeof want_ev, "%.6g", am);
    CHECK(!strcmp(got, want_ev), "pwm eval of final.safetensors: %s, eval.csv: %s", got, want_ev);
    // a run with the average resumed without it, and a plain one resumed with it
    char dir[2][512];
    snprintf(dir[0], sizeof dir[0], "%s/avg_three", test_tmpdir());
    snprintf(dir[1], sizeof dir[1], "%s/avg_plain", test_tmpdir());
    for (int k = 0; k < 2; k++) {
        pwm_config b = small();
        b.epochs = 6, b.actor_average = k ? 3 : 0;
        CHECK(pwm_train(&b, dir[k], 1, 1) != 0, "case %d resumed across --actor-average", k);
    }
    c.epochs = 5;
    CHECK(pwm_train(&c, dir[0], 1, 1) == 0, "the averaged run did not continue with its own options");
}

TEST(diagnose_every_rows_survive_resume) {
    // --diagnose-every 1: a row per epoch in DIR/diagnose.csv; a run stopped after epoch 1 and
    // resumed writes the same rows as one run straight through, and the log is unchanged by it
    pwm_config c = small();
    c.epochs = 2, c.diagnose_every = 1;
    char dir[3][512], path[1600];
    static char txt[3][65536];
    for (int i = 0; i < 3; i++) {
        snprintf(dir[i], sizeof dir[i], "%s/pwm_diag%d", test_tmpdir(), i);
        CHECK(nn_mkdirs(dir[i]) == 0, "mkdir %s", dir[i]);
    }
    CHECK(pwm_train(&c, dir[0], 0, 1) == 0, "run failed");
    c.stop_after = 1;
    CHECK(pwm_train(&c, dir[1], 0, 1) == 0, "run failed");
    c.stop_after = 0;
    CHECK(pwm_train(&c, dir[1], 1, 1) == 0, "resume failed");
    c.diagnose_every = 0;
    CHECK(pwm_train(&c, dir[2], 0, 1) == 0, "run failed");
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/diagnose.csv", dir[i]);
        test_read_file(path, txt[i], sizeof txt[i]);
    }
    CHECK(!strncmp(txt[0], "epoch,", 6) && strstr(txt[0], "\n1,") && strstr(txt[0], "\n2,"),
          "diagnose.csv should have rows for epochs 1 and 2:\n%s", txt[0]);
    CHECK(!strcmp(txt[0], txt[1]), "the resumed run's diagnose.csv differs:\n%s\nvs\n%s", txt[0], txt[1]);
    for (int i = 0; i < 3; i += 2) test_read_log(dir[i], txt[i], sizeof txt[i]);
    CHECK(!strcmp(txt[0], txt[2]), "diagnosing changed the run:\n%s\nvs\n%s", txt[0], txt[2]);
}

TEST(compare_end_to_end) {
    // a tiny comparison through the program's own stages (build/pwm, built with the tests), with
    // stiffer contacts: the three methods' curves, the summary and the plots
    if (!nn_file_exists("build/pwm")) test_skip("build/pwm not built (run from the repository root after make)");
    compare_config c = {.env = "hopper", .preset = "quick", .seeds = 1, .threads = 1, .budget = 4096, .collect = 1024,
                        .wm_steps = 4, .wm_size = "small", .evals = 1, .contact_stiffness = 12642,
                        .contact_damping = 126.4, .device = "auto"};
    char out[512], path[700];
    snprintf(out, sizeof out, "%s/compare", test_tmpdir());
    c.out = out;
    CHECK(compare_run(&c, "build/pwm") == 0, "compare failed");
    static char csv[65536];
    snprintf(path, sizeof path, "%s/compare.csv", out);
    test_read_file(path, csv, sizeof csv);
    CHECK(strstr(csv, "\nshac,0,4096,") && strstr(csv, "\npwm,0,4096,") && strstr(csv, "\nppo,0,4096,"),
          "compare.csv:\n%s", csv);
    const char *files[] = {"summary.md", "summary.csv", "peaks.csv", "return_vs_steps.png", "return_vs_time.png"};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", out, files[i]);
        CHECK(nn_file_exists(path), "%s missing", path);
    }
    // the contact override reached every stage
    const char *cfgs[] = {"shac-seed0/config.txt", "pwm-seed0/run/config.txt", "ppo-seed0/config.txt"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", out, cfgs[i]);
        test_read_file(path, csv, sizeof csv);
        CHECK(strstr(csv, "contact-stiffness = 12642"), "%s lacks the contact override", path);
    }
    // --device auto reached PWM's pretraining and training: each stage either notes its fallback to
    // the CPU or names the GPU it took
    snprintf(path, sizeof path, "%s/pwm-seed0/stages.log", out);
    test_read_file(path, csv, sizeof csv);
    int took = 0;
    for (const char *p = csv; (p = strstr(p, "--device auto: using the CPU")); p++) took++;
    for (const char *p = csv; (p = strstr(p, "device cuda (")); p++) took++;
    CHECK(took == 2, "--device auto did not reach both PWM stages (%d):\n%s", took, csv);
    snprintf(path, sizeof path, "%s/pwm-seed0/run/config.txt", out);
    test_read_file(path, csv, sizeof csv);
    CHECK(strstr(csv, "\ndevice = auto\n"), "%s does not record --device auto:\n%s", path, csv);
    // a second invocation finds every stage done
    CHECK(compare_run(&c, "build/pwm") == 0, "re-run failed");
}

TEST(compare_pretrained_protocol) {
    // the paper's protocol, tiny: a 2-epoch SHAC run's whole history plus random episodes as the
    // data (recipe in dataset.txt), one world model for both seeds, the online budget alone counted
    if (!nn_file_exists("build/pwm")) test_skip("build/pwm not built (run from the repository root after make)");
    compare_config c = {.env = "hopper", .preset = "quick", .protocol = "pretrained", .seeds = 2, .threads = 1,
                        .budget = 2048, .collect = 500, .data_epochs = 2, .data_seed = 101, .wm_steps = 3,
                        .wm_size = "small", .evals = 1, .contact_stiffness = -1, .pwm_extra = " --closed-loop "};
    char out[512], path[700];
    snprintf(out, sizeof out, "%s/compare-pre", test_tmpdir());
    c.out = out;
    CHECK(compare_run(&c, "build/pwm") == 0, "compare failed");
    static char txt[65536];
    snprintf(path, sizeof path, "%s/pretrain/data/dataset.txt", out);
    test_read_file(path, txt, sizeof txt);
    CHECK(strstr(txt, "source = pwm shac --env hopper --preset quick --seed 101") &&
          strstr(txt, "its whole learning history, 2048 transitions") &&
          strstr(txt, "source = pwm collect --env hopper --policy random --steps 500 --seed 101: 512 transitions"),
          "the recipe is not in dataset.txt:\n%s", txt);
    // both seeds start from the one pretrained model, and their curves start at 0 steps
    for (int s = 0; s < 2; s++) {
        snprintf(path, sizeof path, "%s/pwm-seed%d/run/config.txt", out, s);
        test_read_file(path, txt, sizeof txt);
        CHECK(strstr(txt, "/pretrain/wm.safetensors") && strstr(txt, "/pretrain/data"), "%s:\n%s", path, txt);
        // the paper's fine-tuning steps, and --pwm-extra reached the run
        CHECK(strstr(txt, "wm-iters = 8") && strstr(txt, "closed-loop = true"), "%s:\n%s", path, txt);
        snprintf(path, sizeof path, "%s/pwm-seed%d/wm.done", out, s);
        CHECK(!nn_file_exists(path), "seed %d trained a world model of its own", s);
    }
    snprintf(path, sizeof path, "%s/compare.csv", out);
    test_read_file(path, txt, sizeof txt);
    CHECK(strstr(txt, "\nshac,1,2048,") && strstr(txt, "\npwm,1,2048,"), "compare.csv:\n%s", txt);
    snprintf(path, sizeof path, "%s/summary.md", out);
    test_read_file(path, txt, sizeof txt);
    CHECK(strstr(txt, "--protocol pretrained") && strstr(txt, "Protocol: pretrained") && strstr(txt, "--budget 2048"),
          "summary.md:\n%s", txt);
    // SHAC alone under the pretrained protocol: the summary says which protocol ran, and that nothing was pretrained
    char out2[600];
    compare_config c2 = c;
    c2.methods = "shac", c2.seeds = 1;
    snprintf(out2, sizeof out2, "%s-shac", out);
    c2.out = out2;
    CHECK(compare_run(&c2, "build/pwm") == 0, "compare --methods shac failed");
    static char txt2[65536];
    snprintf(path, sizeof path, "%s/summary.md", out2);
    test_read_file(path, txt2, sizeof txt2);
    CHECK(strstr(txt2, "Protocol: pretrained") && strstr(txt2, "nothing was pretrained"), "summary.md:\n%s", txt2);
    // every run was written by build/pwm: its commit, from a run's config.txt header, listed once
    char want[200], commit[64] = "", cfg[4096];
    snprintf(path, sizeof path, "%s/shac-seed1/config.txt", out);
    test_read_file(path, cfg, sizeof cfg);
    const char *at = strstr(cfg, ARGS_COMMIT_TAG);
    CHECK(at && sscanf(at + strlen(ARGS_COMMIT_TAG), "%63s", commit) == 1, "%s has no commit:\n%s", path, cfg);
    snprintf(want, sizeof want, "Commits of the runs (their config.txt, resumes included): %s  \n", commit);
    CHECK(strstr(txt, want), "summary.md does not list the runs' commit once (%s):\n%s", commit, txt);
    // a run resumed by another binary, and the shared data and model given: the re-run only merges,
    // and its summary names both commits and the given model
    snprintf(path, sizeof path, "%s/pwm-seed1/run/config.txt", out);
    FILE *f = fopen(path, "a");
    CHECK(f && fprintf(f, "# resumed with git commit 0123456789ab\n") > 0 && !fclose(f), "cannot append to %s", path);
    char pdata[600], wmf[600];
    snprintf(pdata, sizeof pdata, "%s/pretrain/data", out), snprintf(wmf, sizeof wmf, "%s/pretrain/wm.safetensors", out);
    c.pretrain_data = pdata, c.pretrain_wm = wmf;
    CHECK(compare_run(&c, "build/pwm") == 0, "re-run failed");
    snprintf(path, sizeof path, "%s/summary.md", out);
    test_read_file(path, txt, sizeof txt);
    snprintf(want, sizeof want, "Commits of the runs (their config.txt, resumes included): %s 0123456789ab  \n",
             commit);
    CHECK(strstr(txt, want) && strstr(txt, "given: ") && strstr(txt, "--pretrain-wm ") && strstr(txt, "--pretrain-data "),
          "summary.md after a re-run with the model given:\n%s", txt);
}

TEST(replay_keeps_its_capacity) {
    // episodes of 10, 20, 30, 40 transitions into a buffer of 60: the oldest leave, the newest
    // always stays (even alone past the capacity), the copies are the buffer's own
    replay r;
    replay_init(&r, 60);
    ds_episode ep[4];
    for (int k = 0; k < 4; k++) {
        ds_episode_alloc(&ep[k], 10 * (k + 1), 2, 1);
        for (int t = 0; t <= ep[k].T; t++) ep[k].obs[2 * t] = (float)k;
    }
    replay_push(&r, &ep[0], 0);
    replay_push_copy(&r, &ep[1]);
    replay_push_copy(&r, &ep[2]);
    CHECK(r.n == 3 && r.steps == 60, "held %d episodes, %ld steps", r.n, r.steps);
    replay_push_copy(&r, &ep[3]);
    // 100 > 60: the first two leave (30 + 40 = 70 still > 60: the third too), the newest stays
    CHECK(r.n == 1 && r.steps == 40 && r.eps[0]->obs[0] == 3.0f && r.eps[0] != &ep[3] && r.owned[0],
          "held %d episodes, %ld steps", r.n, r.steps);
    replay_free(&r);
    for (int k = 0; k < 4; k++) ds_episode_free(&ep[k]);
}

TEST(critic_data_modes_feed_the_critics) {
    // one window (H 6, 3 Hoppers) of a fresh learner under each --critic-data: the actor's loss is
    // the same under all three (the critics' data does not enter it); model and real-targets give
    // the critics the same inputs (the imagined latents), real and real-targets the same targets
    // (real rewards, ends and bootstraps), real's inputs are enc(o_k) (equal to the imagined ones
    // at k = 0 only); and the last step's bootstrap is min V of the encoded real next state
    // computed here (0 after a termination)
    enum { H = 6 };
    const int modes[3] = {PWM_CRITIC_MODEL, PWM_CRITIC_REAL, PWM_CRITIC_REAL_TARGETS};
    char err[512];
    static float in[3][H * 3 * 64], rew[3][H * 3], done[3][H * 3], nv[3][H * 3];
    float loss[3], expect[3];
    int N = 0, Z = 0;
    for (int m = 0; m < 3; m++) {
        pwm_config c = small();
        c.horizon = H, c.critic_data = modes[m];
        lrn_setup setup = {.threads = 1};
        lrn_learner *L = pwm_make(&c, &setup, err, sizeof err);
        CHECK(L, "%s", err);
        pwm *s = L->src_state;
        N = L->N, Z = s->Z;
        CHECK((size_t)H * N * Z <= sizeof in[m] / sizeof(float), "latent %d too wide for the test", Z);
        loss[m] = L->src->window(L, s);
        memcpy(in[m], L->critic_in, sizeof(float) * H * N * Z);
        memcpy(rew[m], L->rew_buf, sizeof(float) * H * N);
        memcpy(done[m], L->done_buf, sizeof(float) * H * N);
        memcpy(nv[m], L->next_val, sizeof(float) * H * N);
        if (m == 2) {
            env_batch *e = L->e;
            int O = L->O;
            double nxt[N * O];
            for (int i = 0; i < N; i++)
                memcpy(nxt + i * O, (e->term[i] || e->trunc[i] ? e->obs_final : e->obs) + i * O, sizeof(double) * O);
            nn_tensor *v = lrn_min_value(L, pwm_encode_obs(s, nxt));
            for (int i = 0; i < N; i++) expect[i] = e->term[i] ? 0.0f : v->x[i];
        }
        lrn_destroy(L);
    }
    size_t nz = (size_t)N * Z, last = (size_t)(H - 1) * N;
    CHECK(loss[0] == loss[1] && loss[0] == loss[2], "the actor's loss changed with the critics' data: %.9g %.9g %.9g",
          loss[0], loss[1], loss[2]);
    CHECK(!memcmp(in[0], in[2], sizeof(float) * H * nz), "real-targets' inputs are not the imagined latents");
    CHECK(!memcmp(in[1], in[2], sizeof(float) * nz), "k = 0: enc(o_0) is both the imagined and the real latent");
    CHECK(memcmp(in[1] + nz, in[2] + nz, sizeof(float) * (H - 1) * nz), "real's inputs are the imagined latents");
    CHECK(!memcmp(rew[1], rew[2], sizeof rew[1]) && !memcmp(nv[1], nv[2], sizeof nv[1]) &&
              !memcmp(done[1], done[2], sizeof done[1]),
          "real and real-targets fit different targets");
    CHECK(memcmp(rew[0], rew[2], sizeof rew[0]) && memcmp(nv[0], nv[2], sizeof nv[0]),
          "real-targets fits the model's rewards or bootstraps");
    CHECK(!memcmp(done[0], done[2], sizeof done[0]), "the ends differ (the same environments ran)");
    for (int i = 0; i < N; i++)
        CHECK(nv[2][last + i] == expect[i], "env %d: last bootstrap %.9g, min V(enc(o_H)) %.9g", i, nv[2][last + i],
              expect[i]);
}

// --gradient hybrid's config: the small online run with a window long enough for episode ends
static pwm_config hybrid_small(int H) {
    pwm_config c = small();
    c.gradient = PWM_GRADIENT_HYBRID, c.horizon = H;
    return c;
}

TEST(hybrid_gradient_matches_its_surrogate) {
    // the hybrid's gradient (the model's Jacobians at the real states, the task's ∂r/∂a, the
    // critics at the real next states, cuts at resets) against central differences of its own
    // surrogate loss: the window's stop-gradient values (actor inputs, offsets real − model of the
    // latents and rewards, the actions inside sg(), D, the ends) replayed with one weight moved.
    // With the fixes, with the original's quirks (the online reward statistics), and with one
    // target critic (no min node) on another seed. The window (H 64, 3 Hoppers; the first falls at
    // step 44) has episode ends, resets and clamped rewards.
    for (int mode = 0; mode < 3; mode++) {
        pwm_config c = hybrid_small(64);
        c.reproduce_original = mode == 1;
        if (mode == 2) c.critics = 1, c.target_alpha = 0.5, c.seed = 3;
        pwm_hybrid_trace t;
        char err[512];
        CHECK(pwm_hybrid_first_window(&c, &t, err, sizeof err) == 0, "%s", err);
        int ends = 0;
        for (int j = 0; j < t.H * t.N; j++) ends += t.term[j] || t.trunc[j];
        pwm_hybrid_trace_free(&t);
        CHECK(ends > 0, "mode %d: no episode ended in the window: the resets go unchecked", mode);
        double max_rel, rel_l2;
        CHECK(pwm_hybrid_gradcheck(&c, 24, 3e-3, &max_rel, &rel_l2, err, sizeof err) == 0, "%s", err);
        printf("    hybrid gradcheck mode %d: rel L2 %.3g, max rel %.3g\n", mode, rel_l2, max_rel);
        CHECK(rel_l2 < 2e-3 && max_rel < 2e-2, "mode %d: hybrid gradient rel L2 %.3g, max rel %.3g", mode, rel_l2,
              max_rel);
    }
}

// the real rewards at step k of the hopper environments (seed) driven by the actions act (H × N × A)
// of a trace, with action column j moved by delta at step k; normalised by rms in double, clamped
static void hybrid_rewards_at(const pwm_config *c, const pwm_hybrid_trace *t, const nn_rms *rms, int k, int j,
                              double delta, double *rn) {
    char err[512];
    int N = t->N, A = t->A;
    env_batch *e = env_batch_new(env_find("hopper"), &c->physics, NULL, N, (unsigned long)c->seed, 0, err, sizeof err);
    CHECK(e, "%s", err);
    double u[N * A];
    for (int s = 0; s <= k; s++) {
        for (int q = 0; q < N * A; q++) u[q] = t->act[(size_t)s * N * A + q] + (s == k && q % A == j ? delta : 0.0);
        env_step(e, u, 0);
    }
    for (int i = 0; i < N; i++) {
        double y = (e->rew[i] - (rms->scale_only ? 0.0 : rms->mean[0])) / sqrt((double)rms->var[0] + rms->eps);
        rn[i] = fmin(fmax(y, -rms->clip), rms->clip);
    }
    env_batch_free(e);
}

TEST(hybrid_window_is_the_real_return) {
    // the hybrid window's values are the real trajectory's: the same environments stepped here with
    // the actions the window took give its ends and rewards; normalised by the model's reward
    // statistics they are the window's; its latents are the encoded real observations (enc(o_reset)
    // after an end); its bootstraps are a fresh learner's min V at the encoded observation each step
    // produced (the final one at an end); the loss is −scale·mean_i Σ_segments (Σ γ^j r̃ + γ^len V) with V = 0 after a
    // termination and scale the return normaliser after this batch; and D, the reward's action
    // derivative in the backward pass, is the central difference of the real normalised reward
    pwm_config c = hybrid_small(64);
    pwm_hybrid_trace t;
    char err[512];
    CHECK(pwm_hybrid_first_window(&c, &t, err, sizeof err) == 0, "%s", err);
    int N = t.N, H = t.H, A = t.A, Z = t.Z, O = 11, ends = 0, clamped = -1;
    world_model w;
    nn_rms rms;
    nn_rms_init(&rms, 1, 1e-5f, 5.0f);
    CHECK(wm_load(&w, NULL, &rms, NULL, c.wm, err, sizeof err) == 0, "%s", err);
    nn_graph *g = nn_graph_new(0);
    env_batch *e = env_batch_new(env_find("hopper"), &c.physics, NULL, N, (unsigned long)c.seed, 0, err, sizeof err);
    CHECK(e, "%s", err);
    lrn_setup setup = {.threads = 1};
    lrn_learner *refL = pwm_make(&c, &setup, err, sizeof err);  // a fresh learner of the same config: the window's critics
    CHECK(refL, "%s", err);
    pwm *ref = refL->src_state;
    double u[N * A], L[N], G[N], gam[N];
    float of[N * O];
    for (int i = 0; i < N; i++) L[i] = G[i] = 0, gam[i] = 1;
    for (int k = 0; k < H; k++) {
        nn_graph_reset(g);
        for (int q = 0; q < N * O; q++) of[q] = (float)e->obs[q];
        nn_tensor *z = wm_encode(g, &w, nn_tensor_from(g, of, N, O, 0), NULL);
        for (int q = 0; q < N * Z; q++) CHECK_CLOSE(t.latent[(size_t)k * N * Z + q], z->x[q], 1e-5, 1e-6);
        for (int q = 0; q < N * A; q++) u[q] = t.act[k * N * A + q];
        env_step(e, u, 0);
        // the bootstrap: min_j V_j of the encoded observation the step produced
        nn_graph_reset(ref->L.g);
        nn_tensor *v = lrn_min_value(&ref->L, pwm_encode_obs(ref, e->obs_final));
        for (int i = 0; i < N; i++) CHECK_CLOSE(t.value[k * N + i], v->x[i], 1e-5, 1e-6);
        for (int i = 0; i < N; i++) {
            int j = k * N + i, done = e->term[i] || e->trunc[i];
            float r = (float)e->rew[i];
            nn_rms_normalize(&rms, &r, &r, 1);
            CHECK(t.term[j] == e->term[i] && t.trunc[j] == e->trunc[i], "step %d env %d: other ends", k, i);
            CHECK(t.rew[j] == r, "step %d env %d: reward %.9g, the environment's %.9g", k, i, t.rew[j], r);
            if (clamped < 0 && fabsf(r) >= rms.clip) clamped = k;
            G[i] += gam[i] * r;
            if (done || k == H - 1) {
                L[i] += G[i] + (e->term[i] ? 0.0 : gam[i] * c.gamma * t.value[j]);
                G[i] = 0;
            }
            gam[i] = done ? 1.0 : gam[i] * c.gamma;
            ends += done;
        }
    }
    env_batch_free(e);
    lrn_destroy(refL);
    nn_graph_free(g);
    wm_free(&w);
    CHECK(ends > 0 && clamped >= 0, "the window has %d episode ends, first clamped reward at step %d: want both", ends,
          clamped);
    // the return normaliser: Chan's merge of the batch −L into the initial (mean 0, var 1, count 1e-4)
    double mean = 0, var = 0, n0 = 1e-4, sum = 0;
    for (int i = 0; i < N; i++) mean += -L[i] / N;
    for (int i = 0; i < N; i++) var += (-L[i] - mean) * (-L[i] - mean) / N;
    double tot = n0 + N, m2 = 1.0 * n0 + var * N + mean * mean * n0 * N / tot;
    double scale = 1.0 / sqrt(m2 / tot + 1e-5);
    CHECK_CLOSE(t.ret_scale, scale, 1e-5, 0);
    for (int i = 0; i < N; i++) sum += L[i];
    CHECK_CLOSE(t.loss, -scale * sum / N, 1e-5, 1e-6);
    // D against differences of the real normalised reward: early, mid-window, at the first clamped
    // reward (D = 0 there) and after the falls
    const int steps[4] = {2, 30, clamped, 50};
    double hi[N], lo[N], delta = 1e-4;
    for (int s = 0; s < 4; s++)
        for (int j = 0; j < A; j++) {
            hybrid_rewards_at(&c, &t, &rms, steps[s], j, delta, hi);
            hybrid_rewards_at(&c, &t, &rms, steps[s], j, -delta, lo);
            for (int i = 0; i < N; i++) {
                size_t q = ((size_t)steps[s] * N + i) * A + j;
                if (fabsf(t.act[q]) > 1.0f - 1e-3f) continue;  // the environment's clip
                CHECK_CLOSE(t.drda[q], (hi[i] - lo[i]) / (2 * delta), 1e-3, 1e-6);
            }
        }
    pwm_hybrid_trace_free(&t);
    nn_rms_free(&rms);
}

TEST(hybrid_one_step_gradient_by_hand) {
    // which terms the hybrid's gradient has, written out for a one-step window (z_0 constant, no
    // end) and differentiated by the graph here: J = −scale·mean_i(Σ_j D_ij·a_ij +
    // γ·min V(d(z_0i, a_i) + sg(enc(o′_i) − d(z_0i, a_i)))), the action through the task's D and
    // the model's dynamics only (the model's reward head has no action term: R(z, sg a)). The
    // surrogate check cannot tell R(z, sg a) from R(z, a); this can.
    pwm_config c = hybrid_small(1);
    pwm_hybrid_trace t;
    char err[512];
    CHECK(pwm_hybrid_first_window(&c, &t, err, sizeof err) == 0, "%s", err);
    int N = t.N, A = t.A, Z = t.Z;
    CHECK(!t.term[0] && !t.trunc[0], "an episode ended at its first step");
    lrn_setup setup = {.threads = 1};
    lrn_learner *L = pwm_make(&c, &setup, err, sizeof err);  // a fresh learner of the same config: the same
    CHECK(L, "%s", err);                                     // networks and the same start states
    pwm *s = L->src_state;
    nn_graph *g = L->g;
    nn_graph_reset(g);
    nn_params_zero_grad(&L->ap);
    nn_tensor *z0 = pwm_encode_obs(s, L->e->obs);
    nn_rng noise;
    nn_rng_init(&noise, (unsigned long)c.seed, (1ul << 21) + 1ul);  // PWM's stream of epoch 1
    float eps[N * A], off[N * Z];
    for (int i = 0; i < N * A; i++) eps[i] = nn_rng_normal(&noise);
    nn_tensor *a = actor_forward(g, &L->act, z0, eps);
    for (int i = 0; i < N * A; i++)
        CHECK(a->x[i] == t.act[i], "action %d: %.9g, the window's %.9g", i, a->x[i], t.act[i]);
    nn_tensor *zhat = wm_dynamics(g, &s->w, z0, a, NULL);
    pwm_env_step(s, a->x);
    nn_tensor *zreal = pwm_encode_obs(s, L->e->obs_final);
    for (int i = 0; i < N * Z; i++) off[i] = zreal->x[i] - zhat->x[i];
    nn_tensor *v = lrn_min_value(L, nn_add(g, zhat, nn_tensor_from(g, off, N, Z, 0)));
    nn_tensor *ra = nn_sum_cols(g, nn_mul(g, a, nn_tensor_from(g, t.drda, N, A, 0)));
    nn_tensor *J = nn_scale(g, nn_mean(g, nn_add(g, ra, nn_scale(g, v, (float)c.gamma))), (float)-t.ret_scale);
    nn_backward(g, J);
    double d2 = 0, r2 = 0;
    for (size_t i = 0; i < t.count; i++) {
        double d = (double)L->ap.grads[i] - t.grad[i];
        d2 += d * d, r2 += (double)L->ap.grads[i] * L->ap.grads[i];
    }
    printf("    one-step gradient by hand: rel L2 %.3g\n", sqrt(d2 / fmax(r2, 1e-300)));
    CHECK(r2 > 0 && sqrt(d2 / r2) < 1e-4, "the window's gradient is not the hand-written one: rel L2 %.3g",
          sqrt(d2 / fmax(r2, 1e-300)));
    lrn_destroy(L);
    pwm_hybrid_trace_free(&t);
}

// a training run of c in a new directory DIR/name (stop > 0: stopped after that epoch, then
// resumed) and its log without the wall-time column
static void run_log(pwm_config c, const char *name, int threads, int stop, char *txt, size_t n) {
    c.stop_after = stop;
    train_logged(&c, name, 0, threads, txt, n);
    c.stop_after = 0;
    if (stop) train_logged(&c, name, 1, threads, txt, n);
}

TEST(hybrid_runs_resumes_and_refuses) {
    // pwm train --gradient hybrid: runs, differs from the model's gradient, and a run stopped
    // after epoch 1 and resumed logs the same numbers bit for bit (on another thread count);
    // offline, --closed-loop and --critic-data real are refused
    pwm_config c = small();
    c.epochs = 2;
    char path[1024];
    static char txt[3][65536];
    run_log(c, "pwm_hyb0", 1, 0, txt[0], sizeof txt[0]);
    c.gradient = PWM_GRADIENT_HYBRID;
    run_log(c, "pwm_hyb1", 2, 0, txt[1], sizeof txt[1]);
    run_log(c, "pwm_hyb2", 1, 1, txt[2], sizeof txt[2]);
    CHECK(strcmp(txt[0], txt[1]), "the hybrid run logged the model run's numbers");
    CHECK(!strcmp(txt[1], txt[2]), "the resumed hybrid run differs:\n%s\nvs\n%s", txt[1], txt[2]);
    snprintf(path, sizeof path, "%s/pwm_hyb1/final.safetensors", test_tmpdir());
    FILE *f = fopen(path, "rb");
    CHECK(f, "no final checkpoint %s", path);
    fclose(f);
    char err[512];
    for (int k = 0; k < 3; k++) {
        pwm_config b = small();
        b.gradient = PWM_GRADIENT_HYBRID;
        b.offline = k == 0, b.closed_loop = k == 1, b.critic_data = k == 2 ? PWM_CRITIC_REAL : PWM_CRITIC_MODEL;
        CHECK(pwm_check_gradient(&b, err, sizeof err) != 0 && strstr(err, "--gradient hybrid"), "case %d accepted", k);
        snprintf(path, sizeof path, "%s/pwm_hyb_bad%d", test_tmpdir(), k);
        CHECK(nn_mkdirs(path) == 0, "mkdir %s", path);
        CHECK(pwm_train(&b, path, 0, 1) != 0, "case %d trained", k);
    }
}

// every file under a directory: its path, size and CRC, a line each (nftw's order)
static char tree_txt[1 << 16];
static size_t tree_len;

static int tree_add(const char *path, const struct stat *st, int flag, struct FTW *f) {
    if (flag != FTW_F) return 0;
    files_buf b = files_load(path);
    tree_len += (size_t)snprintf(tree_txt + tree_len, sizeof tree_txt - tree_len, "%s %zu %08x\n", path, b.n,
                                 (unsigned)nn_crc32(0, b.p, b.n));
    files_free(b);
    return 0;
}

static void tree_of(const char *dir, char *out, size_t n) {
    tree_len = 0, tree_txt[0] = 0;
    CHECK(nftw(dir, tree_add, 8, FTW_PHYS) == 0, "cannot walk %s", dir);
    CHECK(tree_len < sizeof tree_txt - 1 && tree_len < n, "%s: too many files", dir);
    memcpy(out, tree_txt, tree_len + 1);
}

// the actor loss and gradient norm that dir/log.csv holds for epoch ep (columns epoch, env_steps,
// wall_s, train_return, eval_return, actor_loss, actor_grad_norm, ...)
static void actor_logged(const char *dir, int ep, double v[2]) {
    static char log[65536];
    char path[600], key[32];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    test_read_file(path, log, sizeof log);
    snprintf(key, sizeof key, "\n%d,", ep);
    const char *p = strstr(log, key);
    CHECK(p, "no epoch %d in %s:\n%s", ep, path, log);
    p++;
    for (int j = 0; j < 7; j++) {
        if (j >= 5) v[j - 5] = strtod(p, NULL);
        p = strchr(p, ',');
        CHECK(p, "a short row in %s", path);
        p++;
    }
}

TEST(sources_diagnosed_at_a_run_state) {
    // pwm diagnose --sources at a --gradient true run stopped after epoch 2. The same noise stream
    // twice (the learner reloaded in between) gives bitwise the same gradient of each source, so Var
    // is 0 and ESNR is mean(g²)/1e-9; a fresh diagnosis gives the same bits again, another stream
    // another gradient; a source's cosine with itself is 1, with another source's below 1 (the three
    // gradients differ). The run's files are unchanged, a --resume logs what the run straight through
    // logged, and its epoch 3 is stream 0 of the true source: the same loss and gradient norm.
    pwm_config c = small();
    c.gradient = PWM_GRADIENT_TRUE;
    static char straight[65536], resumed[65536], before[1 << 16], after[1 << 16];
    train_logged(&c, "src_a", 0, 1, straight, sizeof straight);
    c.stop_after = 2;
    train_logged(&c, "src_r", 0, 1, resumed, sizeof resumed);
    char dir[512], ckpt[600], err[512];
    snprintf(dir, sizeof dir, "%s/src_r", test_tmpdir());
    snprintf(ckpt, sizeof ckpt, "%s/ckpt.safetensors", dir);
    tree_of(dir, before, sizeof before);
    long same[2] = {0, 0}, two[2] = {0, 1};
    pwm_src_config dc = {2, same, 1};
    pwm_src_result a, b;
    CHECK(pwm_diag_sources(&c, ckpt, &dc, &a, err, sizeof err) == 0, "%s", err);
    dc.noise = two;
    CHECK(pwm_diag_sources(&c, ckpt, &dc, &b, err, sizeof err) == 0, "%s", err);
    CHECK(a.epoch == 2 && b.epoch == 2 && a.count == b.count && a.count > 0, "epochs %ld, %ld", a.epoch, b.epoch);
    size_t P = a.count, bytes = sizeof(double) * P;
    for (int q = 0; q < PWM_SRC_N; q++) {
        const char *name = pwm_gradient_name(q);
        double m2 = 0;
        for (size_t i = 0; i < P; i++) m2 += a.grad[q][i] * a.grad[q][i];
        CHECK(m2 > 0, "%s: a zero gradient", name);
        CHECK(!memcmp(a.grad[q], a.grad[q] + P, bytes), "%s: stream 0 twice gave two gradients", name);
        CHECK(a.var[q] == 0, "%s: Var %g over one stream twice", name, a.var[q]);
        CHECK_CLOSE(a.esnr[q], m2 / (double)P / 1e-9, 1e-12, 0);
        CHECK(!memcmp(b.grad[q], a.grad[q], bytes), "%s: stream 0 differs between two diagnoses", name);
        CHECK(memcmp(b.grad[q] + P, b.grad[q], bytes) && b.var[q] > 0 && isfinite(b.esnr[q]) && b.secs[q] > 0,
              "%s: streams 0 and 1 gave Var %g, ESNR %g", name, b.var[q], b.esnr[q]);
        CHECK_CLOSE(b.cos_mean[q][q], 1.0, 0, 1e-12);
        CHECK_CLOSE(b.cos_seed[q][q], 1.0, 0, 1e-12);
        for (int p = 0; p < PWM_SRC_N; p++)
            if (p != q)
                CHECK(b.cos_mean[q][p] == b.cos_mean[p][q] && b.cos_mean[q][p] < 1 - 1e-6 && b.cos_mean[q][p] > -1 &&
                      b.cos_seed[q][p] < 1 - 1e-6 && b.cos_seed[q][p] > -1, "cosines of %s and %s: %g, %g", name,
                      pwm_gradient_name(p), b.cos_mean[q][p], b.cos_seed[q][p]);
    }
    double loss = a.loss[PWM_GRADIENT_TRUE], norm = a.norm[PWM_GRADIENT_TRUE];
    pwm_src_result_free(&a), pwm_src_result_free(&b);
    tree_of(dir, after, sizeof after);
    CHECK(!strcmp(before, after), "the diagnosis changed the run's files:\n%s\nvs\n%s", before, after);
    c.stop_after = 0;
    train_logged(&c, "src_r", 1, 1, resumed, sizeof resumed);
    CHECK(!strcmp(straight, resumed), "the resumed run differs:\n%s\nvs\n%s", straight, resumed);
    double logged[2];
    actor_logged(dir, 3, logged);
    CHECK_CLOSE(logged[0], loss, 1e-5, 0);
    CHECK_CLOSE(logged[1], norm, 1e-5, 0);
    // an offline run has no environments; a variance needs two streams
    dc.K = 1;
    CHECK(pwm_diag_sources(&c, ckpt, &dc, &a, err, sizeof err) != 0 && strstr(err, "2 or more"), "K = 1: %s", err);
    dc.K = 2, c.offline = 1;
    CHECK(pwm_diag_sources(&c, ckpt, &dc, &a, err, sizeof err) != 0 && strstr(err, "offline"), "offline: %s", err);
}

TEST(sources_stream0_is_the_next_epoch) {
    // at a --gradient model and a --gradient hybrid run stopped after epoch 2, stream 0 of the run's
    // own source is the window its resumed epoch 3 runs: the same loss and gradient up to the return
    // normaliser's scale, which the diagnosis holds and the epoch first updates (loss and gradient
    // carry the same scale, so loss/norm is the logged loss/norm)
    for (int q = 0; q < 2; q++) {
        pwm_config c = small();
        c.gradient = q ? PWM_GRADIENT_HYBRID : PWM_GRADIENT_MODEL;
        char name[64], dir[512], ckpt[600], err[512];
        static char txt[65536];
        snprintf(name, sizeof name, "src_next_%s", pwm_gradient_name(c.gradient));
        snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
        snprintf(ckpt, sizeof ckpt, "%s/ckpt.safetensors", dir);
        c.stop_after = 2;
        train_logged(&c, name, 0, 1, txt, sizeof txt);
        long same[2] = {0, 0};
        pwm_src_config dc = {2, same, 1};
        pwm_src_result a;
        CHECK(pwm_diag_sources(&c, ckpt, &dc, &a, err, sizeof err) == 0, "%s", err);
        double loss = a.loss[c.gradient], norm = a.norm[c.gradient];
        pwm_src_result_free(&a);
        c.stop_after = 0;
        train_logged(&c, name, 1, 1, txt, sizeof txt);
        double logged[2];
        actor_logged(dir, 3, logged);
        printf("    %s: diagnosed loss %.6g, norm %.6g; logged %.6g, %.6g\n", name, loss, norm, logged[0], logged[1]);
        CHECK(fabs(loss - logged[0]) > 1e-3 * fabs(logged[0]), "%s: the return normaliser was not held (loss %.9g)",
              name, loss);
        CHECK_CLOSE(loss / norm, logged[0] / logged[1], 2e-5, 0);
    }
}

const test_case pwm_tests[] = {
    {"replay_keeps_its_capacity", replay_keeps_its_capacity},
    {"actor_gradient_matches_differences", actor_gradient_matches_differences},
    {"true_source_gradient_matches_differences", true_source_gradient_matches_differences},
    {"true_source_trains_and_resumes", true_source_trains_and_resumes},
    {"bootstrap_and_edge_case_decisions", bootstrap_and_edge_case_decisions},
    {"offline_targets", offline_targets},
    {"bench_epochs_are_the_learners", bench_epochs_are_the_learners},
    {"a_finished_run_extends_to_a_longer_one", a_finished_run_extends_to_a_longer_one},
    {"reproducible_resumable_and_evaluates", reproducible_resumable_and_evaluates},
    {"bad_inputs", bad_inputs},
    {"extensions_change_the_run_and_resume", extensions_change_the_run_and_resume},
    {"actor_average_is_the_evaluated_policy", actor_average_is_the_evaluated_policy},
    {"diagnose_every_rows_survive_resume", diagnose_every_rows_survive_resume},
    {"critic_data_modes_feed_the_critics", critic_data_modes_feed_the_critics},
    {"hybrid_gradient_matches_its_surrogate", hybrid_gradient_matches_its_surrogate},
    {"hybrid_window_is_the_real_return", hybrid_window_is_the_real_return},
    {"hybrid_one_step_gradient_by_hand", hybrid_one_step_gradient_by_hand},
    {"hybrid_runs_resumes_and_refuses", hybrid_runs_resumes_and_refuses},
    {"sources_diagnosed_at_a_run_state", sources_diagnosed_at_a_run_state},
    {"sources_stream0_is_the_next_epoch", sources_stream0_is_the_next_epoch},
    {"compare_end_to_end", compare_end_to_end},
    {"compare_pretrained_protocol", compare_pretrained_protocol},
    {0},
};
