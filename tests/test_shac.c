// SHAC: the actor loss's gradient through the simulator against finite differences of the loss,
// training runs that are reproducible and resumable, and checkpoints that evaluate.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../nn/common.h"
#include "../nn/safetensors.h"
#include "../policy/learner.h"
#include "../policy/policy.h"
#include "../policy/shac.h"
#include "../worldmodel/dataset.h"
#include "test.h"

static shac_config small(const char *env) {
    shac_config c;
    char err[256];
    CHECK(shac_preset(&c, env, "quick", err, sizeof err) == 0, "%s", err);
    c.envs = 2, c.horizon = 6, c.epochs = 3, c.eval_episodes = 2, c.eval_every = 3, c.save_every = 1;
    c.actor_units = "16,8", c.critic_units = "16";
    c.critic_minibatches = 2;
    return c;
}

TEST(actor_gradient_matches_differences) {
    // the whole actor loss (actor, observations, rewards, target critic, recorded Jacobians)
    // against central differences of the loss in 12 weights; centred Jacobians. The pendulum's
    // 1000 N m motor makes the loss very curved: the differences converge to the analytic
    // gradient as eps shrinks (h 4: rel L2 0.27 / 3.9e-3 / 4.7e-4 for eps 1e-2 / 1e-3 / 1e-4)
    // The Ant observes its previous action: the case checks that path too (without it: rel L2 0.64).
    // The Ant's differences are rounding-limited, so it takes a larger eps: max rel 0.071 (-O1) /
    // 0.036 (-O3) at 1e-3, 0.014 at 3e-3, 0.002-0.006 at 1e-2 (the one the case uses)
    struct { const char *env; int h; double eps; } cases[] = {
        {"double-pendulum", 4, 1e-4}, {"hopper", 3, 1e-3}, {"ant", 3, 1e-2}};
    for (int i = 0; i < 3; i++) {
        shac_config c = small(cases[i].env);
        c.horizon = cases[i].h;
        c.physics.centered = 1;
        c.logstd_init = -2.0;
        double max_rel, rel_l2;
        char err[512];
        CHECK(shac_actor_gradcheck(&c, 12, cases[i].eps, &max_rel, &rel_l2, err, sizeof err) == 0, "%s", err);
        CHECK(rel_l2 < 5e-3 && max_rel < 5e-2, "%s: actor gradient rel L2 %.3g, max rel %.3g", cases[i].env, rel_l2,
              max_rel);
    }
}

TEST(reproducible_and_resumable) {
    // two runs with the same seed log the same numbers; a run stopped after 2 epochs and resumed
    // matches one that ran straight through
    shac_config c = small("hopper");
    char a[512], b[512], r[512], pa[600];
    snprintf(a, sizeof a, "%s/shac_a", test_tmpdir());
    snprintf(b, sizeof b, "%s/shac_b", test_tmpdir());
    snprintf(r, sizeof r, "%s/shac_r", test_tmpdir());
    for (int i = 0; i < 3; i++) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "mkdir -p %s", i == 0 ? a : i == 1 ? b : r);
        CHECK(system(cmd) == 0, "mkdir");
    }
    // run a also records every transition it sees
    char data[600];
    snprintf(data, sizeof data, "%s/shac_data", test_tmpdir());
    c.save_data = data;
    CHECK(shac_train(&c, a, 0, 2) == 0, "run a failed");
    c.save_data = NULL;
    ds_dataset d;
    char derr[512];
    CHECK(ds_load(data, &d, derr, sizeof derr) == 0, "%s", derr);
    CHECK(d.steps == (long)c.epochs * c.envs * c.horizon && !strcmp(d.env, "hopper"), "--save-data kept %ld steps",
          d.steps);
    ds_free(&d);
    CHECK(shac_train(&c, b, 0, 1) == 0, "run b failed");
    c.stop_after = 2;
    CHECK(shac_train(&c, r, 0, 2) == 0, "run r failed");
    c.stop_after = 0;
    CHECK(shac_train(&c, r, 1, 2) == 0, "resume failed");
    static char la[65536], lb[65536], lr[65536];
    test_read_log(a, la, sizeof la), test_read_log(b, lb, sizeof lb), test_read_log(r, lr, sizeof lr);
    CHECK(!strcmp(la, lb), "1-thread and 2-thread runs logged different numbers:\n%s\nvs\n%s", la, lb);
    CHECK(!strcmp(la, lr), "the resumed run differs:\n%s\nvs\n%s", la, lr);
    // a second start in the same directory is refused (nothing overwritten)
    CHECK(shac_train(&c, a, 0, 2) != 0, "a second run overwrote the first");
    // the checkpoint evaluates
    double mean, std;
    char err[512];
    snprintf(pa, sizeof pa, "%s/final.safetensors", a);
    CHECK(policy_evaluate("hopper", pa, 2, 1, &c.physics, &mean, &std, err, sizeof err) == 0, "%s", err);
    CHECK(isfinite(mean), "evaluation return %g", mean);
    CHECK(policy_evaluate("ant", pa, 2, 1, &c.physics, &mean, &std, err, sizeof err) != 0 && strstr(err, "hopper"),
          "a hopper policy evaluated on the ant: %s", err);
}

TEST(actor_average_leaves_training_alone) {
    // pwm shac --actor-average 2 (the learner's, shared with pwm train: pwm_tests has the recurrence),
    // stopped after epoch 2 and resumed: every log column but the evaluation equals the plain run's,
    // the evaluation differs, the actor's own (eval_actor) is the plain run's evaluation, and the
    // final checkpoint holds the average (m/) that policies load
    shac_config c = small("hopper");
    static char log[2][65536];
    char dir[2][512], path[700];
    for (int i = 0; i < 2; i++) {
        snprintf(dir[i], sizeof dir[i], "%s/shac_avg%d", test_tmpdir(), i);
        CHECK(nn_mkdirs(dir[i]) == 0, "mkdir %s", dir[i]);
    }
    CHECK(shac_train(&c, dir[0], 0, 1) == 0, "plain run failed");
    c.actor_average = 2, c.stop_after = 2;
    CHECK(shac_train(&c, dir[1], 0, 1) == 0, "averaged run failed");
    c.stop_after = 0;
    CHECK(shac_train(&c, dir[1], 1, 1) == 0, "averaged run did not resume");
    for (int i = 0; i < 2; i++) test_read_log(dir[i], log[i], sizeof log[i]);
    test_take_actor_column(log[1], log[0]);
    CHECK(strcmp(log[0], log[1]), "the average evaluated as the actor:\n%s", log[0]);
    test_strip_column(log[0], 4), test_strip_column(log[1], 4);
    CHECK(!strcmp(log[0], log[1]), "averaging changed the training:\n%s\nvs\n%s", log[0], log[1]);
    st_file f;
    char err[512];
    snprintf(path, sizeof path, "%s/final.safetensors", dir[1]);
    CHECK(st_read(path, &f, err, sizeof err) == 0, "%s", err);
    CHECK(!strcmp(lrn_policy_prefix(&f), "m/"), "%s holds no actor average", path);
    st_free(&f);
}

// two runs' checkpoints hold the same tensors and the same run state, the wall time aside (the
// state's second value)
static void same_checkpoints(const char *a, const char *b) {
    char pa[600], pb[600], err[512];
    st_file x, y;
    snprintf(pa, sizeof pa, "%s/ckpt.safetensors", a), snprintf(pb, sizeof pb, "%s/ckpt.safetensors", b);
    CHECK(st_read(pa, &x, err, sizeof err) == 0, "%s", err);
    CHECK(st_read(pb, &y, err, sizeof err) == 0, "%s", err);
    CHECK(x.n == y.n, "%d vs %d tensors", x.n, y.n);
    for (int i = 0; i < x.n; i++)
        CHECK(!strcmp(x.entries[i].name, y.entries[i].name) && x.entries[i].nbytes == y.entries[i].nbytes &&
                  !memcmp(x.data + x.entries[i].offset, y.data + y.entries[i].offset, x.entries[i].nbytes),
              "tensor %s differs", x.entries[i].name);
    const char *sx = st_meta(&x, "state"), *sy = st_meta(&y, "state");
    CHECK(sx && sy, "no run state");
    const char *wx = strchr(sx, ' '), *wy = strchr(sy, ' ');
    CHECK(wx && wy && wx - sx == wy - sy && !strncmp(sx, sy, (size_t)(wx - sx)), "the env steps differ");
    wx = strchr(wx + 1, ' '), wy = strchr(wy + 1, ' ');
    CHECK(wx && wy && !strcmp(wx, wy), "the run state (environments, statistics, noise) differs");
    st_free(&x), st_free(&y);
}

TEST(ant_resumes_exactly) {
    // the Ant's free torso: a resumed run restores its quaternion as saved (mj_forward's in-place
    // normalisation must not move its last bits), so stopped after 2 epochs and resumed for one,
    // it logs and saves what a run straight through 3 epochs does (both stop before the last of 4
    // epochs: no final evaluation)
    shac_config c = small("ant");
    c.envs = 16, c.horizon = 8, c.epochs = 4, c.eval_every = 4, c.stop_after = 3;
    char a[512], r[512];
    snprintf(a, sizeof a, "%s/shac_ant_a", test_tmpdir());
    snprintf(r, sizeof r, "%s/shac_ant_r", test_tmpdir());
    CHECK(nn_mkdirs(a) == 0 && nn_mkdirs(r) == 0, "mkdir");
    CHECK(shac_train(&c, a, 0, 1) == 0, "run a failed");
    c.stop_after = 2;
    CHECK(shac_train(&c, r, 0, 1) == 0, "run r failed");
    c.stop_after = 3;
    CHECK(shac_train(&c, r, 1, 1) == 0, "resume failed");
    static char la[65536], lr[65536];
    test_read_log(a, la, sizeof la), test_read_log(r, lr, sizeof lr);
    CHECK(!strcmp(la, lr), "the resumed run differs:\n%s\nvs\n%s", la, lr);
    same_checkpoints(a, r);
}

const test_case shac_tests[] = {
    {"actor_gradient_matches_differences", actor_gradient_matches_differences},
    {"reproducible_and_resumable", reproducible_and_resumable},
    {"ant_resumes_exactly", ant_resumes_exactly},
    {"actor_average_leaves_training_alone", actor_average_leaves_training_alone},
    {0},
};
