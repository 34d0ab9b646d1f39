// SHAC, PWM and PPO side by side on one task (`pwm compare`), under one of two protocols.
//
// matched: for each seed, PWM collects random-policy episodes, pretrains its world model on them,
// then trains online; SHAC and PPO train from scratch. All spend the same number of environment
// steps (PWM's collection counts against its budget; its pretraining wall time counts too).
// pretrained (the paper's): one world model per task is pretrained on a fixed dataset (a SHAC run's
// whole learning history plus random episodes, from a seed that is no evaluation seed:
// experiments/pretrain.h), not counted; every seed of PWM starts from it, and every learner gets
// the same online budget.
// Each stage is a run of this program's own subcommands in OUT/..., so every run keeps its config,
// log and checkpoints, and a re-run skips the stages already finished.
#ifndef PWM_EXPERIMENTS_COMPARE_H
#define PWM_EXPERIMENTS_COMPARE_H

#include <stddef.h>

#include "executor.h"

// the methods, in the order of every per-method array: SHAC (true dynamics), PWM (world model), PPO
// (zeroth order) and the hybrid (pwm train --gradient hybrid: real rollouts, gradients through the
// world model; docs/unified-learner.md)
enum { CMP_SHAC, CMP_PWM, CMP_PPO, CMP_HYBRID, CMP_METHODS };
extern const char *const cmp_method_names[CMP_METHODS];   // "shac", "pwm", "ppo", "hybrid"
extern const char *const cmp_method_titles[CMP_METHODS];  // "SHAC", "PWM", "PPO", "Hybrid"

// on[m] = whether a comma-separated list ("shac,ppo"; NULL: shac,pwm,ppo) names method m. 0, or -1 with a message.
int compare_methods(const char *list, int *on, char *err, size_t errlen);

typedef struct {
    const char *env, *preset, *out;
    const char *protocol;  // matched | pretrained (NULL: matched)
    long data_seed;        // pretrained: the seed of the pretraining data and model (0: 100)
    const char *pretrain_data;  // pretrained: an existing dataset to use instead of building one (NULL: build)
    long data_epochs;           // pretrained: epochs of the SHAC run whose history is the data (0: its preset's)
    const char *pretrain_wm;    // pretrained: an existing world model to use instead of training one (NULL: train)
    int reproduce_original;     // pass --reproduce-original to the world model and PWM
    const char *pwm_extra;      // more pwm train options for every PWM run, whitespace-separated (NULL: none)
    const char *device;         // --device of PWM's world-model pretraining and training (NULL: theirs, the CPU)
    const char *methods;  // comma-separated subset of shac,pwm,ppo,hybrid (NULL: shac,pwm,ppo)
    int seeds, threads;
    long budget;        // environment steps per method and seed (0: the preset's)
    long collect;       // random-policy steps PWM collects for pretraining (0: the preset's); pretrained: the
                        // random steps added to the SHAC history
    long wm_steps;      // world-model pretraining steps (0: the preset's)
    const char *wm_size;  // small | paper (NULL: the preset's)
    int evals;          // evaluations along each run (0: the preset's)
    double contact_stiffness, contact_damping;  // MuJoCo direct solref overrides for every stage (< 0: none)
    // its stages (executor.h): "shac-seedS", "ppo-seedS", "pwm-seedS-collect" (wave 0),
    // "pwm-seedS-wm" (1), "pwm-seedS-train" and "hybrid-seedS" (2); pretrained: "pretrain-data" (0),
    // "pretrain-wm" (1), "pwm-seedS-train" and "hybrid-seedS" (2). The hybrid's run is OUT/hybrid-seedS,
    // through PWM's data and model (OUT/pwm-seedS/data and wm.safetensors, or the pretrained ones).
    ex_ctl ex;
} compare_config;

// Run the comparison and write OUT/compare.csv (method, seed, env steps, wall time, eval return),
// OUT/summary.csv (final returns), OUT/peaks.csv (each method's peak over training of the IQM over
// seeds), OUT/summary.md, the mean curves OUT/curve-METHOD.csv and the plots OUT/return_vs_steps.png and
// OUT/return_vs_time.png. exe is this program's path. c->ex: which stages (executor.h). Returns
// 0, PWM_EXIT_PREEMPTED (a stage was stopped by a signal after its checkpoint; run again to
// continue) or 1 with a message.
int compare_run(const compare_config *c, const char *exe);

#endif
