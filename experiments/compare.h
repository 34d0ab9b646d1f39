// SHAC and PWM side by side on one task with matched environment-step budgets (`pwm compare`).
//
// For each seed: PWM collects random-policy episodes, pretrains its world model on them, then
// trains online; SHAC trains from scratch. Both spend the same number of environment steps in
// all (PWM's collection counts against its budget; its pretraining wall time counts too). Each
// stage is a run of this program's own subcommands in OUT/<method>-seedS/, so every run keeps
// its config, log and checkpoints, and a re-run skips the stages already finished.
#ifndef PWM_EXPERIMENTS_COMPARE_H
#define PWM_EXPERIMENTS_COMPARE_H

typedef struct {
    const char *env, *preset, *out;
    int seeds, threads;
    long budget;        // environment steps per method and seed (0: the preset's)
    long collect;       // random-policy steps PWM collects for pretraining (0: the preset's)
    long wm_steps;      // world-model pretraining steps (0: the preset's)
    const char *wm_size;  // small | paper (NULL: the preset's)
    int evals;          // evaluations along each run (0: the preset's)
    double contact_stiffness, contact_damping;  // MuJoCo direct solref overrides for every stage (< 0: none)
} compare_config;

// Run the comparison and write OUT/compare.csv (method, seed, env steps, wall time, eval return),
// OUT/summary.csv (final returns), OUT/summary.md and the plots OUT/return_vs_steps.png and
// OUT/return_vs_time.png. exe is this program's path. Returns 0 or 1 with a message.
int compare_run(const compare_config *c, const char *exe);

#endif
