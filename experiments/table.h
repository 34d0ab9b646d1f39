// The paper's single-task table and its contact-stiffness ablation, both built from `pwm compare`
// runs (SHAC, PWM and PPO with matched environment-step budgets), aggregated as the paper does: the
// interquartile mean over seeds with stratified-bootstrap 95% confidence intervals, normalised by
// PPO's peak IQM per task.
#ifndef PWM_EXPERIMENTS_TABLE_H
#define PWM_EXPERIMENTS_TABLE_H

#include <stdint.h>

#include "executor.h"

// The interquartile mean: the mean of the middle half after trimming floor(n/4) values from each
// end (scipy's trim_mean(x, 0.25), which rliable uses). x is not modified.
double iqm(const double *x, int n);

// Stratified bootstrap of an IQM: `strata` groups (tasks) of n[s] values each (x[s] points at
// them); each replicate resamples every group's values with replacement and takes the IQM of all
// of them together; lo and hi are the 2.5% and 97.5% percentiles over `reps` replicates.
void iqm_bootstrap_ci(const double *const *x, const int *n, int strata, int reps, uint64_t seed, double *lo,
                      double *hi);

typedef struct {
    const char *preset;  // quick | paper
    const char *tasks;   // comma-separated; NULL: hopper,ant,humanoid,snu-humanoid
    int seeds, threads;
    const char *out;        // NULL: results/table/<timestamp>
    const char *normalise;  // the pooled row's per-task divisor: ppo (PPO's peak IQM, the paper's; NULL) | shac (SHAC's IQM)
    long budget, collect, wm_steps;  // every task's comparison budgets (0: the preset's per task)
    int evals;                       // evaluations along each run (0: the preset's)
    ex_ctl ex;  // the stages: every task's comparison's, named "TASK/<compare stage>" (compare.h)
} table_config;

// Run (or continue) a comparison per task and write table.csv, table.md and summary.md.
int table_run(const table_config *c, const char *exe, const char *command);

typedef struct {
    const char *preset;
    int seeds, threads;
    const char *methods;  // comma-separated among shac, pwm, ppo, hybrid (compare.h; NULL: shac,pwm)
    const char *out;  // NULL: results/stiffness/<timestamp>
    double stiffness, damping;  // the stiff contacts (direct solref); defaults: the paper's 5x (docs/tasks.md)
    ex_ctl ex;  // the stages: "default/<compare stage>" and "stiff/<compare stage>"
} stiffness_config;

// Hopper with the task's contacts and with stiffer ones, SHAC vs PWM (or c->methods): stiffness.csv,
// summary.md.
int stiffness_run(const stiffness_config *c, const char *exe, const char *command);

#endif
