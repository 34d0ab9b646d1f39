#include "pretrain.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../nn/common.h"
#include "../opts/rundir.h"
#include "../worldmodel/dataset.h"
#include "executor.h"
#include "results.h"
#include "version.h"

// transitions and episodes of a dataset directory; -1 with a message when it cannot be read
static int count_data(const char *dir, long *steps, int *episodes, char *err, size_t errlen) {
    ds_dataset d;
    if (ds_load(dir, &d, err, errlen)) return -1;
    *steps = d.steps, *episodes = d.n;
    ds_free(&d);
    return 0;
}

int pretrain_data(const pretrain_data_config *c, const char *dir, const char *exe) {
    char data[1100], partial[1100], shac[1100], marker[1100], logp[1100], err[1024], note[2600];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(partial, sizeof partial, "%s/data.partial", dir);
    snprintf(shac, sizeof shac, "%s/shac", dir);
    snprintf(marker, sizeof marker, "%s/data.done", dir);
    snprintf(logp, sizeof logp, "%s/stages.log", dir);
    if (res_stage_done(marker) >= 0) return 0;
    if (nn_mkdirs(dir)) return fprintf(stderr, "pwm: cannot create %s: %s\n", dir, strerror(errno)), -1;
    // an interrupted build starts again: the SHAC run's recording does not resume
    if (res_clear_dir(partial) || res_clear_dir(shac) || res_clear_dir(data))
        return fprintf(stderr, "pwm: cannot clear the unfinished stage %s or %s; remove them by hand\n", partial, shac), -1;
    char seed[32], steps[32], threads[32], epochs[32];
    snprintf(seed, sizeof seed, "%ld", c->seed), snprintf(steps, sizeof steps, "%ld", c->random_steps);
    snprintf(epochs, sizeof epochs, "%ld", c->shac_epochs);
    snprintf(threads, sizeof threads, "%d", c->threads);
    double t0 = nn_now();
    // 1. a SHAC run, every transition it sees recorded
    char *a1[32] = {(char *)exe, "shac", "--env", (char *)c->env, "--preset", (char *)c->preset, "--seed", seed,
                    "--threads", threads, "--save-data", partial, "--out", shac, NULL};
    char *more[3] = {c->shac_epochs > 0 ? "--epochs" : NULL, epochs, NULL};
    res_add_args(a1, more);
    if (c->physics) res_add_args(a1, c->physics);
    printf("pretraining data: pwm shac --env %s --preset %s --seed %s, every transition recorded\n", c->env, c->preset,
           seed);
    fflush(stdout);
    int rc;
    if ((rc = ex_spawn_wait(a1, logp))) return fprintf(stderr, "pwm: the SHAC stage failed; see %s\n", logp), rc;
    long n1;
    int e1;
    if (count_data(partial, &n1, &e1, err, sizeof err)) return fprintf(stderr, "pwm: %s\n", err), -1;
    snprintf(note, sizeof note, "pwm shac --env %s --preset %s --seed %s (git %s): its whole learning history, %ld "
             "transitions in %d episodes; its final deterministic return %.1f (%s/eval.csv)", c->env, c->preset, seed,
             PWM_GIT_COMMIT, n1, e1, rundir_final_return(shac), shac);
    if (ds_note(partial, "source", note, err, sizeof err)) return fprintf(stderr, "pwm: %s\n", err), -1;
    // 2. random-policy episodes
    if (c->random_steps > 0) {
        char *a2[32] = {(char *)exe, "collect", "--env", (char *)c->env, "--policy", "random", "--steps", steps,
                        "--seed", seed, "--threads", threads, "--out", partial, NULL};
        if (c->physics) res_add_args(a2, c->physics);
        if ((rc = ex_spawn_wait(a2, logp)))
            return fprintf(stderr, "pwm: the random-policy stage failed; see %s\n", logp), rc;
        long n2;
        int e2;
        if (count_data(partial, &n2, &e2, err, sizeof err)) return fprintf(stderr, "pwm: %s\n", err), -1;
        snprintf(note, sizeof note, "pwm collect --env %s --policy random --steps %s --seed %s: %ld transitions in %d "
                 "episodes", c->env, steps, seed, n2 - n1, e2 - e1);
        if (ds_note(partial, "source", note, err, sizeof err)) return fprintf(stderr, "pwm: %s\n", err), -1;
    }
    for (char *const *p = c->physics; p && *p; p += 2) {
        snprintf(note, sizeof note, "%s %s", p[0], p[1] ? p[1] : "");
        if (ds_note(partial, "physics", note, err, sizeof err)) return fprintf(stderr, "pwm: %s\n", err), -1;
    }
    if (rename(partial, data)) return fprintf(stderr, "pwm: cannot rename %s: %s\n", partial, strerror(errno)), -1;
    res_mark_done(marker, nn_now() - t0);
    return 0;
}

int pretrain_wm(const pretrain_wm_config *c, const char *dir, const char *exe) {
    char wm[1100], marker[1100], logp[1100], steps[32], seed[32], threads[32];
    snprintf(wm, sizeof wm, "%s/wm.safetensors", dir);
    snprintf(marker, sizeof marker, "%s/wm.done", dir);
    snprintf(logp, sizeof logp, "%s/stages.log", dir);
    if (res_stage_done(marker) >= 0) return 0;
    if (nn_mkdirs(dir)) return fprintf(stderr, "pwm: cannot create %s: %s\n", dir, strerror(errno)), -1;
    snprintf(steps, sizeof steps, "%ld", c->steps), snprintf(seed, sizeof seed, "%ld", c->seed);
    snprintf(threads, sizeof threads, "%d", c->threads);
    char *args[32] = {(char *)exe, "wm", "train", "--data", (char *)c->data, "--env", (char *)c->env, "--out", wm,
                      "--size", (char *)c->size, "--steps", steps, "--seed", seed, "--threads", threads, NULL};
    char *more[6] = {NULL}, **m = more;
    if (nn_file_exists(wm)) *m++ = "--resume";
    if (c->reproduce_original) *m++ = "--reproduce-original";
    if (c->device) *m++ = "--device", *m++ = (char *)c->device;
    res_add_args(args, more);
    printf("world model: pwm wm train --size %s --steps %s on %s\n", c->size, steps, c->data);
    fflush(stdout);
    double t0 = nn_now();
    int rc = ex_spawn_wait(args, logp);
    if (rc) return fprintf(stderr, "pwm: world-model pretraining failed; see %s\n", logp), rc;
    res_mark_done(marker, nn_now() - t0);
    return 0;
}
