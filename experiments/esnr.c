#include "esnr.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../nn/common.h"
#include "../nn/device.h"
#include "../nn/stats.h"
#include "../physics/diffstep.h"
#include "../policy/learner.h"
#include "../worldmodel/dataset.h"
#include "../worldmodel/train.h"
#include "results.h"

// the paper script's rescaling of the true reward "to match the world model's scale"
#define ORIGINAL_REWARD_SCALE (1.0 / 21554.2305)

int esnr_preset(esnr_config *c, const char *preset, char *err, size_t errlen) {
    int paper = !strcmp(preset, "paper");
    if (!paper && strcmp(preset, "quick")) return nn_err(err, errlen, "unknown preset '%s' (quick or paper)", preset);
    *c = (esnr_config){.preset = paper ? "paper" : "quick", .seed = 0, .max_h = 50, .samples = 100,
                       .collect = paper ? 240000 : 24000, .wm_size = paper ? "paper" : "small",
                       .wm_steps = paper ? 20000 : 2000, .wm_batch = paper ? 1024 : 256, .actor_units = "64,64"};
    return 0;
}

// ---------------------------------------------------------------------------------------------
// the sampler

int esnr_sampler_init(esnr_sampler *s, const world_model *enc, const char *actor_units, long seed, int cap,
                      int reproduce_original, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    const env_task *t = env_find("double-pendulum");
    int units[LRN_MAX_UNITS], nu = lrn_parse_units(actor_units, units);
    if (nu < 1) return nn_err(err, errlen, "bad --actor-units '%s': give widths like 64,64", actor_units);
    if (!t || !(s->e = env_batch_new(t, NULL, NULL, 1, (unsigned long)seed, cap, err, errlen))) return -1;
    env_batch_enable_grads(s->e);
    s->e->timing = reproduce_original ? ENV_REWARD_PRE : ENV_REWARD_POST;
    s->from_rest = !reproduce_original;
    s->true_scale = reproduce_original ? ORIGINAL_REWARD_SCALE : 1.0;
    s->true_shift = reproduce_original ? 1.0 : 0.0;
    s->enc = enc;
    s->cap = cap;
    nn_params_init(&s->ap, 0);
    actor_declare(&s->act, &s->ap, "pi.", enc->c.latent, t->act_dim, units, nu, NN_ACT_MISH);
    nn_params_alloc(&s->ap);
    nn_rng r;
    nn_rng_init(&r, (unsigned long)seed, 3u << 20);
    actor_init(&s->act, &r, -1.0f);
    s->g = nn_graph_new(0);
    s->gz = nn_graph_new(1 << 20);
    nn_graph_set_no_grad(s->gz, 1);
    return 0;
}

void esnr_sampler_free(esnr_sampler *s) {
    env_batch_free(s->e);
    nn_params_free(&s->ap);
    nn_graph_free(s->g), nn_graph_free(s->gz);
    memset(s, 0, sizeof *s);
}

int esnr_params(const esnr_sampler *s) { return (int)nn_params_numel(&s->ap); }

// the policy's gradient into grad (zero-grad, backward already run), tensor by tensor
static void copy_grad(const nn_params *p, double *grad) {
    for (int i = 0, k = 0; i < p->n; i++) {
        const nn_tensor *t = &p->list[i].t;
        for (int j = 0; j < t->n * t->d; j++) grad[k++] = t->g[j];
    }
}

// z (1 × latent) = enc(obs) without gradient
static void encode(esnr_sampler *s, const world_model *w, const double *obs, float *z) {
    int O = w->c.obs_dim;
    float o[O];
    for (int i = 0; i < O; i++) o[i] = (float)obs[i];
    nn_graph_reset(s->gz);
    nn_tensor *zt = wm_encode(s->gz, w, nn_tensor_from(s->gz, o, 1, O, 0), NULL);
    memcpy(z, zt->x, sizeof(float) * w->c.latent);
}

double esnr_true_sample(esnr_sampler *s, int H, const float *eps, const float *z_fixed, float *z_out, double *grad) {
    nn_check(H >= 1 && H <= s->cap, "esnr: horizon %d outside 1..%d", H, s->cap);
    env_batch *e = s->e;
    int A = e->task->act_dim, nx = e->pm->nx, L = s->enc->c.latent;
    if (s->from_rest) env_reset_all(e);
    ph_record_begin(e->b);
    nn_graph *g = s->g;
    nn_graph_reset(g);
    // L = −Σ scale·r through the differentiable step (physics/diffstep.h): the reward's state terms
    // at the states they saw (pre: x_t, which carries nothing back where the step before was cut;
    // post: x_{t+1}) and its action term; the policy's input is an encoding without gradient
    nn_tensor *x = nn_tensor_new(g, 1, nx, 0), *sum = NULL;  // the window's start: a gradient cut
    memset(x->x, 0, sizeof(float) * nx);
    double ret = 0;
    for (int t = 0; t < H; t++) {
        float z[L];
        if (z_fixed) memcpy(z, z_fixed + (size_t)t * L, sizeof z);
        else encode(s, s->enc, e->obs, z);
        if (z_out) memcpy(z_out + (size_t)t * L, z, sizeof z);
        nn_tensor *u = actor_forward(g, &s->act, nn_tensor_from(g, z, 1, L, 0), eps + (size_t)t * A);
        double ut[A];
        for (int j = 0; j < A; j++) ut[j] = u->x[j];
        env_step(e, ut, 1);
        ret += e->rew[0] * s->true_scale + s->true_shift;
        nn_tensor *xo = ph_node_step(g, e->b, t, x, u);
        nn_tensor *r = ph_node_reward(g, x, u, xo, e->rew, e->drdx, e->drda, e->drdx_post);
        sum = sum ? nn_add(g, sum, r) : r;
        if (t + 1 < H) x = ph_node_cut(g, e->b, t, xo, NULL);
    }
    if (!grad) return ret;
    nn_params_zero_grad(&s->ap);
    nn_backward(g, nn_scale(g, sum, (float)-s->true_scale));
    copy_grad(&s->ap, grad);
    return ret;
}

double esnr_model_sample(esnr_sampler *s, const world_model *w, const double *obs0, double scale, double shift, int H,
                         const float *eps, const float *z_fixed, float *z_out, double *grad) {
    int A = s->act.act_dim, L = w->c.latent;
    nn_check(L == s->act.obs_dim, "esnr: the model's latent (%d) is not the policy's input (%d)", L, s->act.obs_dim);
    nn_graph *g = s->g;
    nn_graph_reset(g);
    float z0[L];
    encode(s, w, obs0, z0);
    nn_tensor *z = nn_tensor_from(g, z0, 1, L, 0), *sum = NULL;
    double ret = 0;
    for (int t = 0; t < H; t++) {
        nn_tensor *in = z_fixed ? nn_tensor_from(g, z_fixed + (size_t)t * L, 1, L, 0) : nn_detach(g, z);
        if (z_out) memcpy(z_out + (size_t)t * L, z->x, sizeof(float) * L);
        nn_tensor *a = actor_forward(g, &s->act, in, eps + (size_t)t * A);
        nn_tensor *r = wm_reward(g, w, z, a, NULL);
        ret += r->x[0] * scale + shift;
        sum = sum ? nn_add(g, sum, r) : r;
        z = wm_dynamics(g, w, z, a, NULL);
    }
    if (!grad) return ret;
    nn_params_zero_grad(&s->ap);
    nn_backward(g, nn_scale(g, sum, (float)-scale));
    copy_grad(&s->ap, grad);
    return ret;
}

// ---------------------------------------------------------------------------------------------
// the experiment

// random-policy episodes (U(−1, 1) actions) of the double pendulum into dir, the reward on the
// post-step state unless reproduce_original
static int collect(const esnr_config *c, const char *dir, char *err, size_t errlen) {
    const env_task *t = env_find("double-pendulum");
    int N = 16, A = t->act_dim;
    env_batch *e = env_batch_new(t, NULL, NULL, N, (unsigned long)c->seed, 0, err, errlen);
    if (!e) return -1;
    e->timing = c->reproduce_original ? ENV_REWARD_PRE : ENV_REWARD_POST;
    ds_recorder rec;
    if (ds_recorder_open(&rec, dir, t->name, N, t->obs_dim, A, t->episode_len, e->obs, err, errlen)) {
        env_batch_free(e);
        return -1;
    }
    nn_rng r;
    nn_rng_init(&r, (unsigned long)c->seed, 1u << 21);
    double u[N * A];
    int rc = 0;
    while (rec.steps < c->collect && !rc) {
        for (int i = 0; i < N * A; i++) u[i] = 2.0 * nn_rng_uniform(&r) - 1.0;
        env_step(e, u, 0);
        rc = ds_recorder_step(&rec, e->act, e->rew, e->term, e->trunc, e->obs_final, e->obs, err, errlen);
    }
    char err2[512];
    rc = ds_recorder_close(&rec, rc ? err2 : err, rc ? sizeof err2 : errlen) || rc;
    env_batch_free(e);
    return rc ? -1 : 0;
}

// the three gradient sources
enum { SRC_TRUE, SRC_H3, SRC_H16, SRC_N };
static const char *src_name[SRC_N] = {"True", "MLP H=3", "MLP H=16"};
static const int src_h[SRC_N] = {0, 3, 16};

typedef struct {
    double var, esnr, ret;
} esnr_point;

// every horizon's statistics for source m through world model w (NULL: the true dynamics)
static void sample_curve(esnr_sampler *s, const esnr_config *c, int m, const world_model *w, const nn_rms *rms,
                         const double *obs0, esnr_point *pts) {
    int S = c->samples, P = esnr_params(s), A = s->act.act_dim;
    double *grads = nn_malloc(sizeof(double) * (size_t)S * P), t0 = nn_now();
    // reported reward units: the task's (de-normalised) or, as the paper's script, the model's own
    double scale = 1.0, shift = 0.0;
    if (w && !c->reproduce_original) scale = sqrt(rms->var[0] + rms->eps), shift = rms->mean[0];
    long done = 0, total = (long)c->max_h * (c->max_h + 1) / 2 * S;
    for (int H = 1; H <= c->max_h; H++) {
        double ret = 0;
        for (int i = 0; i < S; i++) {
            // the same noise for every source (common random numbers)
            float eps[H * A];
            nn_rng r;
            nn_rng_init(&r, (unsigned long)c->seed, (1ul << 32) + (unsigned long)H * 65536 + (unsigned long)i);
            for (int k = 0; k < H * A; k++) eps[k] = nn_rng_normal(&r);
            double *g = grads + (size_t)i * P;
            ret += (w ? esnr_model_sample(s, w, obs0, scale, shift, H, eps, NULL, NULL, g)
                      : esnr_true_sample(s, H, eps, NULL, NULL, g)) / S;
            nn_progress(src_name[m], done += H, total, t0);
        }
        nn_esnr(grads, S, (size_t)P, &pts[H - 1].var, &pts[H - 1].esnr);
        pts[H - 1].ret = ret;
    }
    nn_free(grads);
}

static int write_csv(const char *dir, const esnr_config *c, esnr_point pts[SRC_N][c->max_h]) {
    char path[1200];
    snprintf(path, sizeof path, "%s/esnr.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) return fprintf(stderr, "pwm experiment esnr: cannot write %s\n", path), -1;
    fprintf(f, "H,var_true,esnr_true,var_h3,esnr_h3,var_h16,esnr_h16,return_true,return_h3,return_h16\n");
    for (int H = 1; H <= c->max_h; H++) {
        fprintf(f, "%d", H);
        for (int m = 0; m < SRC_N; m++) fprintf(f, ",%.6e,%.6e", pts[m][H - 1].var, pts[m][H - 1].esnr);
        for (int m = 0; m < SRC_N; m++) fprintf(f, ",%.6e", pts[m][H - 1].ret);
        fprintf(f, "\n");
    }
    fclose(f);
    return 0;
}

int esnr_experiment(const esnr_config *c, const char *out, const char *command) {
    char dir[1024], err[1024], data[1100], wm_path[SRC_N][1100];
    if (res_dir(dir, sizeof dir, "esnr", out, err, sizeof err)) {
        fprintf(stderr, "pwm experiment esnr: %s\n", err);
        return 1;
    }
    // wall times: collection, the two models' training, sampling through the models, through the truth
    double t0 = nn_now(), wall[SRC_N + 2] = {0};
    // 1. random-policy data
    snprintf(data, sizeof data, "%s/data", dir);
    printf("esnr (%s%s): collecting %ld random-policy transitions into %s\n", c->preset,
           c->reproduce_original ? ", reproducing the original" : "", c->collect, data);
    fflush(stdout);
    if (collect(c, data, err, sizeof err)) {
        fprintf(stderr, "pwm experiment esnr: %s\n", err);
        return 1;
    }
    wall[0] = nn_now() - t0;
    // 2. the world models, H = 3 and H = 16
    world_model w[SRC_N];
    nn_rms rms[SRC_N];
    wm_eval_result ev[SRC_N];
    for (int m = SRC_H3; m <= SRC_H16; m++) {
        const char *dirs[] = {data, NULL};
        wm_train_config tc = {.data = dirs, .env = "double-pendulum", .size = c->wm_size, .activation = "simnorm",
                              .reward = "mse", .steps = c->wm_steps, .batch = c->wm_batch, .horizon = src_h[m],
                              .lr = 3e-4, .clip = 20, .rho = 0.99, .holdout = 0.1, .seed = c->seed, .log_every = 100,
                              .task_dim = 96};
        snprintf(wm_path[m], sizeof wm_path[m], "%s/wm-h%d.safetensors", dir, src_h[m]);
        double t = nn_now();
        if (c->device && nn_device_select(c->device, err, sizeof err)) {
            fprintf(stderr, "pwm experiment esnr: %s\n", err);
            return 1;
        }
        int failed = wm_train(&tc, wm_path[m], 0);
        nn_device_select("cpu", err, sizeof err);
        if (failed) return 1;
        wall[m] = nn_now() - t;
        nn_rms_init(&rms[m], 1, 1e-5f, 5.0f);
        if (wm_load(&w[m], NULL, &rms[m], NULL, wm_path[m], err, sizeof err) ||
            wm_evaluate(wm_path[m], dirs, 0.1, src_h[m], WM_EVAL_BATCH, &ev[m], err, sizeof err)) {
            fprintf(stderr, "pwm experiment esnr: %s\n", err);
            return 1;
        }
        nn_params_set_frozen(&w[m].p, 1);
    }
    // 3. the gradient samples: the true dynamics first (the original's model rollouts start where
    // its true-dynamics loop left the pendulum)
    esnr_sampler s;
    if (esnr_sampler_init(&s, &w[SRC_H16], c->actor_units, c->seed, c->max_h, c->reproduce_original, err, sizeof err)) {
        fprintf(stderr, "pwm experiment esnr: %s\n", err);
        return 1;
    }
    esnr_point (*pts)[c->max_h] = nn_malloc(sizeof(esnr_point) * SRC_N * c->max_h);
    // one sample is a batch of one: one thread (OpenMP's barriers would cost more than the work)
    int threads = nn_get_threads();
    nn_set_threads(1);
    double obs0[6];
    for (int m = 0; m < SRC_N; m++) {
        double t = nn_now();
        if (m == SRC_H3) {
            if (!c->reproduce_original) env_reset_all(s.e);
            memcpy(obs0, s.e->obs, sizeof obs0);
        }
        sample_curve(&s, c, m, m ? &w[m] : NULL, m ? &rms[m] : NULL, obs0, pts[m]);
        wall[SRC_N + (m == SRC_TRUE)] += nn_now() - t;
    }
    nn_set_threads(threads);
    int rc = write_csv(dir, c, pts) ? 1 : 0;
    char vars[1400];
    snprintf(vars, sizeof vars, "dir='%s'; note='%s'", dir,
             c->reproduce_original ? "--reproduce-original: the paper script quirks" : "from rest, post-step reward");
    res_gnuplot("esnr.gp", vars);
    char seeds[64];
    snprintf(seeds, sizeof seeds, "%ld (data, models, policy weights and noise)", c->seed);
    FILE *f = rc ? NULL : res_summary_open(dir, "Double pendulum: policy-gradient variance and ESNR vs horizon", command,
                                           seeds, nn_now() - t0);
    if (f) {
        fprintf(f, "Preset %s, %s. %d samples per H, H = 1..%d. Policy: actor [%s] (Linear -> Mish -> LayerNorm, "
                   "PyTorch init, log-std -1) on the H=16 model's latent, input detached (PWM's actor); %d parameters.\n\n",
                c->preset,
                c->reproduce_original
                    ? "--reproduce-original: pre-step reward (zero true gradient at H = 1), samples that do not restart "
                      "from rest (model rollouts start where the true-dynamics loop ended), true reward as r/21554.2305 + 1 "
                      "and the models' rewards in their normalised units"
                    : "default: every sample starts upright at rest, the reward scores the post-step state (for the "
                      "true dynamics and the models' data), every curve in the task's reward units",
                c->samples, c->max_h, c->actor_units, esnr_params(&s));
        fprintf(f, "World models: %s size, SimNorm, scalar reward; %ld steps of batch %d, Adam 3e-4, clip 20, rho 0.99; "
                   "trained on %ld random-policy transitions (%.0f s to collect).\n\n"
                   "| model | training wall time (s) | held-out latent MSE 1 step / H steps | held-out H-step reward MSE "
                   "(mean-predictor baseline) |\n|---|---|---|---|\n",
                c->wm_size, c->wm_steps, c->wm_batch, c->collect, wall[0]);
        for (int m = SRC_H3; m <= SRC_H16; m++)
            fprintf(f, "| H=%d | %.0f | %.3g / %.3g | %.4g (%.4g) |\n", src_h[m], wall[m], ev[m].consistency_1,
                    ev[m].consistency_h, ev[m].reward_mse, ev[m].baseline_mse);
        fprintf(f, "\nSampling wall time: true dynamics %.0f s, models %.0f s.\n\n| H | Var true | Var H=3 | Var H=16 | "
                   "ESNR true | ESNR H=3 | ESNR H=16 |\n|---|---|---|---|---|---|---|\n",
                wall[SRC_N + 1], wall[SRC_N]);
        int show[] = {1, 2, 3, 5, 10, 16, 20, 30, 40, 50};
        for (size_t i = 0; i < sizeof show / sizeof show[0]; i++) {
            int H = show[i];
            if (H > c->max_h) continue;
            fprintf(f, "| %d | %.3g | %.3g | %.3g | %.3g | %.3g | %.3g |\n", H, pts[SRC_TRUE][H - 1].var,
                    pts[SRC_H3][H - 1].var, pts[SRC_H16][H - 1].var, pts[SRC_TRUE][H - 1].esnr, pts[SRC_H3][H - 1].esnr,
                    pts[SRC_H16][H - 1].esnr);
        }
        fprintf(f, "\nVar = mean over parameters of the sample variance; ESNR = mean over parameters of E[g]^2/(Var[g] + "
                   "1e-9); raw values (the paper's plotting script adds an offset to the True ESNR curve; not here). "
                   "Files: esnr.csv, variance.png, esnr.png, data/ (the episodes), wm-h3.safetensors and "
                   "wm-h16.safetensors with their .log.csv.\n");
        fclose(f);
    }
    printf("H      Var true   Var H=3  Var H=16 | ESNR true  ESNR H=3 ESNR H=16\n");
    for (int H = 1; H <= c->max_h; H += (H < 5 ? 1 : 5))
        printf("%-3d %10.3g %9.3g %9.3g | %9.3g %9.3g %9.3g\n", H, pts[0][H - 1].var, pts[1][H - 1].var,
               pts[2][H - 1].var, pts[0][H - 1].esnr, pts[1][H - 1].esnr, pts[2][H - 1].esnr);
    printf("%s/summary.md (%.0f s)\n", dir, nn_now() - t0);
    esnr_sampler_free(&s);
    nn_free(pts);
    for (int m = SRC_H3; m <= SRC_H16; m++) wm_free(&w[m]), nn_rms_free(&rms[m]);
    return rc;
}
