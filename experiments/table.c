#include "table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../nn/common.h"
#include "../nn/exitcode.h"
#include "../nn/rng.h"
#include "compare.h"
#include "results.h"

#define MAX_TASKS 8
#define MAX_SEEDS 32
#define BOOT_REPS 2000

double iqm(const double *x, int n) {
    if (n < 1) return NAN;
    double *s = nn_malloc(sizeof(double) * n), sum = 0;
    memcpy(s, x, sizeof(double) * n);
    qsort(s, (size_t)n, sizeof(double), nn_cmp_double);
    int cut = n / 4;
    for (int i = cut; i < n - cut; i++) sum += s[i];
    nn_free(s);
    return sum / (n - 2 * cut);
}

void iqm_bootstrap_ci(const double *const *x, const int *n, int strata, int reps, uint64_t seed, double *lo,
                      double *hi) {
    int total = 0;
    for (int s = 0; s < strata; s++) total += n[s];
    double *sample = nn_malloc(sizeof(double) * total), *stat = nn_malloc(sizeof(double) * reps);
    nn_rng r;
    nn_rng_init(&r, seed, 77);
    for (int k = 0; k < reps; k++) {
        int m = 0;
        for (int s = 0; s < strata; s++)
            for (int i = 0; i < n[s]; i++) sample[m++] = x[s][nn_rng_u32(&r) % (uint32_t)n[s]];
        stat[k] = iqm(sample, total);
    }
    qsort(stat, (size_t)reps, sizeof(double), nn_cmp_double);
    *lo = stat[(int)floor(0.025 * (reps - 1))];
    *hi = stat[(int)ceil(0.975 * (reps - 1))];
    nn_free(sample), nn_free(stat);
}

// the final returns of a comparison's summary.csv (method,seed,final_return) of the methods on[]
static int read_summary(const char *dir, int seeds, const int *on, double v[CMP_METHODS][MAX_SEEDS]) {
    char path[1200], line[256], method[32];
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int got = 0, want = 0, s;
    double x;
    for (int m = 0; m < CMP_METHODS; m++) want += on[m] * seeds;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%31[^,],%d,%lf", method, &s, &x) == 3 && s >= 0 && s < seeds)
            for (int m = 0; m < CMP_METHODS; m++)
                if (on[m] && !strcmp(method, cmp_method_names[m])) v[m][s] = x, got++;
    fclose(f);
    return got == want ? 0 : -1;
}

// a method's peak IQM from a comparison's peaks.csv (method,peak_iqm,env_steps); NAN when missing
static double read_peak(const char *dir, const char *method) {
    char path[1200], line[256], m[32];
    snprintf(path, sizeof path, "%s/peaks.csv", dir);
    FILE *f = fopen(path, "r");
    double v, at, peak = NAN;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%31[^,],%lf,%lf", m, &v, &at) >= 2 && !strcmp(m, method)) peak = v;
    if (f) fclose(f);
    return peak;
}

// quick budgets per task (2 cores: the table's quick preset is a smoke-scale run, docs/experiments.md)
static void quick_budget(compare_config *cc, const char *task) {
    static const struct {
        const char *task;
        long budget, collect, wm_steps;
    } q[] = {{"hopper", 61440, 10240, 600},
             {"ant", 30720, 8192, 400},
             {"humanoid", 8192, 4096, 300},
             {"snu-humanoid", 3072, 2048, 200}};
    cc->budget = 20480, cc->collect = 4096, cc->wm_steps = 300;
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        if (!strcmp(task, q[i].task)) cc->budget = q[i].budget, cc->collect = q[i].collect, cc->wm_steps = q[i].wm_steps;
    cc->evals = 4;
}

// IQM and its CI of one method's values on one task
static void iqm_row(const double *v, int n, uint64_t seed, double *m, double *lo, double *hi) {
    *m = iqm(v, n);
    iqm_bootstrap_ci(&v, &n, 1, BOOT_REPS, seed, lo, hi);
}

int table_run(const table_config *c, const char *exe, const char *command) {
    char dir[1024], err[1024], tasks[256], *names[MAX_TASKS];
    if (res_dir(dir, sizeof dir, "table", c->out, err, sizeof err)) {
        fprintf(stderr, "pwm experiment table: %s\n", err);
        return 1;
    }
    if (c->seeds < 1 || c->seeds > MAX_SEEDS) {
        fprintf(stderr, "pwm experiment table: --seeds must be 1..%d\n", MAX_SEEDS);
        return 1;
    }
    // the normaliser: PPO's peak IQM per task (the paper's), or SHAC's final IQM
    const char *norm = c->normalise ? c->normalise : "ppo";
    int by_ppo = !strcmp(norm, "ppo"), on[CMP_METHODS] = {[CMP_SHAC] = 1, [CMP_PWM] = 1, [CMP_PPO] = 1};
    if (!by_ppo && strcmp(norm, "shac")) {
        fprintf(stderr, "pwm experiment table: --normalise %s: use ppo or shac\n", norm);
        return 1;
    }
    snprintf(tasks, sizeof tasks, "%s", c->tasks ? c->tasks : "hopper,ant,humanoid,snu-humanoid");
    int nt = 0;
    for (char *t = strtok(tasks, ","); t && nt < MAX_TASKS; t = strtok(NULL, ",")) names[nt++] = t;
    int paper = !strcmp(c->preset, "paper");
    double t0 = nn_now(), scale[MAX_TASKS];
    static double v[MAX_TASKS][CMP_METHODS][MAX_SEEDS];
    for (int t = 0; t < nt; t++) {
        char sub[1100];
        snprintf(sub, sizeof sub, "%s/%s", dir, names[t]);
        compare_config cc = {.env = names[t], .preset = c->preset, .out = sub, .seeds = c->seeds, .threads = c->threads,
                             .contact_stiffness = -1, .contact_damping = -1};
        if (!paper) quick_budget(&cc, names[t]);
        if (c->budget) cc.budget = c->budget;
        if (c->collect) cc.collect = c->collect;
        if (c->wm_steps) cc.wm_steps = c->wm_steps;
        if (c->evals) cc.evals = c->evals;
        char prefix[128];
        if (!ex_sub(&c->ex, names[t], &cc.ex, prefix, sizeof prefix)) continue;
        printf("== table: %s (%d of %d)\n", names[t], t + 1, nt);
        fflush(stdout);
        int rc = compare_run(&cc, exe);
        if (!ex_merging(&c->ex) && rc == 0) continue;
        if (rc || read_summary(sub, c->seeds, on, v[t])) {
            fprintf(stderr, "pwm experiment table: the comparison on %s %s; run the same command again to continue\n",
                    names[t], rc == PWM_EXIT_PREEMPTED ? "was preempted" : "failed");
            return rc == PWM_EXIT_PREEMPTED ? rc : 1;
        }
        scale[t] = by_ppo ? read_peak(sub, "ppo") : iqm(v[t][0], c->seeds);
    }
    if (!ex_merging(&c->ex)) return 0;
    // per task: IQM [95% CI] over seeds; aggregate: every score divided by the task's normaliser
    char path[1200];
    snprintf(path, sizeof path, "%s/table.csv", dir);
    FILE *f = fopen(path, "w");
    snprintf(path, sizeof path, "%s/table.md", dir);
    FILE *md = fopen(path, "w");
    if (!f || !md) {
        fprintf(stderr, "pwm experiment table: cannot write in %s\n", dir);
        if (f) fclose(f);
        if (md) fclose(md);
        return 1;
    }
    fprintf(f, "task,method,iqm,ci_low,ci_high,mean,seeds,normaliser\n");
    fprintf(md, "| task | SHAC IQM [95%% CI] | PWM IQM [95%% CI] | PPO IQM [95%% CI] | normaliser (%s) |\n"
            "|---|---|---|---|---|\n", by_ppo ? "PPO's peak IQM" : "SHAC's IQM");
    // the pooled row needs a positive normaliser: tasks where it is <= 0 are left out of it
    static double normed[CMP_METHODS][MAX_TASKS][MAX_SEEDS];
    const double *xs[CMP_METHODS][MAX_TASKS];
    double all[CMP_METHODS][MAX_TASKS * MAX_SEEDS];
    int ns[MAX_TASKS], np = 0, total = 0;
    for (int t = 0; t < nt; t++) {
        fprintf(md, "| %s |", names[t]);
        for (int m = 0; m < CMP_METHODS; m++) {
            if (!on[m]) continue;
            double q, lo, hi, mean = 0;
            iqm_row(v[t][m], c->seeds, 1 + (uint64_t)m, &q, &lo, &hi);
            for (int s = 0; s < c->seeds; s++) mean += v[t][m][s] / c->seeds;
            fprintf(f, "%s,%s,%.4f,%.4f,%.4f,%.4f,%d,%.4f\n", names[t], cmp_method_names[m], q, lo, hi, mean, c->seeds,
                    scale[t]);
            fprintf(md, " %.1f [%.1f, %.1f] |", q, lo, hi);
        }
        if (!(scale[t] > 0)) {
            fprintf(md, " %.1f (not positive: left out of the pooled row) |\n", scale[t]);
            continue;
        }
        fprintf(md, " %.1f |\n", scale[t]);
        for (int m = 0; m < CMP_METHODS; m++) {
            if (!on[m]) continue;
            for (int s = 0; s < c->seeds; s++) normed[m][np][s] = all[m][total + s] = v[t][m][s] / scale[t];
            xs[m][np] = normed[m][np];
        }
        ns[np++] = c->seeds, total += c->seeds;
    }
    if (np) {
        fprintf(md, "| all (÷ %s per task; %d of %d tasks) |", by_ppo ? "PPO's peak IQM" : "SHAC's IQM", np, nt);
        for (int m = 0; m < CMP_METHODS; m++) {
            if (!on[m]) continue;
            double a = iqm(all[m], total), lo, hi;
            iqm_bootstrap_ci(xs[m], ns, np, BOOT_REPS, 3 + (uint64_t)m, &lo, &hi);
            fprintf(md, " %.2f [%.2f, %.2f] |", a, lo, hi);
            fprintf(f, "all,%s_normalised,%.4f,%.4f,%.4f,,%d,%s\n", cmp_method_names[m], a, lo, hi, total, norm);
        }
        fprintf(md, " |\n");
    }
    fclose(f), fclose(md);
    char seeds[64];
    snprintf(seeds, sizeof seeds, "0..%d per task and method", c->seeds - 1);
    FILE *sm = res_summary_open(dir, "Single-task table: SHAC, PWM and PPO", command, seeds, nn_now() - t0);
    if (!sm) return 1;
    fprintf(sm, "\nFinal deterministic return (eval.csv of each run, at least 10 episodes in MuJoCo); IQM over seeds "
            "(trim 25%% each side) with a bootstrap 95%% CI (%d resamples of the seeds); the last row pools every "
            "task's scores divided by %s (tasks where it is not positive are left out), with a stratified bootstrap "
            "(seeds resampled within tasks). %s\n\n", BOOT_REPS,
            by_ppo ? "PPO's peak IQM on that task (the best, over its evaluations along training, of the IQM over "
                     "seeds: the paper's normaliser)"
                   : "SHAC's IQM on that task",
            paper ? "Paper preset: each comparison at pwm compare's paper budget."
                  : "Quick preset: smoke-scale budgets for 2 cores (environment steps per run: hopper 61k, ant 31k, "
                    "humanoid 8k, snu-humanoid 3k); the numbers show the pipeline works, not the methods' "
                    "asymptotes.");
    snprintf(path, sizeof path, "%s/table.md", dir);
    FILE *in = fopen(path, "r");
    char line[1024];
    while (in && fgets(line, sizeof line, in)) fputs(line, sm);
    if (in) fclose(in);
    fprintf(sm, "\nLearning curves: ");
    for (int t = 0; t < nt; t++) fprintf(sm, "%s[%s](%s/return_vs_steps.png)", t ? ", " : "", names[t], names[t]);
    fprintf(sm, " (each task's directory holds its comparison: runs, compare.csv, summary.md).\n");
    fclose(sm);
    printf("table: %s/table.md\n", dir);
    return 0;
}

int stiffness_run(const stiffness_config *c, const char *exe, const char *command) {
    char dir[1024], err[1024];
    if (res_dir(dir, sizeof dir, "stiffness", c->out, err, sizeof err)) {
        fprintf(stderr, "pwm experiment stiffness: %s\n", err);
        return 1;
    }
    if (c->seeds < 1 || c->seeds > MAX_SEEDS) {
        fprintf(stderr, "pwm experiment stiffness: --seeds must be 1..%d\n", MAX_SEEDS);
        return 1;
    }
    int paper = !strcmp(c->preset, "paper"), on[CMP_METHODS];
    const char *methods = c->methods ? c->methods : "shac,pwm";
    if (compare_methods(methods, on, err, sizeof err)) {
        fprintf(stderr, "pwm experiment stiffness: %s\n", err);
        return 1;
    }
    double t0 = nn_now(), v[2][CMP_METHODS][MAX_SEEDS];
    const char *cond[2] = {"default", "stiff"};
    for (int k = 0; k < 2; k++) {
        char sub[1100];
        snprintf(sub, sizeof sub, "%s/%s", dir, cond[k]);
        compare_config cc = {.env = "hopper", .preset = c->preset, .out = sub, .methods = methods, .seeds = c->seeds,
                             .threads = c->threads, .contact_stiffness = k ? c->stiffness : -1,
                             .contact_damping = k ? c->damping : -1};
        if (!paper) cc.budget = 102400, cc.collect = 20480, cc.wm_steps = 1000, cc.evals = 5;
        char prefix[128];
        if (!ex_sub(&c->ex, cond[k], &cc.ex, prefix, sizeof prefix)) continue;
        printf("== stiffness: %s contacts\n", cond[k]);
        fflush(stdout);
        int rc = compare_run(&cc, exe);
        if (!ex_merging(&c->ex) && rc == 0) continue;
        if (rc || read_summary(sub, c->seeds, on, v[k])) {
            fprintf(stderr, "pwm experiment stiffness: the %s comparison %s; run the same command again to "
                    "continue\n", cond[k], rc == PWM_EXIT_PREEMPTED ? "was preempted" : "failed");
            return rc == PWM_EXIT_PREEMPTED ? rc : 1;
        }
    }
    if (!ex_merging(&c->ex)) return 0;
    char path[1200];
    snprintf(path, sizeof path, "%s/stiffness.csv", dir);
    FILE *f = fopen(path, "w");
    char seeds[64];
    snprintf(seeds, sizeof seeds, "0..%d per method and contact setting", c->seeds - 1);
    char heading[128] = "Contact stiffness (Hopper):";
    for (int m = 0, n = 0; m < CMP_METHODS; m++)
        if (on[m]) snprintf(heading + strlen(heading), sizeof heading - strlen(heading), "%s %s", n++ ? " vs" : "",
                            cmp_method_titles[m]);
    FILE *sm = res_summary_open(dir, heading, command, seeds, nn_now() - t0);
    if (!f || !sm) {
        if (f) fclose(f);
        if (sm) fclose(sm);
        return 1;
    }
    fprintf(f, "contacts,method,iqm,ci_low,ci_high,mean\n");
    fprintf(sm, "\nStiff contacts: `--contact-stiffness %g --contact-damping %g` (the paper's ke 1e5, kd 1e4 in this "
            "project's mapping, docs/tasks.md). %s Final deterministic returns, IQM over seeds [bootstrap 95%% CI]:\n\n"
            "| contacts |", c->stiffness, c->damping,
            paper ? "Paper preset: pwm compare's paper budget per run."
                  : "Quick preset: 0.1M environment steps per run (2 cores).");
    for (int m = 0; m < CMP_METHODS; m++)
        if (on[m]) fprintf(sm, " %s |", cmp_method_titles[m]);
    fprintf(sm, "\n|---|");
    for (int m = 0; m < CMP_METHODS; m++)
        if (on[m]) fprintf(sm, "---|");
    fprintf(sm, "\n");
    for (int k = 0; k < 2; k++) {
        fprintf(sm, "| %s |", cond[k]);
        for (int m = 0; m < CMP_METHODS; m++) {
            if (!on[m]) continue;
            double q, lo, hi, mean = 0;
            // the bootstrap streams of SHAC (10, 12) and PWM (11, 13) as before the hybrid's column
            iqm_row(v[k][m], c->seeds, m < CMP_PPO ? 10 + 2 * k + m : 20 + 2 * k + m, &q, &lo, &hi);
            for (int s = 0; s < c->seeds; s++) mean += v[k][m][s] / c->seeds;
            fprintf(f, "%s,%s,%.4f,%.4f,%.4f,%.4f\n", cond[k], cmp_method_names[m], q, lo, hi, mean);
            fprintf(sm, " %.1f [%.1f, %.1f] |", q, lo, hi);
        }
        fprintf(sm, "\n");
    }
    fprintf(sm, "\nCurves: [default](default/return_vs_steps.png), [stiff](stiff/return_vs_steps.png). The paper "
            "(dflex, 10M steps, 5 seeds): PWM 5052, SHAC 1599 with stiff contacts.\n");
    fclose(f), fclose(sm);
    printf("stiffness: %s/summary.md\n", dir);
    return 0;
}
