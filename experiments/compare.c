#include "compare.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../nn/common.h"
#include "../policy/pwm.h"
#include "../policy/shac.h"
#include "pretrain.h"
#include "results.h"
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

// the evaluations of a run's log.csv (columns epoch, env_steps, wall_s, train, eval, ...), offset
static int read_curve(const char *dir, double step0, double wall0, curve *cv) {
    char path[1200], line[1024];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    cv->n = 0;
    while (fgets(line, sizeof line, f) && cv->n < MAX_EVALS) {
        double v[5];
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2], &v[3], &v[4]) == 5 && isfinite(v[4])) {
            cv->steps[cv->n] = v[1] + step0, cv->wall[cv->n] = v[2] + wall0, cv->ret[cv->n] = v[4];
            cv->n++;
        }
    }
    fclose(f);
    cv->final = res_final_return(dir);
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

int compare_run(const compare_config *cc, const char *exe) {
    compare_config c = *cc;
    int paper = !strcmp(c.preset, "paper");
    char err[1024];
    shac_config sc;
    pwm_config pc;
    if (shac_preset(&sc, c.env, c.preset, err, sizeof err) || pwm_preset(&pc, c.env, c.preset, err, sizeof err)) {
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
    // pretrained protocol's quick model: docs/pwm.md "The pretrained protocol"
    if (!c.budget) c.budget = paper ? 10240000 : pretrained ? QUICK_PRETRAINED_BUDGET : 300000;
    if (!c.collect) c.collect = paper ? 200000 : 20000;
    if (!c.wm_steps) c.wm_steps = paper ? 50000 : pretrained ? QUICK_PRETRAINED_WM_STEPS : 2000;
    if (!c.wm_size) c.wm_size = paper ? "paper" : pretrained ? QUICK_PRETRAINED_WM_SIZE : "small";
    if (!c.evals) c.evals = paper ? 50 : 10;
    if (!c.data_seed) c.data_seed = 100;
    long shac_per = (long)sc.envs * sc.horizon, pwm_per = (long)pc.envs * pc.horizon;
    long shac_epochs = c.budget / shac_per, pwm_epochs = (c.budget - (pretrained ? 0 : c.collect)) / pwm_per;
    if (pwm_epochs < 1 || shac_epochs < 1) {
        fprintf(stderr, "pwm compare: --budget %ld leaves no epochs after PWM's %ld collection steps\n", c.budget,
                c.collect);
        return 1;
    }
    if (nn_mkdirs(c.out)) {
        fprintf(stderr, "pwm compare: cannot create %s: %s\n", c.out, strerror(errno));
        return 1;
    }
    char protocol[600];
    if (pretrained)
        snprintf(protocol, sizeof protocol, "pretrained protocol: one world model (%s, %ld steps) pretrained on %s, "
                 "not counted", c.pretrain_wm ? "given" : c.wm_size, c.pretrain_wm ? 0 : c.wm_steps,
                 c.pretrain_data ? c.pretrain_data : "a SHAC run's whole history plus random episodes");
    else
        snprintf(protocol, sizeof protocol, "matched protocol: PWM's %ld random steps and its world model (%s, %ld "
                 "steps) count against its budget", c.collect, c.wm_size, c.wm_steps);
    printf("compare %s (%s): %d seeds, %ld online env steps per run: SHAC %ld epochs x %ld; PWM %ld epochs x %ld; %s\n",
           c.env, c.preset, c.seeds, c.budget, shac_epochs, shac_per, pwm_epochs, pwm_per, protocol);
    fflush(stdout);
    // contact overrides go to every stage that steps MuJoCo
    char ks[64], kd[64], *phys[5] = {NULL};
    if (c.contact_stiffness >= 0) {
        snprintf(ks, sizeof ks, "%.17g", c.contact_stiffness), snprintf(kd, sizeof kd, "%.17g", c.contact_damping);
        phys[0] = "--contact-stiffness", phys[1] = ks, phys[2] = "--contact-damping", phys[3] = kd;
    }
    // --pwm-extra: its words, appended to every PWM run
    char extra_buf[512], *extra[17] = {NULL};
    snprintf(extra_buf, sizeof extra_buf, "%s", c.pwm_extra ? c.pwm_extra : "");
    int nextra = 0;
    for (char *tok = strtok(extra_buf, " \t"); tok; tok = strtok(NULL, " \t")) {
        if (nextra == 16) {
            fprintf(stderr, "pwm compare: --pwm-extra holds more than 16 words\n");
            return 1;
        }
        extra[nextra++] = tok;
    }
    double t0 = nn_now();
    int stages = pretrained ? 2 + 2 * c.seeds : 4 * c.seeds, done = 0;
    // pretrained: the task's dataset and world model, shared by every seed
    char pdir[1100], pdata[1200], pwm_file[1200];
    double wall_pre = 0;
    if (pretrained) {
        snprintf(pdir, sizeof pdir, "%s/pretrain", c.out);
        snprintf(pdata, sizeof pdata, "%s", c.pretrain_data ? c.pretrain_data : "");
        snprintf(pwm_file, sizeof pwm_file, "%s", c.pretrain_wm ? c.pretrain_wm : "");
        if (!c.pretrain_data) {
            pretrain_data_config dc = {c.env, c.preset, c.data_seed, c.data_epochs, c.collect, c.threads,
                                       phys[0] ? phys : NULL};
            if (pretrain_data(&dc, pdir, exe)) return 1;
            snprintf(pdata, sizeof pdata, "%s/data", pdir);
        }
        nn_progress("compare stages", ++done, stages, t0);
        if (!c.pretrain_wm) {
            pretrain_wm_config wc = {c.env, pdata, c.wm_size, c.wm_steps, c.data_seed, c.threads, c.reproduce_original};
            if (pretrain_wm(&wc, pdir, exe)) return 1;
            snprintf(pwm_file, sizeof pwm_file, "%s/wm.safetensors", pdir);
        }
        nn_progress("compare stages", ++done, stages, t0);
        char marker[1200];
        snprintf(marker, sizeof marker, "%s/data.done", pdir);
        wall_pre += fmax(res_stage_done(marker), 0);
        snprintf(marker, sizeof marker, "%s/wm.done", pdir);
        wall_pre += fmax(res_stage_done(marker), 0);
    }
    static curve shac_cv[MAX_SEEDS], pwm_cv[MAX_SEEDS];
    for (int s = 0; s < c.seeds; s++) {
        char dir[1100], data[1200], wm[1200], run[1200], marker[1300], logp[1300];
        char a[16][64];
        snprintf(dir, sizeof dir, "%s/pwm-seed%d", c.out, s);
        snprintf(data, sizeof data, "%s/data", dir);
        snprintf(wm, sizeof wm, "%s/wm.safetensors", dir);
        snprintf(run, sizeof run, "%s/run", dir);
        snprintf(logp, sizeof logp, "%s/stages.log", dir);
        nn_mkdirs(dir);
        snprintf(a[0], 64, "%d", s), snprintf(a[1], 64, "%ld", c.collect), snprintf(a[2], 64, "%d", c.threads);
        snprintf(a[4], 64, "%ld", pwm_epochs);
        snprintf(a[5], 64, "%ld", pwm_epochs / c.evals > 0 ? pwm_epochs / c.evals : 1);
        snprintf(a[6], 64, "%ld", shac_epochs), snprintf(a[7], 64, "%ld", shac_epochs / c.evals > 0 ? shac_epochs / c.evals : 1);
        double wall_collect = 0, wall_wm = 0;
        if (pretrained) {
            snprintf(data, sizeof data, "%s", pdata);
            snprintf(wm, sizeof wm, "%s", pwm_file);
        }
        // 1. random-policy data (matched protocol)
        snprintf(marker, sizeof marker, "%s/collect.done", dir);
        if (!pretrained && (wall_collect = res_stage_done(marker)) < 0) {
            char cmd_data[1200];
            snprintf(cmd_data, sizeof cmd_data, "%s", data);
            char *args[] = {(char *)exe, "collect", "--env", (char *)c.env, "--policy", "random", "--steps", a[1],
                            "--out", cmd_data, "--seed", a[0], "--threads", a[2], NULL, NULL, NULL, NULL, NULL};
            res_add_args(args, phys);
            double t = nn_now();
            if (res_run_stage(exe, args, logp)) goto fail;
            res_mark_done(marker, wall_collect = nn_now() - t);
        }
        // 2. world-model pretraining (matched protocol)
        if (!pretrained) {
            nn_progress("compare stages", ++done, stages, t0);
            pretrain_wm_config wc = {c.env, data, c.wm_size, c.wm_steps, s, c.threads, c.reproduce_original};
            if (pretrain_wm(&wc, dir, exe)) goto fail;
            snprintf(marker, sizeof marker, "%s/wm.done", dir);
            wall_wm = res_stage_done(marker);
            nn_progress("compare stages", ++done, stages, t0);
        }
        // 3. PWM, online
        snprintf(marker, sizeof marker, "%s/eval.csv", run);
        if (!nn_file_exists(marker)) {
            char logcsv[1300];
            snprintf(logcsv, sizeof logcsv, "%s/log.csv", run);
            int resume = nn_file_exists(logcsv);
            char *args[] = {(char *)exe, "train", "--env", (char *)c.env, "--preset", (char *)c.preset, "--wm", wm,
                            "--data", data, "--epochs", a[4], "--eval-every", a[5], "--save-every", a[5], "--seed", a[0],
                            "--threads", a[2], "--out", run, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                            NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
            // the pretrained protocol fine-tunes as the paper does, 8 steps per epoch
            char *res[5] = {resume ? "--resume" : NULL, NULL, NULL, NULL, NULL}, **r = res + (resume ? 1 : 0);
            if (c.reproduce_original) *r++ = "--reproduce-original";
            if (pretrained) *r++ = "--wm-iters", *r++ = "8";
            res_add_args(args, res), res_add_args(args, phys), res_add_args(args, extra);
            if (res_run_stage(exe, args, logp)) goto fail;
        }
        nn_progress("compare stages", ++done, stages, t0);
        // 4. SHAC
        snprintf(run, sizeof run, "%s/shac-seed%d", c.out, s);
        snprintf(marker, sizeof marker, "%s/eval.csv", run);
        snprintf(logp, sizeof logp, "%s/shac-seed%d.log", c.out, s);
        if (!nn_file_exists(marker)) {
            char logcsv[1300];
            snprintf(logcsv, sizeof logcsv, "%s/log.csv", run);
            int resume = nn_file_exists(logcsv);
            char *args[] = {(char *)exe, "shac", "--env", (char *)c.env, "--preset", (char *)c.preset, "--epochs", a[6],
                            "--eval-every", a[7], "--save-every", a[7], "--seed", a[0], "--threads", a[2], "--out", run,
                            NULL, NULL, NULL, NULL, NULL, NULL};
            char *res[2] = {resume ? "--resume" : NULL, NULL};
            res_add_args(args, res), res_add_args(args, phys);
            if (res_run_stage(exe, args, logp)) goto fail;
        }
        nn_progress("compare stages", ++done, stages, t0);
        snprintf(run, sizeof run, "%s/pwm-seed%d/run", c.out, s);
        if (read_curve(run, pretrained ? 0.0 : (double)c.collect, wall_collect + wall_wm, &pwm_cv[s])) goto fail;
        snprintf(run, sizeof run, "%s/shac-seed%d", c.out, s);
        if (read_curve(run, 0, 0, &shac_cv[s])) goto fail;
        continue;
    fail:
        fprintf(stderr, "pwm compare: a stage of seed %d failed; see %s (run again to continue where it stopped)\n", s,
                logp);
        return 1;
    }
    // results
    char path[1200];
    snprintf(path, sizeof path, "%s/compare.csv", c.out);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "pwm compare: cannot write %s\n", path);
        return 1;
    }
    fprintf(f, "method,seed,env_steps,wall_s,eval_return\n");
    for (int m = 0; m < 2; m++)
        for (int s = 0; s < c.seeds; s++) {
            const curve *cv = m ? &pwm_cv[s] : &shac_cv[s];
            for (int k = 0; k < cv->n; k++)
                fprintf(f, "%s,%d,%.0f,%.2f,%.4f\n", m ? "pwm" : "shac", s, cv->steps[k], cv->wall[k], cv->ret[k]);
        }
    fclose(f);
    snprintf(path, sizeof path, "%s/curve-shac.csv", c.out);
    write_mean_curve(path, shac_cv, c.seeds);
    snprintf(path, sizeof path, "%s/curve-pwm.csv", c.out);
    write_mean_curve(path, pwm_cv, c.seeds);
    double fs[MAX_SEEDS], fp[MAX_SEEDS], ms, ss, mp, sp;
    for (int s = 0; s < c.seeds; s++) fs[s] = shac_cv[s].final, fp[s] = pwm_cv[s].final;
    res_mean_std(fs, c.seeds, &ms, &ss);
    res_mean_std(fp, c.seeds, &mp, &sp);
    snprintf(path, sizeof path, "%s/summary.csv", c.out);
    if ((f = fopen(path, "w"))) {
        fprintf(f, "method,seed,final_return\n");
        for (int s = 0; s < c.seeds; s++) fprintf(f, "shac,%d,%.4f\npwm,%d,%.4f\n", s, fs[s], s, fp[s]);
        fclose(f);
    }
    // plots: the script sits in plots/ of the tree this program was built in (exe: .../build/pwm)
    char gp[PATH_MAX + 32];
    res_plot_script(gp, sizeof gp, exe, "compare.gp");
    for (int p = 0; p < 2; p++) {
        char cmd[8800];
        snprintf(cmd, sizeof cmd,
                 "gnuplot -e \"dir='%s'; x=%d; title='%s: SHAC vs PWM (%d seeds, mean and min-max)'\" '%s'",
                 c.out, p, c.env, c.seeds, gp);
        if (system(cmd)) fprintf(stderr, "pwm compare: gnuplot failed (%s); the CSVs are written\n", cmd);
    }
    snprintf(path, sizeof path, "%s/summary.md", c.out);
    char machine[300];
    res_machine(machine, sizeof machine);
    if ((f = fopen(path, "w"))) {
        fprintf(f, "# SHAC vs PWM on %s (%s preset)\n\n", c.env, c.preset);
        fprintf(f, "Command: `pwm compare --env %s --preset %s --protocol %s --seeds %d --out %s%s%s%s%s`", c.env,
                c.preset, pretrained ? "pretrained" : "matched", c.seeds, c.out, c.threads ? " --threads N" : "",
                c.pwm_extra ? " --pwm-extra '" : "", c.pwm_extra ? c.pwm_extra : "", c.pwm_extra ? "'" : "");
        if (phys[0]) fprintf(f, " with `--contact-stiffness %s --contact-damping %s`", ks, kd);
        fprintf(f, "  \n");
        fprintf(f, "Git commit: %s  \nMachine: %s  \nWall time of this invocation: %.0f s  \n\n", PWM_GIT_COMMIT,
                machine, nn_now() - t0);
        if (pretrained)
            fprintf(f, "Protocol: pretrained (the paper's). One world model for every seed, pretrained on %s (its "
                    "dataset.txt gives the recipe; data seed %ld) in %.0f s, not counted. Online budget per run: %ld "
                    "environment steps. SHAC: %ld epochs x %ld steps. PWM: %ld epochs x %ld steps, 8 fine-tuning "
                    "steps per epoch (the paper's).\n\n", pdata,
                    c.data_seed, wall_pre, c.budget, shac_epochs, shac_per, pwm_epochs, pwm_per);
        else
            fprintf(f, "Protocol: matched. Budget per run: %ld environment steps. SHAC: %ld epochs x %ld steps. PWM: %ld "
                    "random-policy steps for pretraining (counted) + world model %s, %ld steps + %ld epochs x %ld "
                    "steps.\n\n", c.budget, shac_epochs, shac_per, c.collect, c.wm_size, c.wm_steps, pwm_epochs,
                    pwm_per);
        fprintf(f, "| method | final deterministic return, mean +- std over seeds | per seed |\n|---|---|---|\n");
        for (int m = 0; m < 2; m++) {
            fprintf(f, "| %s | %.1f +- %.1f | ", m ? "PWM" : "SHAC", m ? mp : ms, m ? sp : ss);
            for (int s = 0; s < c.seeds; s++) fprintf(f, "%s%.1f", s ? ", " : "", m ? fp[s] : fs[s]);
            fprintf(f, " |\n");
        }
        fprintf(f, "\nSeeds 0..%d. Final return: eval.csv of each run (deterministic policy, at least 10 episodes in "
                "the real MuJoCo task). Curves: return_vs_steps.png, return_vs_time.png (matched protocol: PWM's curve "
                "starts after its collection steps and pretraining time). Per-run directories hold config.txt, log.csv, timing.csv and "
                "checkpoints.\n", c.seeds - 1);
        fclose(f);
    }
    printf("SHAC final return %.1f +- %.1f, PWM %.1f +- %.1f over %d seeds; %s/summary.md\n", ms, ss, mp, sp, c.seeds,
           c.out);
    return 0;
}
