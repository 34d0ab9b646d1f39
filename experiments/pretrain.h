// Pretraining data and world models like the paper's (`pwm experiment pretrain-data`, `pwm compare
// --protocol pretrained`).
//
// The paper pretrains each task's world model on a fixed dataset that very likely holds good
// behaviour (pwm-paper-and-code.md §3.1). Here that dataset is made from a SHAC run's whole
// learning history (every transition it saw, from its first random-looking epochs to its final
// gait) plus random-policy episodes; nothing is picked by return. The recipe goes into the
// dataset's dataset.txt as "source = ..." lines. Each stage is a run of this program, resumable: an
// interrupted data stage is rebuilt from scratch (SHAC's --save-data does not resume), an
// interrupted world-model stage continues with --resume.
#ifndef PWM_EXPERIMENTS_PRETRAIN_H
#define PWM_EXPERIMENTS_PRETRAIN_H

typedef struct {
    const char *env, *preset;  // the SHAC run's task and preset (its budget: the preset's epochs)
    long seed;                 // the SHAC run's and the random episodes' seed: not an evaluation seed
    long shac_epochs;          // the SHAC run's epochs (0: the preset's)
    long random_steps;         // random-policy transitions added after the SHAC history
    int threads;
    char *const *physics;      // extra options for every stage (contact overrides), NULL-terminated or NULL
} pretrain_data_config;

// Build the dataset DIR/data (and keep the SHAC run in DIR/shac): skipped when DIR/data.done
// exists. Stage logs go to DIR/stages.log. exe is this program's path. 0, or non-zero with a
// message (PWM_EXIT_PREEMPTED when a signal stopped it).
int pretrain_data(const pretrain_data_config *c, const char *dir, const char *exe);

typedef struct {
    const char *env, *data, *size;  // the dataset directory and the model size (small | paper)
    long steps, seed;
    int threads, reproduce_original;  // reproduce_original: (r - mean)/std rewards
    const char *device;               // pwm wm train --device (NULL: its default, the CPU)
} pretrain_wm_config;

// Pretrain the world model DIR/wm.safetensors on c->data (resuming an interrupted run): skipped when
// DIR/wm.done exists. 0, or non-zero with a message on stderr (PWM_EXIT_PREEMPTED when a signal
// stopped it after its checkpoint).
int pretrain_wm(const pretrain_wm_config *c, const char *dir, const char *exe);

#endif
