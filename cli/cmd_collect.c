// `pwm collect`: episodes of a task under a policy, appended to a NumPy dataset directory.
#include <stdio.h>
#include <string.h>

#include "../envs/env.h"
#include "../nn/common.h"
#include "../physics/physics_opts.h"
#include "../policy/policy.h"
#include "../worldmodel/dataset.h"
#include "commands.h"

int cmd_collect(int argc, char **argv) {
    const char *env = NULL, *policy = "random", *out = NULL;
    long steps = 10000, seed = 1;
    int envs = 16, threads = 0, deterministic = 0;
    physics_opts po;
    const args_opt opts[] = {
        {"env", ARG_STRING, &env, "task (see pwm envs)", NULL, "NAME"},
        {"policy", ARG_STRING, &policy, "random (U(-1, 1)) or a SHAC or PWM checkpoint (its stochastic policy)", NULL,
         "random|CKPT"},
        {"deterministic", ARG_FLAG, &deterministic, "with a checkpoint: tanh of the mean, no sampling", NULL, NULL},
        {"steps", ARG_LONG, &steps, "transitions to collect", NULL, "N"},
        {"out", ARG_STRING, &out, "dataset directory (created, or appended to)", NULL, "DIR"},
        {"envs", ARG_INT, &envs, "environments stepped together", NULL, "N"},
        {"seed", ARG_LONG, &seed, "seed of the start states and actions", NULL, "S"},
        {"threads", ARG_INT, &threads, "threads (0: all cores)", NULL, "T"},
        {0},
    };
    physics_opts_init(&po);
    args_spec spec = {"pwm collect --env NAME --policy random|CKPT --steps N --out DIR",
                      "Steps a task under a policy and writes every episode to DIR/episode-NNNNNN.npz (obs, action, "
                      "reward, terminated, truncated; numpy.load reads them). Episodes still running at the end are "
                      "written as truncated. An existing dataset of the same task is appended to.",
                      {opts, po.opts}};
    char err[1024];
    int rc = args_parse_command(&spec, argc, argv, "pwm collect");
    if (rc >= 0) return rc;
    const env_task *t = env ? env_find(env) : NULL;
    if (!t) return fprintf(stderr, "pwm collect: %s (see pwm envs)\n", env ? "unknown task" : "--env NAME is required"), 2;
    if (!out) return fprintf(stderr, "pwm collect: --out DIR is required\n"), 2;
    if (steps < 1 || envs < 1) return fprintf(stderr, "pwm collect: --steps and --envs must be >= 1\n"), 2;
    physics_opts_resolve(&po);
    nn_set_threads(threads);
    trained_policy *pol = NULL;
    if (strcmp(policy, "random") && !(pol = policy_load(policy, t->name, err, sizeof err)))
        return fprintf(stderr, "pwm collect: %s\n", err), 1;
    env_batch *e = env_batch_new(t, &po.cfg, NULL, envs, (unsigned long)seed, 0, err, sizeof err);
    if (!e) return fprintf(stderr, "pwm collect: %s\n", err), 1;
    ds_recorder rec;
    if (ds_recorder_open(&rec, out, t->name, envs, t->obs_dim, t->act_dim, t->episode_len, e->obs, err, sizeof err))
        return fprintf(stderr, "pwm collect: %s\n", err), 1;
    int A = t->act_dim, failed = 0;
    nn_rng act_rng;
    nn_rng_init(&act_rng, (unsigned long)seed, 1u << 21);
    double *u = nn_malloc(sizeof(double) * envs * A), t0 = nn_now();
    while (rec.steps < steps && !failed) {
        if (pol) policy_act(pol, e->obs, envs, u, deterministic ? NULL : &act_rng);
        else
            for (int i = 0; i < envs * A; i++) u[i] = 2.0 * nn_rng_uniform(&act_rng) - 1.0;
        env_step(e, u, 0);
        failed = ds_recorder_step(&rec, e->act, e->rew, e->term, e->trunc, e->obs_final, e->obs, err, sizeof err);
        nn_progress("collect", rec.steps < steps ? rec.steps : steps, steps, t0);
    }
    // episodes still running end here, cut by the collection: truncated
    failed = ds_recorder_close(&rec, err, sizeof err) || failed;
    if (failed) fprintf(stderr, "pwm collect: %s\n", err);
    else printf("%s: %ld transitions in %d episodes appended to %s (%.1f s)\n", t->name, rec.steps, rec.written, out,
                nn_now() - t0);
    nn_free(u);
    env_batch_free(e);
    policy_free(pol);
    return failed;
}
