#include "wm_sweep.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../nn/common.h"
#include "../nn/exitcode.h"
#include "../opts/rundir.h"
#include "../worldmodel/train.h"
#include "results.h"

#define MAX_VARIANTS 8
#define MAX_SEEDS 16

typedef struct {
    const char *experiment, *title;
    int nv;
    const char *label[MAX_VARIANTS];       // variant names for the table
    const char *activation[MAX_VARIANTS];  // smoothness: one model per activation
    long steps[MAX_VARIANTS];              // accuracy: one model saved at these steps
    long collect, wm_steps, epochs;
    const char *wm_size;
} sweep;

static int run_sweep(const sweep *w, const wm_sweep_config *c, const char *exe, const char *command) {
    char dir[1024], err[1024];
    if (res_dir(dir, sizeof dir, w->experiment, c->out, err, sizeof err)) {
        fprintf(stderr, "pwm experiment %s: %s\n", w->experiment, err);
        return 1;
    }
    if (c->seeds < 1 || c->seeds > MAX_SEEDS) {
        fprintf(stderr, "pwm experiment %s: --seeds must be 1..%d\n", w->experiment, MAX_SEEDS);
        return 1;
    }
    // a plan or a single stage stop after the stages; a plain run or a merge goes on to the results
    int merging = ex_merging(&c->ex), rc = 0;
    char prog[64];
    snprintf(prog, sizeof prog, "pwm experiment %s", w->experiment);
    double t0 = nn_now(), err1[MAX_VARIANTS][MAX_SEEDS], errh[MAX_VARIANTS][MAX_SEEDS];
    double rew[MAX_VARIANTS][MAX_SEEDS], ret[MAX_VARIANTS][MAX_SEEDS];
    int stages = c->seeds * (2 + 2 * w->nv), done = 0;
    char thr[16], coll[32], wms[32], epo[32], evev[32];
    snprintf(thr, sizeof thr, "%d", c->threads), snprintf(coll, sizeof coll, "%ld", w->collect);
    snprintf(epo, sizeof epo, "%ld", w->epochs), snprintf(evev, sizeof evev, "%ld", w->epochs / 5 > 0 ? w->epochs / 5 : 1);
    for (int s = 0; s < c->seeds; s++) {
        char sd[1100], data[1200], logp[1200], marker[1500], seed[16];
        snprintf(seed, sizeof seed, "%d", s);
        snprintf(sd, sizeof sd, "%s/seed%d", dir, s);
        snprintf(data, sizeof data, "%s/data", sd);
        snprintf(logp, sizeof logp, "%s/stages.log", sd);
        nn_mkdirs(sd);
        // random-policy data, shared by the seed's models
        char name[96];
        int g;
        snprintf(marker, sizeof marker, "%s/collect.done", sd);
        snprintf(name, sizeof name, "seed%d-collect", s);
        if ((g = ex_gate(&c->ex, 0, name, marker, data, prog)) < 0) goto fail;
        if (g && res_stage_done(marker) < 0) {
            // an interrupted collection starts over: pwm collect appends to an existing dataset
            if (res_clear_dir(data)) {
                fprintf(stderr, "%s: cannot clear %s; remove it by hand\n", prog, data);
                goto fail;
            }
            char *args[] = {(char *)exe, "collect", "--env", "hopper", "--policy", "random", "--steps", coll, "--out", data,
                            "--seed", seed, "--threads", thr, NULL};
            double t = nn_now();
            if ((rc = ex_spawn_wait(args, logp))) goto fail;
            res_mark_done(marker, nn_now() - t);
        }
        nn_progress(w->experiment, ++done, stages, t0);
        // the models: one per activation, or one saved along its training
        char wm[MAX_VARIANTS][1300];
        for (int v = 0; v < w->nv; v++) {
            if (w->activation[v]) snprintf(wm[v], sizeof wm[v], "%s/wm-%s.safetensors", sd, w->activation[v]);
            else snprintf(wm[v], sizeof wm[v], "%s/wm.safetensors.step-%ld.safetensors", sd, w->steps[v]);
        }
        for (int v = 0; v < w->nv; v++) {
            if (!w->activation[v] && v > 0) continue;  // accuracy: one training run
            if (w->activation[v]) snprintf(marker, sizeof marker, "%.1300s.done", wm[v]);
            else snprintf(marker, sizeof marker, "%s/wm.done", sd);
            char out[1500];
            if (w->activation[v]) snprintf(out, sizeof out, "%.1300s", wm[v]);
            else snprintf(out, sizeof out, "%s/wm.safetensors", sd);
            if (w->activation[v]) snprintf(name, sizeof name, "seed%d-wm-%s", s, w->activation[v]);
            else snprintf(name, sizeof name, "seed%d-wm", s);
            if ((g = ex_gate(&c->ex, 1, name, marker, out, prog)) < 0) goto fail;
            if (!g || res_stage_done(marker) >= 0) continue;
            snprintf(wms, sizeof wms, "%ld", w->activation[v] ? w->wm_steps : w->steps[w->nv - 1]);
            char every[32];
            snprintf(every, sizeof every, "%ld", w->steps[0]);
            char *args[24] = {(char *)exe, "wm", "train", "--data", data, "--env", "hopper", "--out", out, "--size",
                              (char *)w->wm_size, "--steps", wms, "--seed", seed, "--threads", thr, NULL};
            char *more[7] = {NULL}, **m = more + 2;
            if (w->activation[v]) more[0] = "--activation", more[1] = (char *)w->activation[v];
            else more[0] = "--save-every", more[1] = every;
            if (nn_file_exists(out)) *m++ = "--resume";
            if (c->device) *m++ = "--device", *m++ = (char *)c->device;
            res_add_args(args, more);
            double t = nn_now();
            if ((rc = ex_spawn_wait(args, logp))) goto fail;
            res_mark_done(marker, nn_now() - t);
        }
        done += w->nv;
        nn_progress(w->experiment, done, stages, t0);
        // each model's held-out error (the data's last 10% of episodes) and its PWM policy
        const char *dsets[2] = {data, NULL};
        for (int v = 0; v < w->nv; v++) {
            wm_eval_result r;
            if (merging && wm_evaluate(wm[v], dsets, 0.1, 16, WM_EVAL_BATCH, &r, err, sizeof err)) {
                fprintf(stderr, "pwm experiment %s: %s\n", w->experiment, err);
                return 1;
            }
            if (merging) err1[v][s] = r.consistency_1, errh[v][s] = r.consistency_h, rew[v][s] = r.reward_mse;
            char run[1300];
            snprintf(run, sizeof run, "%s/pwm-%s", sd, w->label[v]);
            snprintf(name, sizeof name, "seed%d-pwm-%s", s, w->label[v]);
            rundir_state st;
            if ((g = ex_gate_run(&c->ex, 2, name, run, prog, &st)) < 0) goto fail;
            if (g && st != RUNDIR_FINISHED) {
                char *args[32] = {(char *)exe, "train", "--env", "hopper", "--preset", (char *)c->preset, "--wm", wm[v],
                                  "--data", data, "--epochs", epo, "--eval-every", evev, "--save-every", evev, "--seed",
                                  seed, "--threads", thr, "--out", run, NULL};
                char *more[4] = {NULL}, **m = more;
                if (st != RUNDIR_FRESH) *m++ = "--resume";
                if (c->device) *m++ = "--device", *m++ = (char *)c->device;
                res_add_args(args, more);
                if ((rc = ex_spawn_wait(args, logp))) goto fail;
            }
            ret[v][s] = rundir_final_return(run);
            nn_progress(w->experiment, ++done, stages, t0);
        }
        continue;
    fail:
        fprintf(stderr, "pwm experiment %s: a stage of seed %d %s; see %s (run again to continue)\n", w->experiment,
                s, rc == PWM_EXIT_PREEMPTED ? "was preempted after its checkpoint" : "failed", logp);
        return rc == PWM_EXIT_PREEMPTED ? rc : 1;
    }
    if (!merging) return 0;
    // sweep.csv (one row per model and seed), the scatter plot, summary.md
    char path[1100];
    snprintf(path, sizeof path, "%s/sweep.csv", dir);
    FILE *f = fopen(path, "w");
    char seeds[64];
    snprintf(seeds, sizeof seeds, "0..%d (data, models and policies per seed)", c->seeds - 1);
    FILE *sm = res_summary_open(dir, w->title, command, seeds, nn_now() - t0);
    if (!f || !sm) {
        if (f) fclose(f);
        if (sm) fclose(sm);
        return 1;
    }
    fprintf(f, "model,model_index,seed,consistency_1,consistency_16,reward_mse,final_return\n");
    fprintf(sm, "\nHopper. Per seed: %ld random-policy steps; world models (%s) trained on them; a PWM policy "
            "(online, %s preset, %ld epochs of 64 x 16) through each. Held-out errors: `wm eval` on the data's "
            "last 10%% of episodes, 16-step windows (latent MSE after 1 and 16 open-loop steps, open-loop reward "
            "MSE in reward units). Return: the policy's final deterministic evaluation (eval.csv).\n\n"
            "| model | 1-step latent MSE | 16-step latent MSE | reward MSE | PWM return (mean +- std over seeds) |\n"
            "|---|---|---|---|---|\n", w->collect, w->wm_size, c->preset, w->epochs);
    for (int v = 0; v < w->nv; v++) {
        double m[4], sdv[4], col[4][MAX_SEEDS];
        for (int s = 0; s < c->seeds; s++) {
            col[0][s] = err1[v][s], col[1][s] = errh[v][s], col[2][s] = rew[v][s], col[3][s] = ret[v][s];
            fprintf(f, "%s,%d,%d,%.6g,%.6g,%.6g,%.6g\n", w->label[v], v, s, err1[v][s], errh[v][s], rew[v][s],
                    ret[v][s]);
        }
        for (int k = 0; k < 4; k++) res_mean_std(col[k], c->seeds, &m[k], &sdv[k]);
        fprintf(sm, "| %s | %.3g | %.3g | %.3g | %.1f +- %.1f |\n", w->label[v], m[0], m[1], m[2], m[3], sdv[3]);
    }
    fclose(f);
    fprintf(sm, "\nPlot: error_vs_return.png (each model and seed a point, coloured by model: held-out reward MSE "
            "against the PWM return).\n");
    fclose(sm);
    char vars[2600], names[256] = "";
    for (int v = 0; v < w->nv; v++) snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", v ? " " : "",
                                             w->label[v]);
    snprintf(vars, sizeof vars, "dir='%s'; title='Hopper: %s'; names='%s'", dir, w->title, names);
    res_gnuplot("wm_sweep.gp", vars);
    printf("%s: %s/summary.md\n", w->experiment, dir);
    return 0;
}

int smoothness_run(const wm_sweep_config *c, const char *exe, const char *command) {
    int paper = !strcmp(c->preset, "paper");
    sweep w = {.experiment = "smoothness", .title = "world-model activation (SimNorm / Mish / ReLU) vs PWM return",
               .nv = 3, .label = {"simnorm", "mish", "relu"}, .activation = {"simnorm", "mish", "relu"},
               .collect = paper ? 200000 : 20000, .wm_steps = paper ? 50000 : 1500, .epochs = paper ? 2000 : 60,
               .wm_size = paper ? "paper" : "small"};
    return run_sweep(&w, c, exe, command);
}

int accuracy_run(const wm_sweep_config *c, const char *exe, const char *command) {
    int paper = !strcmp(c->preset, "paper");
    // the paper's 50k / 100k / 250k; quick: short enough for 2 cores, spanning under- to well-fitted
    sweep w = {.experiment = "accuracy", .title = "world-model training length vs PWM return", .nv = 3,
               .steps = {paper ? 50000 : 250, paper ? 100000 : 750, paper ? 250000 : 2000},
               .collect = paper ? 200000 : 20000, .epochs = paper ? 2000 : 60, .wm_size = paper ? "paper" : "small"};
    static char labels[MAX_VARIANTS][32];
    for (int v = 0; v < w.nv; v++) {
        snprintf(labels[v], sizeof labels[v], "%ld-steps", w.steps[v]);
        w.label[v] = labels[v];
    }
    return run_sweep(&w, c, exe, command);
}
