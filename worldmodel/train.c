#include "train.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../nn/common.h"
#include "../nn/device.h"
#include "../nn/exitcode.h"
#include "dataset.h"

// all episodes of the datasets, split into training and held-out (the last episodes)
typedef struct {
    ds_dataset *sets;
    int nsets;
    const ds_episode **eps;
    int *task;              // per episode: its task's id (order of first appearance)
    int n, n_train;
    int obs_dim, act_dim;   // the largest over the tasks (smaller ones are zero-padded)
    int ntasks;
    char names[256];        // task names, comma-separated in id order
} episodes;

static void free_all(episodes *e) {
    for (int i = 0; i < e->nsets; i++) ds_free(&e->sets[i]);
    nn_free(e->sets);
    nn_free(e->eps);
    nn_free(e->task);
    memset(e, 0, sizeof *e);
}

// The datasets, their last ceil(holdout·n) episodes held out (at least one of two or more). Training
// needs an episode left to train on; an evaluation (for_eval) with holdout 1 takes every episode. On
// failure nothing stays allocated.
static int load_all(const char *const *dirs, double holdout, int for_eval, episodes *e, char *err, size_t errlen) {
    memset(e, 0, sizeof *e);
    int nsets = 0;
    while (dirs[nsets]) nsets++;
    if (!nsets) return nn_err(err, errlen, "no dataset given (--data DIR ...)");
    if (nsets > 64) return nn_err(err, errlen, "at most 64 datasets (got %d)", nsets);
    e->sets = nn_malloc(sizeof(ds_dataset) * nsets);
    int total = 0, set_task[64];
    for (int i = 0; i < nsets; i++) {
        if (ds_load(dirs[i], &e->sets[i], err, errlen)) {
            free_all(e);
            return -1;
        }
        e->nsets = i + 1;
        total += e->sets[i].n;
        // its task's id: a task seen before, or the next one
        set_task[i] = -1;
        for (int j = 0; j < i && set_task[i] < 0; j++)
            if (!strcmp(e->sets[j].env, e->sets[i].env)) set_task[i] = set_task[j];
        if (set_task[i] < 0) {
            set_task[i] = e->ntasks++;
            size_t len = strlen(e->names);
            snprintf(e->names + len, sizeof e->names - len, "%s%s", len ? "," : "", e->sets[i].env);
        }
        e->obs_dim = e->sets[i].obs_dim > e->obs_dim ? e->sets[i].obs_dim : e->obs_dim;
        e->act_dim = e->sets[i].act_dim > e->act_dim ? e->sets[i].act_dim : e->act_dim;
    }
    e->eps = nn_malloc(sizeof(ds_episode *) * total);
    e->task = nn_malloc(sizeof(int) * total);
    for (int i = 0; i < e->nsets; i++)
        for (int k = 0; k < e->sets[i].n; k++) {
            e->task[e->n] = set_task[i];
            e->eps[e->n++] = &e->sets[i].eps[k];
        }
    int held = (int)ceil(holdout * e->n);
    if (e->n >= 2 && held < 1) held = 1;
    e->n_train = e->n - held;
    if (e->n_train < 1 && !(for_eval && holdout >= 1)) {
        nn_err(err, errlen, "%d episodes leave none for training after the hold-out", e->n);
        free_all(e);
        return -1;
    }
    return 0;
}

// dst (D floats) = src (d floats) followed by zeros: a smaller task's values in a multi-task model
static void pad_copy(float *dst, int D, const float *src, int d) {
    memcpy(dst, src, sizeof(float) * d);
    memset(dst + d, 0, sizeof(float) * (D - d));
}

// The windows of H steps (H+1 observations) an episode holds.
static long ep_windows(const ds_episode *ep, int H) { return ep->T >= H ? ep->T - H + 1 : 0; }

// Column b of B time-major windows: steps w..w+H of ep, zero-padded to the largest task's sizes;
// raw rewards; termination flags when term is non-NULL.
static void copy_window(const ds_episode *ep, long w, int b, int O, int A, int B, int H, float *obs, float *act,
                        float *rew, float *term) {
    int eo = ep->obs_dim, ea = ep->act_dim;
    for (int t = 0; t <= H; t++) pad_copy(obs + ((size_t)t * B + b) * O, O, ep->obs + (w + t) * eo, eo);
    for (int t = 0; t < H; t++) {
        pad_copy(act + ((size_t)t * B + b) * A, A, ep->act + (w + t) * ea, ea);
        rew[(size_t)t * B + b] = ep->rew[w + t];
        if (term) term[(size_t)t * B + b] = ep->term[w + t];
    }
}

int wm_sample_windows(const ds_episode *const *eps, const int *ep_task, int lo, int hi, int O, int A, int B, int H,
                      nn_rng *r, const nn_rms *rms, float *obs, float *act, float *rew, float *term, int *task) {
    long windows = 0;
    for (int i = lo; i < hi; i++) windows += ep_windows(eps[i], H);
    if (!windows) return -1;
    for (int b = 0; b < B; b++) {
        long w = (long)(nn_rng_uniform(r) * (double)windows);
        int i = lo;
        for (; i < hi && w >= ep_windows(eps[i], H); i++) w -= ep_windows(eps[i], H);
        if (task) task[b] = ep_task ? ep_task[i] : 0;
        copy_window(eps[i], w, b, O, A, B, H, obs, act, rew, term);
    }
    if (rms) nn_rms_normalize(rms, rew, rew, H * B);
    return 0;
}

// one batch of B windows from the training (or held-out) episodes
static int sample(const episodes *e, int lo, int hi, int B, int H, nn_rng *r, const nn_rms *rms, float *obs,
                  float *act, float *rew, float *term, int *task) {
    return wm_sample_windows(e->eps, e->task, lo, hi, e->obs_dim, e->act_dim, B, H, r, rms, obs, act, rew, term, task);
}

double wm_train_step(nn_graph *g, world_model *w, nn_adam *opt, const float *obs, const float *act, const float *rew,
                     const float *term, const int *task, int B, int H, double rho, double clip, float lr, double *dyn, double *rewp,
                     const char **bad) {
    nn_graph_reset(g);
    nn_params_zero_grad(&w->p);
    nn_tensor *loss = wm_loss(g, w, obs, act, rew, term, task, B, H, (float)rho, NULL, dyn, rewp);
    nn_backward(g, loss);
    *bad = nn_grad_nonfinite(&w->p);
    if (*bad) return NAN;
    nn_clip_adam_step(opt, &w->p, lr, clip);
    return loss->x[0];
}

// the model to train: a new one, or the checkpoint at out when resuming; 0, or -1 with a message
static int open_model(const wm_train_config *c, const episodes *e, const char *out, int resume, world_model *w,
                      nn_adam *opt, nn_rms *rms, long *step, char *err, size_t errlen) {
    if (resume) {
        if (wm_load(w, opt, rms, step, out, err, errlen)) return -1;
        if (strcmp(w->tasks, e->names)) {
            nn_err(err, errlen, "the model was trained on tasks '%s', the data holds '%s'", w->tasks, e->names);
            wm_free(w);
            return -1;
        }
        return 0;
    }
    char logp[1100];
    snprintf(logp, sizeof logp, "%s.log.csv", out);
    if (nn_file_exists(out) || nn_file_exists(logp))
        return nn_err(err, errlen, "%s exists; use --resume to continue it or another --out", out);
    wm_config wc = {.obs_dim = e->obs_dim, .act_dim = e->act_dim};
    int a = wm_activation_parse(c->activation);
    if (wm_size(&wc, c->size) || a < 0)
        return nn_err(err, errlen, "unknown --size '%s' or --activation '%s'", c->size, c->activation);
    wc.activation = (wm_activation)a;
    wc.num_tasks = e->ntasks > 1 ? e->ntasks : 0;
    wc.task_dim = c->task_dim;
    wc.reward_bins = c->reward && !strcmp(c->reward, "twohot") ? 101 : 0;
    wc.termination = c->termination;
    wm_init(w, &wc, (unsigned long)c->seed);
    snprintf(w->tasks, sizeof w->tasks, "%s", e->names);
    // reward statistics of the training episodes, clamped to ±5: r/std by default, so that on a task
    // that ends a step alive never scores below the 0 that follows a termination; the public code's
    // (r − mean)/std with reproduce_original (docs/worldmodel.md)
    rms->scale_only = !c->reproduce_original;
    for (int i = 0; i < e->n_train; i++) nn_rms_update(rms, e->eps[i]->rew, e->eps[i]->T);
    *step = 0;
    return 0;
}

int wm_train(const wm_train_config *c, const char *out, int resume) {
    char err[1024], logp[1100], path[1100];
    episodes e;
    if (load_all(c->data, c->holdout, 0, &e, err, sizeof err)) {
        fprintf(stderr, "pwm wm train: %s\n", err);
        return 1;
    }
    world_model w;
    nn_adam opt = nn_adam_default();
    nn_rms rms;
    nn_rms_init(&rms, 1, 1e-5f, 5.0f);
    long step = 0;
    snprintf(logp, sizeof logp, "%s.log.csv", out);
    FILE *log = NULL;
    if (c->env && strcmp(c->env, e.sets[0].env))
        nn_err(err, sizeof err, "the data is of task '%s', not '%s'", e.sets[0].env, c->env);
    else if (open_model(c, &e, out, resume, &w, &opt, &rms, &step, err, sizeof err) == 0 &&
             !(log = fopen(logp, resume ? "a" : "w"))) {
        nn_err(err, sizeof err, "cannot write %s", logp);
        wm_free(&w);
    }
    if (!log) {
        fprintf(stderr, "pwm wm train: %s%s\n", resume ? "--resume: " : "", err);
        nn_rms_free(&rms);
        free_all(&e);
        return 1;
    }
    if (resume) fprintf(stderr, "pwm wm train: resuming %s after step %ld\n", out, step);
    else fprintf(log, "step,loss,consistency,reward,val_loss\n");
    int B = c->batch, H = c->horizon, O = e.obs_dim, A = e.act_dim;
    float *obs = nn_malloc(sizeof(float) * (size_t)(H + 1) * B * O), *act = nn_malloc(sizeof(float) * (size_t)H * B * A);
    float *rew = nn_malloc(sizeof(float) * (size_t)H * B), *term = nn_malloc(sizeof(float) * (size_t)H * B);
    int *task = nn_malloc(sizeof(int) * B), *tasks = w.c.num_tasks ? task : NULL;
    nn_graph *g = nn_graph_new(0);
    printf("world model (%s, %s): %.2fM parameters; %d training / %d held-out episodes; batch %d x %d steps; device "
           "%s\n", c->size, wm_activation_name(w.c.activation), nn_params_numel(&w.p) / 1e6, e.n_train, e.n - e.n_train,
           B, H, nn_device_describe());
    fflush(stdout);
    nn_preempt_install();
    double t0 = nn_now();
    long first = step;
    int rc = 0;
    for (step = step + 1; step <= c->steps; step++) {
        // each step's batch comes from its own random stream, so a resumed run draws the same batches
        nn_rng r;
        nn_rng_init(&r, (unsigned long)c->seed, (unsigned long)step);
        if (sample(&e, 0, e.n_train, B, H, &r, &rms, obs, act, rew, term, task)) {
            fprintf(stderr, "pwm wm train: no training episode has %d steps; lower --horizon\n", H);
            rc = 1;
            break;
        }
        double dl, rl;
        const char *bad;
        double loss = wm_train_step(g, &w, &opt, obs, act, rew, term, tasks, B, H, c->rho, c->clip, (float)c->lr, &dl, &rl,
                                    &bad);
        if (bad) {
            fprintf(stderr, "pwm wm train: step %ld: non-finite gradient in '%s'; stopped (last checkpoint %s)\n", step,
                    bad, out);
            rc = PWM_EXIT_DIVERGED;
            break;
        }
        if (step % c->log_every == 0 || step == c->steps) {
            double val = NAN;
            nn_rng_init(&r, (unsigned long)c->seed + 7, (unsigned long)step);
            if (e.n > e.n_train && sample(&e, e.n_train, e.n, B, H, &r, &rms, obs, act, rew, term, task) == 0) {
                nn_graph_reset(g);
                nn_graph_set_no_grad(g, 1);
                val = wm_loss(g, &w, obs, act, rew, term, tasks, B, H, (float)c->rho, NULL, NULL, NULL)->x[0];
                nn_graph_set_no_grad(g, 0);
            }
            fprintf(log, "%ld,%.6g,%.6g,%.6g,%.6g\n", step, loss, dl, rl, val);
            fflush(log);
        }
        int last = step == c->steps, preempt = nn_preempted() && !last;
        if ((c->save_every > 0 && step % c->save_every == 0) || last || step % 1000 == 0 || preempt) {
            if (wm_save(&w, &opt, &rms, step, out, err, sizeof err)) {
                fprintf(stderr, "pwm wm train: %s\n", err);
                if (preempt) preempt = 0, rc = PWM_EXIT_FAIL;
            }
            if (c->save_every > 0 && step % c->save_every == 0) {
                snprintf(path, sizeof path, "%s.step-%ld.safetensors", out, step);
                if (wm_save(&w, NULL, &rms, step, path, err, sizeof err)) fprintf(stderr, "pwm wm train: %s\n", err);
            }
        }
        nn_progress("wm train", step - first, c->steps - first, t0);
        if (preempt || rc) {
            if (preempt) {
                printf("preempted (signal %d): %s written at step %ld; continue with --resume (exit %d)\n",
                       nn_preempt_signal(), out, step, PWM_EXIT_PREEMPTED);
                rc = PWM_EXIT_PREEMPTED;
            }
            step++;
            break;
        }
    }
    printf("trained to step %ld in %.1f s (%.0f samples/s)\n", step - 1, nn_now() - t0,
           (double)(step - 1 - first) * B / (nn_now() - t0));
    fclose(log);
    nn_free(obs), nn_free(act), nn_free(rew), nn_free(term), nn_free(task);
    nn_graph_free(g);
    nn_rms_free(&rms);
    wm_free(&w);
    free_all(&e);
    return rc;
}

int wm_evaluate(const char *wm_path, const char *const *data, double holdout, int H, int batch, wm_eval_result *res,
                char *err, size_t errlen) {
    if (batch < 1) return nn_err(err, errlen, "batch %d: evaluate at least one window at a time", batch);
    episodes e;
    if (load_all(data, holdout, 1, &e, err, errlen)) return -1;
    world_model w;
    nn_rms rms;
    nn_rms_init(&rms, 1, 1e-5f, 5.0f);
    if (wm_load(&w, NULL, &rms, NULL, wm_path, err, errlen)) {
        nn_rms_free(&rms);
        free_all(&e);
        return -1;
    }
    // each of the data's task ids as the model's (episodes of set i start at offset off)
    int rc = 0, model_task[64];
    for (int i = 0, off = 0; i < e.nsets && rc == 0; off += e.sets[i++].n) {
        int id = w.c.num_tasks ? wm_task_id(&w, e.sets[i].env) : 0;
        model_task[e.task[off]] = id;
        if (id < 0 || e.sets[i].obs_dim > w.c.obs_dim || e.sets[i].act_dim > w.c.act_dim ||
            (!w.c.num_tasks && (e.sets[i].obs_dim != w.c.obs_dim || e.sets[i].act_dim != w.c.act_dim)))
            rc = nn_err(err, errlen, "%s (tasks '%s', obs %d, act %d) was not trained on task '%s' (obs %d, act %d)",
                        wm_path, w.tasks, w.c.obs_dim, w.c.act_dim, e.sets[i].env, e.sets[i].obs_dim, e.sets[i].act_dim);
    }
    if (rc == 0) {
        // every window of the held-out episodes, B windows per forward pass
        int O = w.c.obs_dim, A = w.c.act_dim, B = batch;
        double mean = rms.mean[0];
        nn_graph *g = nn_graph_new(0);
        nn_graph_set_no_grad(g, 1);
        *res = (wm_eval_result){.horizon = H};
        // time-major windows as in training (copy_window), the last batch's columns n..B-1 unused
        float *obs = nn_malloc(sizeof(float) * (H + 1) * B * O), *act = nn_malloc(sizeof(float) * H * B * A),
              *rew = nn_malloc(sizeof(float) * H * B);
        int *tid = nn_malloc(sizeof(int) * B);
        long total = 0;
        for (int i = e.n_train; i < e.n; i++) total += ep_windows(e.eps[i], H);
        double t0 = nn_now();
        for (int i = e.n_train, s = 0;;) {
            // the next (up to) B windows, in order
            int n = 0;
            while (i < e.n && n < B) {
                if (s >= ep_windows(e.eps[i], H)) {
                    i++, s = 0;
                    continue;
                }
                tid[n] = model_task[e.task[i]];
                copy_window(e.eps[i], s++, n++, O, A, B, H, obs, act, rew, NULL);
            }
            if (!n) break;
            nn_graph_reset(g);
            nn_tensor *em = wm_task_embed(g, &w, tid, n);
            nn_tensor *z = wm_encode(g, &w, nn_tensor_from(g, obs, n, O, 0), em);
            for (int t = 0; t < H; t++) {
                nn_tensor *a = nn_tensor_from(g, act + (size_t)t * B * A, n, A, 0), *r_hat = wm_reward(g, &w, z, a, em);
                for (int b = 0; b < n; b++) {
                    double r = rew[(size_t)t * B + b], d = nn_rms_unnormalize(&rms, r_hat->x[b], 0) - r;
                    res->reward_mse += d * d / H;
                    res->baseline_mse += (mean - r) * (mean - r) / H;
                }
                z = wm_dynamics(g, &w, z, a, em);
                if (t == 0 || t == H - 1) {
                    nn_tensor *target = wm_encode(g, &w, nn_tensor_from(g, obs + (size_t)(t + 1) * B * O, n, O, 0), em);
                    // the sum over rows of each row's mean squared latent error
                    double m = 0;
                    for (long k = 0; k < (long)n * z->d; k++) m += (double)(z->x[k] - target->x[k]) * (z->x[k] - target->x[k]);
                    m /= z->d;
                    if (t == 0) res->consistency_1 += m;
                    if (t == H - 1) res->consistency_h += m;
                }
            }
            res->windows += n;
            nn_progress("wm eval", res->windows, total, t0);
        }
        nn_free(obs), nn_free(act), nn_free(rew), nn_free(tid);
        nn_graph_free(g);
        if (!res->windows) {
            rc = nn_err(err, errlen, "no held-out episode has %d steps; lower --horizon", H);
        } else {
            res->consistency_1 /= res->windows, res->consistency_h /= res->windows;
            res->reward_mse /= res->windows, res->baseline_mse /= res->windows;
        }
    }
    wm_free(&w);
    nn_rms_free(&rms);
    free_all(&e);
    return rc;
}
