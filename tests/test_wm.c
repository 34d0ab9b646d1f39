// World model: the loss's gradients against finite differences (targets held fixed, as the
// stop-gradient makes them), each activation variant's structure, save/load round trips, and the
// held-out evaluation against one window at a time.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../nn/common.h"
#include "../worldmodel/dataset.h"
#include "../worldmodel/train.h"
#include "../worldmodel/wm.h"
#include "gradcheck.h"
#include "test.h"

enum { B = 3, H = 3, O = 5, A = 2, L = 16 };

typedef struct {
    world_model w;
    float obs[(H + 1) * B * O], act[H * B * A], rew[H * B], term[H * B], targets[H * B * L];
    int task[B];
} wm_ctx;

static nn_tensor *b_loss(nn_graph *g, nn_tensor **in, void *vctx) {
    wm_ctx *c = vctx;
    return wm_loss(g, &c->w, c->obs, c->act, c->rew, c->w.c.termination ? c->term : NULL, c->w.c.num_tasks ? c->task : NULL, B, H, 0.9f, c->targets, NULL,
                   NULL);
}

static void make_full(wm_ctx *c, wm_activation a, int bins, int tasks, int termination) {
    wm_config cfg = {.obs_dim = O, .act_dim = A, .latent = L, .enc_dim = 8, .enc_layers = 1, .mlp_dim = 8, .activation = a,
                     .reward_bins = bins, .num_tasks = tasks, .task_dim = 4, .termination = termination};
    // terminated flags: the last step of two of the sub-trajectories
    for (int i = 0; i < H * B; i++) c->term[i] = i / B == H - 1 && i % B != 1 ? 1.0f : 0.0f;
    for (int b = 0; b < B; b++) c->task[b] = tasks ? b % tasks : 0;
    wm_init(&c->w, &cfg, 5);
    fd_fill(c->obs, sizeof c->obs / 4, -1, 1, 1);
    fd_fill(c->act, sizeof c->act / 4, -1, 1, 2);
    fd_fill(c->rew, sizeof c->rew / 4, -1, 1, 3);
    // weights of a useful scale (trunc-normal 0.02 and a zero reward head give tiny gradients)
    nn_rng r;
    nn_rng_init(&r, 9, 0);
    for (int i = 0; i < c->w.p.n; i++) {
        nn_param *e = &c->w.p.list[i];
        if (strstr(e->name, ".ln.")) continue;
        for (int k = 0; k < e->t.n * e->t.d; k++) e->t.x[k] = 0.4f * (2 * nn_rng_uniform(&r) - 1);
    }
    // the targets: the encoder's view of the next observations, then held fixed
    nn_graph *g = nn_graph_new(0);
    nn_graph_set_no_grad(g, 1);
    int ids[H * B];
    for (int i = 0; i < H * B; i++) ids[i] = c->task[i % B];
    nn_tensor *e = wm_task_embed(g, &c->w, ids, H * B);
    nn_tensor *t = wm_encode(g, &c->w, nn_tensor_from(g, c->obs + B * O, H * B, O, 0), e);
    memcpy(c->targets, t->x, sizeof c->targets);
    nn_graph_free(g);
}

static void make_bins(wm_ctx *c, wm_activation a, int bins) { make_full(c, a, bins, 0, 0); }
static void make(wm_ctx *c, wm_activation a) { make_bins(c, a, 0); }

TEST(loss_gradients) {
    for (wm_activation a = WM_SIMNORM; a <= WM_RELU; a++) {
        static wm_ctx c;
        make(&c, a);
        fd_inputs none = {.k = 0};
        // ReLU's kinks: a smaller step keeps the differences from straddling them
        fd_tol tol = a == WM_RELU ? (fd_tol){5e-4f, 1e-2f, 1e-3f} : FD_TOL;
        fd_check(wm_activation_name(a), b_loss, &c, &none, &c.w.p, tol);
        wm_free(&c.w);
    }
    // the two-hot reward head (101 bins, soft cross-entropy)
    static wm_ctx c;
    make_bins(&c, WM_SIMNORM, 101);
    fd_inputs none = {.k = 0};
    fd_check("simnorm, two-hot reward", b_loss, &c, &none, &c.w.p, FD_TOL);
    // its decoded reward: the softmax expectation in symlog space, mapped back
    nn_graph *g = nn_graph_new(0);
    nn_tensor *z = wm_encode(g, &c.w, nn_tensor_from(g, c.obs, B, O, 0), NULL);
    nn_tensor *r = wm_reward(g, &c.w, z, nn_tensor_from(g, c.act, B, A, 0), NULL);
    CHECK(r->n == B && r->d == 1 && isfinite(r->x[0]), "two-hot reward prediction");
    nn_graph_free(g);
    wm_free(&c.w);
    // a multi-task model: the task embedding's gradient too
    make_full(&c, WM_SIMNORM, 0, 2, 0);
    fd_check("simnorm, 2 tasks", b_loss, &c, &none, &c.w.p, FD_TOL);
    wm_free(&c.w);
    // a termination head: its binary cross-entropy's gradient, and its probabilities
    make_full(&c, WM_SIMNORM, 0, 0, 1);
    fd_check("simnorm, termination head", b_loss, &c, &none, &c.w.p, FD_TOL);
    nn_graph *gt = nn_graph_new(0);
    nn_tensor *zt = wm_encode(gt, &c.w, nn_tensor_from(gt, c.obs, B, O, 0), NULL);
    nn_tensor *p = wm_termination(gt, &c.w, zt, nn_tensor_from(gt, c.act, B, A, 0), NULL);
    CHECK(p->n == B && p->d == 1 && p->x[0] > 0 && p->x[0] < 1, "termination probability %g", p->x[0]);
    nn_graph_free(gt);
    // saved and loaded with its config
    char path[300], err[512];
    snprintf(path, sizeof path, "%s/wm-term.safetensors", test_tmpdir());
    CHECK(wm_save(&c.w, NULL, NULL, 1, path, err, sizeof err) == 0, "%s", err);
    world_model w2;
    CHECK(wm_load(&w2, NULL, NULL, NULL, path, err, sizeof err) == 0, "%s", err);
    CHECK(w2.c.termination == 1 && w2.p.count == c.w.p.count, "the termination head was not saved");
    wm_free(&w2);
    wm_free(&c.w);
}

TEST(task_embedding_max_norm) {
    // a looked-up row longer than 1 is scaled to norm 1 in place; others are left alone
    static wm_ctx c;
    make_full(&c, WM_SIMNORM, 0, 2, 0);
    float *row0 = c.w.task_emb->x, *row1 = c.w.task_emb->x + 4, before1[4];
    for (int k = 0; k < 4; k++) row0[k] = 3.0f;
    memcpy(before1, row1, sizeof before1);
    nn_graph *g = nn_graph_new(0);
    int ids[2] = {0, 1};
    nn_tensor *e = wm_task_embed(g, &c.w, ids, 2);
    double n0 = 0;
    for (int k = 0; k < 4; k++) n0 += (double)row0[k] * row0[k];
    CHECK_CLOSE(sqrt(n0), 1.0, 1e-5, 0);
    CHECK(!memcmp(row1, before1, sizeof before1) && e->x[0] == row0[0], "embedding lookup or renorm");
    CHECK(wm_task_id(&c.w, "x") == -1, "task id of an unnamed model");
    snprintf(c.w.tasks, sizeof c.w.tasks, "hopper,ant");
    CHECK(wm_task_id(&c.w, "ant") == 1 && wm_task_id(&c.w, "hopper") == 0 && wm_task_id(&c.w, "hop") == -1, "task ids");
    nn_graph_free(g);
    wm_free(&c.w);
}

TEST(variants) {
    static wm_ctx c;
    // simnorm: latents are groups of 8 on the simplex; mish: not; relu: no LayerNorm anywhere
    for (wm_activation a = WM_SIMNORM; a <= WM_RELU; a++) {
        make(&c, a);
        nn_graph *g = nn_graph_new(0);
        nn_tensor *z = wm_encode(g, &c.w, nn_tensor_from(g, c.obs, B, O, 0), NULL);
        double s = 0;
        for (int k = 0; k < 8; k++) s += z->x[k];
        int has_ln = 0;
        for (int i = 0; i < c.w.p.n; i++) has_ln |= strstr(c.w.p.list[i].name, ".ln.") != NULL;
        if (a == WM_SIMNORM) CHECK(fabs(s - 1.0) < 1e-5, "simnorm group sums to %g", s);
        else CHECK(fabs(s - 1.0) > 1e-3, "%s latents look simplex-normalised", wm_activation_name(a));
        CHECK(has_ln == (a != WM_RELU), "%s: LayerNorm presence %d", wm_activation_name(a), has_ln);
        nn_graph_free(g);
        wm_free(&c.w);
    }
}

TEST(save_load_each_variant) {
    // the three activations with the scalar reward, and simnorm with the two-hot reward
    for (int v = 0; v < 4; v++) {
        wm_activation a = v < 3 ? (wm_activation)v : WM_SIMNORM;
        static wm_ctx c;
        make_bins(&c, a, v < 3 ? 0 : 101);
        nn_adam opt = {.step = 42};
        nn_rms rms, rms2;
        nn_rms_init(&rms, 1, 1e-5f, 5.0f);
        nn_rms_init(&rms2, 1, 1e-5f, 5.0f);
        nn_rms_update(&rms, c.rew, H * B);
        char path[300], err[512];
        snprintf(path, sizeof path, "%s/wm-%d.safetensors", test_tmpdir(), v);
        CHECK(wm_save(&c.w, &opt, &rms, 7, path, err, sizeof err) == 0, "%s", err);
        world_model w2;
        nn_adam o2 = {0};
        long step;
        CHECK(wm_load(&w2, &o2, &rms2, &step, path, err, sizeof err) == 0, "%s", err);
        CHECK(w2.c.activation == a && w2.c.latent == L && w2.c.reward_bins == c.w.c.reward_bins && step == 7 &&
                  o2.step == 42 && rms2.mean[0] == rms.mean[0],
              "variant %d: config, step or statistics lost", v);
        for (int i = 0; i < c.w.p.n; i++) {
            const nn_param *e = &c.w.p.list[i];
            CHECK(!memcmp(e->t.x, w2.p.list[i].t.x, sizeof(float) * e->t.n * e->t.d), "%s differs", e->name);
        }
        wm_free(&w2);
        // a damaged file is refused
        FILE *f = fopen(path, "r+b");
        fseek(f, 12, SEEK_SET);
        fputc('#', f);
        fclose(f);
        CHECK(wm_load(&w2, NULL, NULL, NULL, path, err, sizeof err) != 0, "a damaged checkpoint loaded");
        nn_rms_free(&rms), nn_rms_free(&rms2);
        wm_free(&c.w);
    }
}

// Episode e of a synthetic dataset: reward = first observation, the state drifts with the action.
static void toy_episode(ds_episode *ep, int e) {
    ds_episode_alloc(ep, 20, O, A);
    for (int t = 0; t < 20; t++) {
        for (int k = 0; k < A; k++) ep->act[t * A + k] = sinf(0.3f * t + e + k);
        for (int k = 0; k < O; k++) ep->obs[(t + 1) * O + k] = 0.9f * ep->obs[t * O + k] + 0.1f * ep->act[t * A + k % A];
        ep->rew[t] = ep->obs[t * O];
    }
    ep->trunc[19] = 1;
}

// wm_evaluate's figures computed here one window at a time, over episodes [lo, hi) of toy_episode.
static wm_eval_result eval_by_hand(const char *path, int lo, int hi, int hz) {
    world_model w;
    nn_rms rms;
    char err[1024];
    nn_rms_init(&rms, 1, 1e-5f, 5.0f);
    nn_check(wm_load(&w, NULL, &rms, NULL, path, err, sizeof err) == 0, "%s", err);
    wm_eval_result r = {.horizon = hz};
    nn_graph *g = nn_graph_new(0);
    for (int e = lo; e < hi; e++) {
        ds_episode ep;
        toy_episode(&ep, e);
        for (int s = 0; s + hz <= ep.T; s++, r.windows++) {
            nn_graph_reset(g);
            nn_tensor *z = wm_encode(g, &w, nn_tensor_from(g, ep.obs + s * O, 1, O, 0), NULL);
            for (int t = 0; t < hz; t++) {
                nn_tensor *a = nn_tensor_from(g, ep.act + (s + t) * A, 1, A, 0);
                double r_hat = nn_rms_unnormalize(&rms, wm_reward(g, &w, z, a, NULL)->x[0], 0), rw = ep.rew[s + t];
                r.reward_mse += (r_hat - rw) * (r_hat - rw) / hz;
                r.baseline_mse += (rms.mean[0] - rw) * (rms.mean[0] - rw) / hz;
                z = wm_dynamics(g, &w, z, a, NULL);
                double m = nn_mse(g, z, wm_encode(g, &w, nn_tensor_from(g, ep.obs + (s + t + 1) * O, 1, O, 0), NULL))->x[0];
                if (t == 0) r.consistency_1 += m;
                if (t == hz - 1) r.consistency_h += m;
            }
        }
        ds_episode_free(&ep);
    }
    r.reward_mse /= r.windows, r.baseline_mse /= r.windows, r.consistency_1 /= r.windows, r.consistency_h /= r.windows;
    nn_graph_free(g);
    wm_free(&w);
    nn_rms_free(&rms);
    return r;
}

TEST(train_resume_and_eval) {
    // a synthetic dataset: reward = first observation, the state drifts with the action
    char dir[300], err[1024], a[320], b[320], la[330], lb[330];
    snprintf(dir, sizeof dir, "%s/wmdata", test_tmpdir());
    int next;
    CHECK(ds_open(dir, "toy", O, A, &next, err, sizeof err) == 0, "%s", err);
    for (int e = 0; e < 6; e++) {
        ds_episode ep;
        toy_episode(&ep, e);
        CHECK(ds_write(dir, e, &ep, err, sizeof err) == 0, "%s", err);
        ds_episode_free(&ep);
    }
    const char *data[2] = {dir, NULL};
    wm_train_config c = {.data = data, .size = "small", .activation = "simnorm", .reward = "mse", .steps = 12,
                         .batch = 8, .horizon = 4, .lr = 3e-4, .clip = 20, .rho = 0.99, .holdout = 0.2, .seed = 1,
                         .log_every = 3, .task_dim = 8};
    snprintf(a, sizeof a, "%s/wm_a.safetensors", test_tmpdir());
    snprintf(b, sizeof b, "%s/wm_b.safetensors", test_tmpdir());
    CHECK(wm_train(&c, a, 0) == 0, "training failed");
    c.steps = 6;
    CHECK(wm_train(&c, b, 0) == 0, "training failed");
    c.steps = 12;
    CHECK(wm_train(&c, b, 1) == 0, "resume failed");
    static char ta[8192], tb[8192];
    snprintf(la, sizeof la, "%s.log.csv", a);
    snprintf(lb, sizeof lb, "%s.log.csv", b);
    test_read_file(la, ta, sizeof ta);
    test_read_file(lb, tb, sizeof tb);
    CHECK(!strcmp(ta, tb), "a resumed run logged differently:\n%s\nvs\n%s", ta, tb);
    CHECK(wm_train(&c, a, 0) != 0, "a second run overwrote the first");
    // the held-out 20% is the last two episodes: 2 × 17 windows of 4 steps; in batches of 5 (one batch
    // spans both episodes, the last is short) and of 256, it gives the one-window-at-a-time figures
    wm_eval_result want = eval_by_hand(a, 4, 6, 4);
    for (int batch = 5; batch <= 256; batch += 251) {
        wm_eval_result r;
        CHECK(wm_evaluate(a, data, 0.2, 4, batch, &r, err, sizeof err) == 0, "%s", err);
        CHECK(r.windows == 2 * 17 && r.windows == want.windows, "eval: %d windows", r.windows);
        CHECK_CLOSE(r.consistency_1, want.consistency_1, 1e-5, 1e-9);
        CHECK_CLOSE(r.consistency_h, want.consistency_h, 1e-5, 1e-9);
        CHECK_CLOSE(r.reward_mse, want.reward_mse, 1e-5, 1e-9);
        CHECK_CLOSE(r.baseline_mse, want.baseline_mse, 1e-5, 1e-9);
        CHECK(want.consistency_1 > 0 && want.consistency_h > 0 && want.reward_mse > 0, "a degenerate case");
    }
    // holdout 1: every episode (data the model never saw)
    wm_eval_result r, all = eval_by_hand(a, 0, 6, 4);
    CHECK(wm_evaluate(a, data, 1.0, 4, 7, &r, err, sizeof err) == 0, "%s", err);
    CHECK(r.windows == 6 * 17, "holdout 1: %d windows", r.windows);
    CHECK_CLOSE(r.consistency_h, all.consistency_h, 1e-5, 1e-9);
    CHECK_CLOSE(r.reward_mse, all.reward_mse, 1e-5, 1e-9);
    CHECK(wm_evaluate(a, data, 0.2, 4, 0, &r, err, sizeof err) != 0 && strstr(err, "batch 0"), "batch 0: %s", err);
}

TEST(reward_normalisation_keeps_alive_positive) {
    // a task that ends: hopping episodes (reward 3 per step, terminated after 40 steps) and standing
    // ones (reward 1, the alive bonus, 100 steps then a time-out); the data's mean reward is 2.6
    char dir[300], err[1024], path[2][320];
    snprintf(dir, sizeof dir, "%s/alive", test_tmpdir());
    int next;
    CHECK(ds_open(dir, "toy", O, A, &next, err, sizeof err) == 0, "%s", err);
    for (int e = 0; e < 12; e++) {
        int stand = e >= 10, T = stand ? 100 : 40;
        ds_episode ep;
        ds_episode_alloc(&ep, T, O, A);
        for (int t = 0; t < T; t++) {
            ep.rew[t] = stand ? 1.0f : 3.0f;
            for (int k = 0; k < O; k++) ep.obs[(t + 1) * O + k] = 0.01f * (float)(t + k + e);
        }
        if (stand) ep.trunc[T - 1] = 1;
        else ep.term[T - 1] = 1;
        CHECK(ds_write(dir, e, &ep, err, sizeof err) == 0, "%s", err);
        ds_episode_free(&ep);
    }
    const char *data[2] = {dir, NULL};
    wm_train_config c = {.data = data, .size = "small", .activation = "simnorm", .reward = "mse", .steps = 1,
                         .batch = 4, .horizon = 4, .lr = 3e-4, .clip = 20, .rho = 0.99, .holdout = 0, .seed = 1,
                         .log_every = 1, .task_dim = 8};
    // the value of standing forever, Σ γ^k n(1) = n(1)/(1 − γ), against a termination's 0, under the
    // statistics each model file records: r/std (default) and the public code's (r − mean)/std
    double alive[2], gamma = 0.99;
    for (int orig = 0; orig < 2; orig++) {
        snprintf(path[orig], sizeof path[orig], "%s/alive_%d.safetensors", test_tmpdir(), orig);
        c.reproduce_original = orig;
        CHECK(wm_train(&c, path[orig], 0) == 0, "training failed");
        world_model w;
        nn_rms rms;
        nn_rms_init(&rms, 1, 1e-5f, 5.0f);
        CHECK(wm_load(&w, NULL, &rms, NULL, path[orig], err, sizeof err) == 0, "%s", err);
        // (the last episode is held out: 1300 / 500)
        CHECK_CLOSE(rms.mean[0], 1300.0 / 500.0, 1e-4, 1e-4);
        CHECK(rms.scale_only == !orig, "%s: scale_only %d", path[orig], rms.scale_only);
        float one = 1.0f, n1;
        nn_rms_normalize(&rms, &n1, &one, 1);
        alive[orig] = n1 / (1 - gamma);
        wm_free(&w);
        nn_rms_free(&rms);
    }
    CHECK(alive[0] > 0, "default: standing is worth %g, below falling's 0", alive[0]);
    CHECK(alive[1] < 0, "(r - mean)/std: standing should be worth less than falling (the hazard), got %g", alive[1]);
}

const test_case wm_tests[] = {
    {"reward_normalisation_keeps_alive_positive", reward_normalisation_keeps_alive_positive},
    {"train_resume_and_eval", train_resume_and_eval},
    {"loss_gradients", loss_gradients},
    {"task_embedding_max_norm", task_embedding_max_norm},
    {"variants", variants},
    {"save_load_each_variant", save_load_each_variant},
    {0},
};
