#include "compare.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../nn/common.h"
#include "../nn/exitcode.h"
#include "../opts/rundir.h"
#include "../policy/ppo.h"
#include "../policy/pwm.h"
#include "../policy/shac.h"
#include "pretrain.h"
#include "results.h"
#include "table.h"
#include "version.h"


// the pretrained protocol's quick preset (2 cores): docs/pwm.md "The pretrained protocol"
#define QUICK_PRETRAINED_BUDGET 300000
#define QUICK_PRETRAINED_WM_STEPS 5000
#define QUICK_PRETRAINED_WM_SIZE "small"

#define MAX_SEEDS 32
#define MAX_EVALS 512

typedef struct {
    int n;
    double steps[MAX_EVALS], wall[MAX_EVALS], ret[MAX_EVALS];
    double final;  // eval.csv's mean return
} curve;

// the evaluations of a run's log.csv, offset
static int read_curve(const char *dir, double step0, double wall0, curve *cv) {
    cv->n = rundir_read_evals(dir, MAX_EVALS, cv->steps, cv->wall, cv->ret);
    if (cv->n < 0) return -1;
    for (int k = 0; k < cv->n; k++) cv->steps[k] += step0, cv->wall[k] += wall0;
    cv->final = rundir_final_return(dir);
    return 0;
}

// the mean curve of one method over seeds (evaluations aligned by index), with min and max
static void write_mean_curve(const char *path, const curve *cv, int seeds) {
    FILE *f = fopen(path, "w");
    if (!f) return;
    fprintf(f, "env_steps,wall_s,mean_return,min_return,max_return\n");
    int n = MAX_EVALS;
    for (int s = 0; s < seeds; s++) n = cv[s].n < n ? cv[s].n : n;
    for (int k = 0; k < n; k++) {
        double st = 0, wa = 0, m = 0, lo = INFINITY, hi = -INFINITY;
        for (int s = 0; s < seeds; s++) {
            st += cv[s].steps[k] / seeds, wa += cv[s].wall[k] / seeds, m += cv[s].ret[k] / seeds;
            lo = fmin(lo, cv[s].ret[k]), hi = fmax(hi, cv[s].ret[k]);
        }
        fprintf(f, "%.0f,%.2f,%.4f,%.4f,%.4f\n", st, wa, m, lo, hi);
    }
    fclose(f);
}

int compare_methods(const char *list, int *on, char *err, size_t errlen) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", list ? list : "shac,pwm,ppo");
    int n = 0;
    for (int m = 0; m < CMP_METHODS; m++) on[m] = 0;
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        int m = 0;
        while (m < CMP_METHODS && strcmp(t, cmp_method_names[m])) m++;
        if (m == CMP_METHODS)
            return nn_err(err, errlen, "unknown method '%s' in --methods (shac, pwm, ppo, hybrid, true)", t);
        n += !on[m], on[m] = 1;
    }
    return n ? 0 : nn_err(err, errlen, "--methods names no method (shac, pwm, ppo, hybrid, true)");
}

const char *const cmp_method_names[CMP_METHODS] = {"shac", "pwm", "ppo", "hybrid", "true"};
const char *const cmp_method_titles[CMP_METHODS] = {"SHAC", "PWM", "PPO", "Hybrid", "True"};

// whether method m trains through a world model (its data and model made first)
static int uses_wm(int m) { return m == CMP_PWM || m == CMP_HYBRID || m == CMP_TRUE; }

static int gate(const compare_config *c, int wave, const char *name, const char *done, const char *started) {
    return ex_gate(&c->ex, wave, name, done, started, "pwm compare");
}

static int gate_run(const compare_config *c, int wave, const char *name, const char *run, rundir_state *st) {
    return ex_gate_run(&c->ex, wave, name, run, "pwm compare", st);
}

// a learner that trains from scratch in OUT/<method>-seedS (pwm shac, pwm ppo): skipped when
// finished, resumed when started (rundir_state_of). 0, or -1 (its log is logp)
static int run_learner(const compare_config *c, const char *exe, const char *method, int seed, long epochs,
                       char **phys, char *logp, size_t logn) {
    char run[1200], a[4][32];
    snprintf(run, sizeof run, "%s/%s-seed%d", c->out, method, seed);
    snprintf(logp, logn, "%s/%s-seed%d.log", c->out, method, seed);
    char name[64];
    snprintf(name, sizeof name, "%s-seed%d", method, seed);
    rundir_state st;
    int g = gate_run(c, 0, name, run, &st);
    if (g <= 0 || st == RUNDIR_FINISHED) return g < 0 ? -1 : 0;
    snprintf(a[0], 32, "%d", seed), snprintf(a[1], 32, "%ld", epochs), snprintf(a[2], 32, "%d", c->threads);
    snprintf(a[3], 32, "%ld", epochs / c->evals > 0 ? epochs / c->evals : 1);
    char *args[] = {(char *)exe, (char *)method, "--env", (char *)c->env, "--preset", (char *)c->preset, "--epochs",
                    a[1], "--eval-every", a[3], "--save-every", a[3], "--seed", a[0], "--threads", a[2], "--out", run,
                    NULL, NULL, NULL, NULL, NULL, NULL};
    char *res[2] = {st != RUNDIR_FRESH ? "--resume" : NULL, NULL};
    res_add_args(args, res), res_add_args(args, phys);
    return ex_spawn_wait(args, logp);
}

// PWM's data and world model for seed s under the matched protocol (OUT/pwm-seedS: random-policy
// data, then world-model pretraining), shared by the seed's runs through PWM's networks; their paths
// into data and wm, the stages' walls through the pointers. 0, or -1 / a stage's exit code (its log
// is logp)
static int run_wm_prep(const compare_config *c, const char *exe, int s, char **phys, char *data, char *wm,
                       double *wall_collect, double *wall_wm, char *logp, size_t logn) {
    char dir[1100], marker[1300], a[3][64], name[64];
    int g, rc;
    snprintf(dir, sizeof dir, "%s/pwm-seed%d", c->out, s);
    snprintf(data, 1200, "%s/data", dir);
    snprintf(wm, 1200, "%s/wm.safetensors", dir);
    snprintf(logp, logn, "%s/stages.log", dir);
    nn_mkdirs(dir);
    snprintf(a[0], 64, "%d", s), snprintf(a[1], 64, "%ld", c->collect), snprintf(a[2], 64, "%d", c->threads);
    snprintf(marker, sizeof marker, "%s/collect.done", dir);
    snprintf(name, sizeof name, "pwm-seed%d-collect", s);
    if ((g = gate(c, 0, name, marker, data)) < 0) return -1;
    if (g && (*wall_collect = res_stage_done(marker)) < 0) {
        // an interrupted collection starts over: pwm collect appends to an existing dataset
        if (res_clear_dir(data)) return fprintf(stderr, "pwm compare: cannot clear %s; remove it by hand\n", data), -1;
        char *args[] = {(char *)exe, "collect", "--env", (char *)c->env, "--policy", "random", "--steps", a[1],
                        "--out", data, "--seed", a[0], "--threads", a[2], NULL, NULL, NULL, NULL, NULL};
        res_add_args(args, phys);
        double t = nn_now();
        if ((rc = ex_spawn_wait(args, logp))) return rc;
        res_mark_done(marker, *wall_collect = nn_now() - t);
    } else {
        *wall_collect = res_stage_done(marker);
    }
    pretrain_wm_config wc = {c->env, data, c->wm_size, c->wm_steps, s, c->threads, c->reproduce_original, c->device};
    snprintf(marker, sizeof marker, "%s/wm.done", dir);
    snprintf(name, sizeof name, "pwm-seed%d-wm", s);
    if ((g = gate(c, 1, name, marker, wm)) < 0) return -1;
    if (g && (rc = pretrain_wm(&wc, dir, exe))) return rc;
    *wall_wm = res_stage_done(marker);
    return 0;
}

// appends to the command line cmd (n bytes) of length len, unless it is already full or broken
// (len < 0 or >= n); its new length
static int command_append(char *cmd, size_t n, int len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int command_append(char *cmd, size_t n, int len, const char *fmt, ...) {
    if (len <= 0 || (size_t)len >= n) return len;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(cmd + len, n - (size_t)len, fmt, ap);
    va_end(ap);
    return k < 0 ? -1 : len + k;
}

// the run directory of method m's seed s (PWM's: OUT/pwm-seedS/run, beside its data and model)
static void run_dir(const compare_config *c, int m, int s, char *run, size_t n) {
    if (m == CMP_PWM) snprintf(run, n, "%s/pwm-seed%d/run", c->out, s);
    else snprintf(run, n, "%s/%s-seed%d", c->out, cmp_method_names[m], s);
}

// an online pwm train run of seed s through the world model wm, with data as its first replay
// (stage "pwm-seedS-train", or "hybrid-seedS" / "true-seedS" with --gradient hybrid / true); extra: more pwm train
// options; train_wave: the stage's wave. 0, or -1 / a stage's exit code (its log is logp)
static int run_wm_learner(const compare_config *c, const char *exe, int m, int s, long epochs, char **phys,
                          char **extra, const char *data, const char *wm, int pretrained, int train_wave, char *logp,
                          size_t logn) {
    char run[1200], a[4][64], name[64];
    int g;
    run_dir(c, m, s, run, sizeof run);
    if (m == CMP_PWM) {
        char dir[1100];
        snprintf(dir, sizeof dir, "%s/pwm-seed%d", c->out, s);
        nn_mkdirs(dir);  // the pretrained protocol's PWM run has no data or model of its own there
        snprintf(name, sizeof name, "pwm-seed%d-train", s), snprintf(logp, logn, "%s/stages.log", dir);
    } else {
        const char *mn = cmp_method_names[m];
        snprintf(name, sizeof name, "%s-seed%d", mn, s), snprintf(logp, logn, "%s/%s-seed%d.log", c->out, mn, s);
    }
    snprintf(a[0], 64, "%d", s), snprintf(a[1], 64, "%d", c->threads), snprintf(a[2], 64, "%ld", epochs);
    snprintf(a[3], 64, "%ld", epochs / c->evals > 0 ? epochs / c->evals : 1);
    rundir_state st;
    if ((g = gate_run(c, train_wave, name, run, &st)) < 0) return -1;
    if (!g || st == RUNDIR_FINISHED) return 0;
    char *args[] = {(char *)exe, "train", "--env", (char *)c->env, "--preset", (char *)c->preset, "--wm", (char *)wm,
                    "--data", (char *)data, "--epochs", a[2], "--eval-every", a[3], "--save-every", a[3], "--seed",
                    a[0], "--threads", a[1], "--out", run, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                    NULL, NULL, NULL, NULL, NULL};  // room for res (6), phys (4) and extra (18), then the end
    // the pretrained protocol fine-tunes as the paper does, 8 steps per epoch
    char *res[7] = {st != RUNDIR_FRESH ? "--resume" : NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    char **r = res + (res[0] ? 1 : 0);
    if (m != CMP_PWM) *r++ = "--gradient", *r++ = (char *)(m == CMP_HYBRID ? "hybrid" : "true");
    if (c->reproduce_original) *r++ = "--reproduce-original";
    if (pretrained) *r++ = "--wm-iters", *r++ = "8";
    res_add_args(args, res), res_add_args(args, phys), res_add_args(args, extra);
    return ex_spawn_wait(args, logp);
}

// the peak over evaluations of the IQM over seeds (evaluations aligned by index), and its env steps
static double peak_iqm(const curve *cv, int seeds, double *at) {
    int n = MAX_EVALS;
    for (int s = 0; s < seeds; s++) n = cv[s].n < n ? cv[s].n : n;
    double best = NAN, v[MAX_SEEDS];
    *at = NAN;
    for (int k = 0; k < n; k++) {
        for (int s = 0; s < seeds; s++) v[s] = cv[s].ret[k];
        double q = iqm(v, seeds);
        if (isnan(best) || q > best) best = q, *at = cv[0].steps[k];
    }
    return best;
}

int compare_run(const compare_config *cc, const char *exe) {
    compare_config c = *cc;
    int paper = !strcmp(c.preset, "paper"), on[CMP_METHODS];
    char err[1024];
    shac_config sc;
    pwm_config pc;
    ppo_config oc;
    if (compare_methods(c.methods, on, err, sizeof err) || shac_preset(&sc, c.env, c.preset, err, sizeof err) ||
        pwm_preset(&pc, c.env, c.preset, err, sizeof err) || ppo_preset(&oc, c.env, c.preset, err, sizeof err)) {
        fprintf(stderr, "pwm compare: %s\n", err);
        return 1;
    }
    if (c.seeds < 1 || c.seeds > MAX_SEEDS) {
        fprintf(stderr, "pwm compare: --seeds must be 1..%d\n", MAX_SEEDS);
        return 1;
    }
    int pretrained = c.protocol && !strcmp(c.protocol, "pretrained");
    if (c.protocol && !pretrained && strcmp(c.protocol, "matched")) {
        fprintf(stderr, "pwm compare: unknown --protocol '%s' (matched or pretrained)\n", c.protocol);
        return 1;
    }
    // the presets: quick ≈ 0.3M steps per run on 2 cores; paper: PWM's logged Hopper length. The
    // pretrained protocol's quick model: docs/pwm.md "pwm compare"
    int budget_given = c.budget != 0;
    if (!c.budget) c.budget = paper ? 10240000 : pretrained ? QUICK_PRETRAINED_BUDGET : 300000;
    if (!c.collect) c.collect = paper ? 200000 : 20000;
    if (!c.wm_steps) c.wm_steps = paper ? 50000 : pretrained ? QUICK_PRETRAINED_WM_STEPS : 2000;
    if (!c.wm_size) c.wm_size = paper ? "paper" : pretrained ? QUICK_PRETRAINED_WM_SIZE : "small";
    if (!c.evals) c.evals = paper ? 50 : 10;
    if (!c.data_seed) c.data_seed = 100;
    // the hybrid and true are pwm train --gradient hybrid / true: PWM's networks, epochs and world model
    long pp = (long)pc.envs * pc.horizon;
    long per[CMP_METHODS] = {(long)sc.envs * sc.horizon, pp, (long)oc.envs * oc.horizon, pp, pp};
    long wm_epochs = (c.budget - (pretrained ? 0 : c.collect)) / pp;
    long epochs[CMP_METHODS] = {c.budget / per[0], wm_epochs, c.budget / per[2], wm_epochs, wm_epochs};
    int wm_on = 0;  // some run needs a world model
    for (int m = 0; m < CMP_METHODS; m++) wm_on |= on[m] && uses_wm(m);
    for (int m = 0; m < CMP_METHODS; m++)
        if (on[m] && epochs[m] < 1) {
            fprintf(stderr, "pwm compare: --budget %ld leaves %s no epoch (%ld steps each%s)\n", c.budget,
                    cmp_method_titles[m], per[m], uses_wm(m) && !pretrained ? ", after its collection steps" : "");
            return 1;
        }
    if (nn_mkdirs(c.out)) {
        fprintf(stderr, "pwm compare: cannot create %s: %s\n", c.out, strerror(errno));
        return 1;
    }
    char plan[CMP_METHODS][256];
    snprintf(plan[0], 256, "SHAC %ld epochs x %ld", epochs[0], per[0]);
    if (pretrained)
        snprintf(plan[1], 256, "PWM %ld epochs x %ld, 8 fine-tuning steps each, from one world model (%s, %ld steps) "
                 "pretrained on %s, not counted", epochs[1], per[1], c.pretrain_wm ? "given" : c.wm_size,
                 c.pretrain_wm ? 0 : c.wm_steps, c.pretrain_data ? c.pretrain_data : "a SHAC run's whole history plus "
                 "random episodes");
    else
        snprintf(plan[1], 256, "PWM %ld random steps + world model (%s, %ld steps) + %ld epochs x %ld", c.collect,
                 c.wm_size, c.wm_steps, epochs[1], per[1]);
    snprintf(plan[2], 256, "PPO %ld epochs x %ld", epochs[2], per[2]);
    for (int m = CMP_HYBRID; m <= CMP_TRUE; m++)
        snprintf(plan[m], 256, "%s (pwm train --gradient %s) %ld epochs x %ld on %s world model",
                 cmp_method_titles[m], cmp_method_names[m], epochs[m], per[m],
                 pretrained ? "the same pretrained" : "PWM's seed's");
    printf("compare %s (%s, %s protocol): %d seeds, %ld env steps per run:", c.env, c.preset,
           pretrained ? "pretrained" : "matched", c.seeds, c.budget);
    for (int m = 0; m < CMP_METHODS; m++)
        if (on[m]) printf(" %s;", plan[m]);
    printf("\n");
    fflush(stdout);
    // contact overrides go to every stage that steps MuJoCo
    char ks[64], kd[64], *phys[5] = {NULL};
    if (c.contact_stiffness >= 0) {
        snprintf(ks, sizeof ks, "%.17g", c.contact_stiffness), snprintf(kd, sizeof kd, "%.17g", c.contact_damping);
        phys[0] = "--contact-stiffness", phys[1] = ks, phys[2] = "--contact-damping", phys[3] = kd;
    }
    // --device, then --pwm-extra's words (which may override it), appended to every PWM run
    char extra_buf[512], *extra[19] = {NULL};
    snprintf(extra_buf, sizeof extra_buf, "%s", c.pwm_extra ? c.pwm_extra : "");
    int nextra = 0;
    if (c.device) extra[nextra++] = "--device", extra[nextra++] = (char *)c.device;
    for (char *tok = strtok(extra_buf, " \t"); tok; tok = strtok(NULL, " \t")) {
        if (nextra == 18) {
            fprintf(stderr, "pwm compare: --pwm-extra holds more than 16 words\n");
            return 1;
        }
        extra[nextra++] = tok;
    }
    double t0 = nn_now();
    int stages = 0, done = 0;
    for (int m = 0; m < CMP_METHODS; m++) stages += on[m] * c.seeds;
    // pretrained: the task's dataset and world model, shared by every seed
    char pdir[1100], pdata[1200], pwm_file[1200];
    double wall_pre = 0;
    int train_wave = 2;  // matched: collect, pretrain, train; pretrained: after the shared stages
    if (pretrained && wm_on) {
        snprintf(pdir, sizeof pdir, "%s/pretrain", c.out);
        snprintf(pdata, sizeof pdata, "%s", c.pretrain_data ? c.pretrain_data : "");
        snprintf(pwm_file, sizeof pwm_file, "%s", c.pretrain_wm ? c.pretrain_wm : "");
        char fin[1200], started[1200];
        int g, rc;
        train_wave = !c.pretrain_data + !c.pretrain_wm;
        if (!c.pretrain_data) {
            pretrain_data_config dc = {c.env, c.preset, c.data_seed, c.data_epochs, c.collect, c.threads,
                                       phys[0] ? phys : NULL};
            snprintf(fin, sizeof fin, "%s/data.done", pdir), snprintf(started, sizeof started, "%s/shac", pdir);
            if ((g = gate(&c, 0, "pretrain-data", fin, started)) < 0) return 1;
            if (g && (rc = pretrain_data(&dc, pdir, exe))) return rc == PWM_EXIT_PREEMPTED ? rc : 1;
            snprintf(pdata, sizeof pdata, "%s/data", pdir);
        }
        if (!c.pretrain_wm) {
            pretrain_wm_config wc = {c.env, pdata, c.wm_size, c.wm_steps, c.data_seed, c.threads, c.reproduce_original,
                                     c.device};
            snprintf(fin, sizeof fin, "%s/wm.done", pdir);
            snprintf(started, sizeof started, "%s/wm.safetensors", pdir);
            if ((g = gate(&c, !c.pretrain_data, "pretrain-wm", fin, started)) < 0) return 1;
            if (g && (rc = pretrain_wm(&wc, pdir, exe))) return rc == PWM_EXIT_PREEMPTED ? rc : 1;
            snprintf(pwm_file, sizeof pwm_file, "%s/wm.safetensors", pdir);
        }
        char marker[1200];
        snprintf(marker, sizeof marker, "%s/data.done", pdir);
        wall_pre += fmax(res_stage_done(marker), 0);
        snprintf(marker, sizeof marker, "%s/wm.done", pdir);
        wall_pre += fmax(res_stage_done(marker), 0);
    }
    // merging: a plain run, or --stage merge; a plan or a single stage stop after the stages
    int merging = ex_merging(&c.ex);
    static curve cv[CMP_METHODS][MAX_SEEDS];
    char commits[512] = "";  // the runs' own commits (config.txt), which may differ from this binary's
    for (int s = 0; s < c.seeds; s++) {
        char logp[1300], run[1200];
        // the runs through PWM's networks (PWM, hybrid, true): the pretrained protocol's world model, or
        // (matched) the seed's own data and model, made before its first such run
        char data[1200], wm[1200];
        double wall_collect = 0, wall_wm = 0;
        int prepared = pretrained;
        if (pretrained) snprintf(data, sizeof data, "%s", pdata), snprintf(wm, sizeof wm, "%s", pwm_file);
        for (int m = 0; m < CMP_METHODS; m++) {
            if (!on[m]) continue;
            int rc = 0;
            if (uses_wm(m) && !prepared++)
                rc = run_wm_prep(&c, exe, s, phys, data, wm, &wall_collect, &wall_wm, logp, sizeof logp);
            if (!rc)
                rc = uses_wm(m) ? run_wm_learner(&c, exe, m, s, epochs[m], phys, extra, data, wm, pretrained,
                                                 train_wave, logp, sizeof logp)
                                : run_learner(&c, exe, cmp_method_names[m], s, epochs[m], phys, logp, sizeof logp);
            if (rc == PWM_EXIT_PREEMPTED) {
                fprintf(stderr, "pwm compare: a stage of seed %d was preempted after its checkpoint; run again to "
                        "continue\n", s);
                return rc;
            }
            if (rc) {
                fprintf(stderr, "pwm compare: a stage of seed %d failed; see %s (run again to continue where it "
                        "stopped)\n", s, logp);
                return 1;
            }
            if (!merging) continue;
            nn_progress("compare runs", ++done, stages, t0);
            // matched: the curves through a world model start after its collection steps and pretraining time
            run_dir(&c, m, s, run, sizeof run);
            rundir_add_commits(run, commits, sizeof commits);
            double w0 = uses_wm(m) ? wall_collect + wall_wm : 0;
            if (read_curve(run, uses_wm(m) && !pretrained ? (double)c.collect : 0, w0, &cv[m][s])) {
                fprintf(stderr, "pwm compare: cannot read %s/log.csv\n", run);
                return 1;
            }
        }
    }
    if (!merging) return 0;
    // results
    char path[1200], methods[64] = "", title[64] = "";
    snprintf(path, sizeof path, "%s/compare.csv", c.out);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "pwm compare: cannot write %s\n", path);
        return 1;
    }
    fprintf(f, "method,seed,env_steps,wall_s,eval_return\n");
    for (int m = 0; m < CMP_METHODS; m++)
        for (int s = 0; on[m] && s < c.seeds; s++)
            for (int k = 0; k < cv[m][s].n; k++)
                fprintf(f, "%s,%d,%.0f,%.2f,%.4f\n", cmp_method_names[m], s, cv[m][s].steps[k], cv[m][s].wall[k],
                        cv[m][s].ret[k]);
    fclose(f);
    double fin[CMP_METHODS][MAX_SEEDS], mean[CMP_METHODS], sd[CMP_METHODS], peak[CMP_METHODS], peak_at[CMP_METHODS];
    for (int m = 0; m < CMP_METHODS; m++) {
        if (!on[m]) continue;
        snprintf(path, sizeof path, "%s/curve-%s.csv", c.out, cmp_method_names[m]);
        write_mean_curve(path, cv[m], c.seeds);
        for (int s = 0; s < c.seeds; s++) fin[m][s] = cv[m][s].final;
        res_mean_std(fin[m], c.seeds, &mean[m], &sd[m]);
        peak[m] = peak_iqm(cv[m], c.seeds, &peak_at[m]);
        snprintf(methods + strlen(methods), sizeof methods - strlen(methods), "%s%s", *methods ? " " : "",
                 cmp_method_names[m]);
        snprintf(title + strlen(title), sizeof title - strlen(title), "%s%s", *title ? " vs " : "",
                 cmp_method_titles[m]);
    }
    snprintf(path, sizeof path, "%s/summary.csv", c.out);
    if ((f = fopen(path, "w"))) {
        fprintf(f, "method,seed,final_return\n");
        for (int s = 0; s < c.seeds; s++)
            for (int m = 0; m < CMP_METHODS; m++)
                if (on[m]) fprintf(f, "%s,%d,%.4f\n", cmp_method_names[m], s, fin[m][s]);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/peaks.csv", c.out);
    if ((f = fopen(path, "w"))) {
        fprintf(f, "method,peak_iqm,env_steps\n");
        for (int m = 0; m < CMP_METHODS; m++)
            if (on[m]) fprintf(f, "%s,%.4f,%.0f\n", cmp_method_names[m], peak[m], peak_at[m]);
        fclose(f);
    }
    // plots and summary.md: the shared helpers
    for (int p = 0; p < 2; p++) {
        char vars[1600];
        snprintf(vars, sizeof vars, "dir='%s'; x=%d; methods='%s'; title='%s: %s (%d seeds, mean and min-max)'", c.out, p,
                 methods, c.env, title, c.seeds);
        res_gnuplot("compare.gp", vars);
    }
    char heading[256], command[2048], seeds[64];
    snprintf(heading, sizeof heading, "%s on %s (%s preset)", title, c.env, c.preset);
    int len = snprintf(command, sizeof command, "pwm compare --env %s --preset %s --protocol %s --seeds %d --methods %s "
                       "--out %s%s%s%s%s%s%s", c.env, c.preset, pretrained ? "pretrained" : "matched", c.seeds,
                       c.methods ? c.methods : "shac,pwm,ppo", c.out, c.threads ? " --threads N" : "",
                       c.device ? " --device " : "", c.device ? c.device : "", c.pwm_extra ? " --pwm-extra '" : "",
                       c.pwm_extra ? c.pwm_extra : "", c.pwm_extra ? "'" : "");
    if (phys[0]) len = command_append(command, sizeof command, len, " --contact-stiffness %s --contact-damping %s", ks, kd);
    if (budget_given) len = command_append(command, sizeof command, len, " --budget %ld", c.budget);
    if (pretrained && c.pretrain_data)
        len = command_append(command, sizeof command, len, " --pretrain-data %s", c.pretrain_data);
    if (pretrained && c.pretrain_wm) command_append(command, sizeof command, len, " --pretrain-wm %s", c.pretrain_wm);
    snprintf(seeds, sizeof seeds, "0..%d", c.seeds - 1);
    if ((f = res_summary_open(c.out, heading, command, seeds, nn_now() - t0))) {
        fprintf(f, "Commits of the runs (their config.txt, resumes included): %s  \n\n", *commits ? commits : "none");
        if (pretrained && wm_on && c.pretrain_wm)
            fprintf(f, "Protocol: pretrained (the paper's). One world model for every seed, given: %s, with %s as "
                    "every run's first replay data (its dataset.txt gives the recipe), not counted. ", pwm_file,
                    pdata);
        else if (pretrained && wm_on)
            fprintf(f, "Protocol: pretrained (the paper's). One world model for every seed, pretrained on %s (its "
                    "dataset.txt gives the recipe; data seed %ld) in %.0f s, not counted. ", pdata, c.data_seed,
                    wall_pre);
        else if (pretrained)
            fprintf(f, "Protocol: pretrained (the paper's); no method here learns through a world model, so "
                    "nothing was pretrained. ");
        else
            fprintf(f, "Protocol: matched. ");
        fprintf(f, "Budget per run: %ld environment steps.", c.budget);
        for (int m = 0; m < CMP_METHODS; m++)
            if (on[m]) fprintf(f, " %s%s.", plan[m], uses_wm(m) && !pretrained ? " (the random steps count)" : "");
        fprintf(f, "\n\n| method | final deterministic return, mean +- std over seeds | per seed | peak IQM over "
                "seeds (at env steps) |\n|---|---|---|---|\n");
        for (int m = 0; m < CMP_METHODS; m++) {
            if (!on[m]) continue;
            fprintf(f, "| %s | %.1f +- %.1f | ", cmp_method_titles[m], mean[m], sd[m]);
            for (int s = 0; s < c.seeds; s++) fprintf(f, "%s%.1f", s ? ", " : "", fin[m][s]);
            fprintf(f, " | %.1f (%.0f) |\n", peak[m], peak_at[m]);
        }
        fprintf(f, "\nSeeds 0..%d. Final return: eval.csv of each run (deterministic policy, at least 10 episodes in "
                "the real MuJoCo task). Peak IQM: the best, over the evaluations along training, of the IQM over "
                "seeds (the paper's normaliser, for PPO). Curves: return_vs_steps.png, return_vs_time.png (matched "
                "protocol: PWM's curve starts after its collection steps and pretraining time). Per-run directories hold config.txt, "
                "log.csv, timing.csv and checkpoints.\n", c.seeds - 1);
        fclose(f);
    }
    for (int m = 0; m < CMP_METHODS; m++)
        if (on[m]) printf("%s final return %.1f +- %.1f; ", cmp_method_titles[m], mean[m], sd[m]);
    printf("over %d seeds; %s/summary.md\n", c.seeds, c.out);
    return 0;
}
