// `pwm envs` (the task list) and `pwm rollout` (returns of simple policies).
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../envs/env.h"
#include "../nn/common.h"
#include "../physics/physics_opts.h"
#include "../policy/policy.h"
#include "commands.h"

int cmd_envs(int argc, char **argv) {
    const args_opt opts[] = {{0}};
    args_spec spec = {"pwm envs", "Lists every task with its observation and action sizes, control dt, episode length "
                      "and model file.", {opts}};
    int rc = args_parse_command(&spec, argc, argv, "pwm envs");
    if (rc >= 0) return rc;
    printf("%-16s %4s %4s %10s %8s  %-20s %s\n", "task", "obs", "act", "control dt", "episode", "model", "what");
    for (int i = 0; env_tasks[i]; i++) {
        const env_task *t = env_tasks[i];
        char path[1024], lerr[512];
        env_model_path(t, path, sizeof path);
        ph_model *pm = env_load(t, NULL, NULL, lerr, sizeof lerr);
        double dt = pm ? pm->m->opt.timestep * pm->cfg.substeps : 0;
        printf("%-16s %4d %4d %9.4fs %8d  %-20s %s%s\n", t->name, t->obs_dim, t->act_dim, dt, t->episode_len, t->model,
               t->summary, pm ? "" : "  [model not loadable: see pwm rollout --env NAME]");
        ph_free(pm);
    }
    return 0;
}

int cmd_rollout(int argc, char **argv) {
    const char *env = NULL, *policy = "random", *csv = NULL, *model = NULL, *timing = "pre";
    int episodes = 10, envs = 0, threads = 0;
    long seed = 1;
    physics_opts po;
    const args_opt opts[] = {
        {"env", ARG_STRING, &env, "task name (see pwm envs)", NULL, "NAME"},
        {"policy", ARG_STRING, &policy,
         "random: U(-1, 1) actions; zero: all-zero actions; or a policy checkpoint (deterministic actions)", NULL,
         "random|zero|CKPT"},
        {"episodes", ARG_INT, &episodes, "episodes to run", NULL, "N"},
        {"envs", ARG_INT, &envs, "environments stepped together (0: min(episodes, 16))", NULL, "N"},
        {"seed", ARG_LONG, &seed, "seed of the start states and random actions", NULL, "S"},
        {"csv", ARG_STRING, &csv, "also write episode,return,length,terminated to this CSV", NULL, "FILE"},
        {"model", ARG_STRING, &model, "another MJCF file for the task (default: the task's)", NULL, "FILE.xml"},
        {"reward-timing", ARG_CHOICE, &timing,
         "state terms of the reward on the state before the step (pre: PWM fork) or after it (post: NVlabs)", "pre|post",
         NULL},
        {"threads", ARG_INT, &threads, "threads (0: all cores)", NULL, "T"},
        {0},
    };
    physics_opts_init(&po);
    args_spec spec = {"pwm rollout --env NAME [options]",
                      "Runs --episodes episodes of a task with a fixed policy and prints each episode's return and "
                      "length, then their mean and standard deviation.",
                      {opts, po.opts}};
    char err[1024];
    int rc = args_parse_command(&spec, argc, argv, "pwm rollout");
    if (rc >= 0) return rc;
    const env_task *t = env ? env_find(env) : NULL;
    if (!t) {
        fprintf(stderr, "pwm rollout: %s; known tasks:", env ? "unknown task" : "--env NAME is required");
        for (int i = 0; env_tasks[i]; i++) fprintf(stderr, " %s", env_tasks[i]->name);
        fprintf(stderr, "\n");
        return 2;
    }
    if (episodes < 1) return fprintf(stderr, "pwm rollout: --episodes must be >= 1\n"), 2;
    physics_opts_resolve(&po);
    nn_set_threads(threads);
    if (strcmp(policy, "random") && strcmp(policy, "zero")) {
        // a checkpoint: its deterministic policy, one episode per environment
        double mean, std;
        if (csv) fprintf(stderr, "pwm rollout: --csv is not written for checkpoint policies (episodes print below)\n");
        if (policy_evaluate(t->name, policy, episodes, seed, &po.cfg, &mean, &std, err, sizeof err))
            return fprintf(stderr, "pwm rollout: %s\n", err), 1;
        printf("%s, policy %s, %d episodes, seed %ld: return %.2f +- %.2f (std)\n", t->name, policy, episodes, seed, mean,
               std);
        return 0;
    }
    int n = envs > 0 ? envs : episodes < 16 ? episodes : 16;
    env_batch *e = env_batch_new(t, &po.cfg, model, n, (unsigned long)seed, 0, err, sizeof err);
    if (!e) return fprintf(stderr, "pwm rollout: %s\n", err), 1;
    e->timing = !strcmp(timing, "post") ? ENV_REWARD_POST : ENV_REWARD_PRE;
    FILE *out = csv ? fopen(csv, "w") : NULL;
    if (csv && !out) return fprintf(stderr, "pwm rollout: cannot write '%s'\n", csv), 1;
    if (out) fprintf(out, "episode,return,length,terminated\n");

    int A = t->act_dim, done = 0;
    double *a = nn_malloc(sizeof(double) * n * A), sum = 0, sum2 = 0, len_sum = 0;
    // environments start episodes until `episodes` have started; the rest idle
    int *active = nn_malloc(sizeof(int) * n), started = n < episodes ? n : episodes;
    for (int i = 0; i < n; i++) active[i] = i < started;
    printf("%-8s %12s %8s %s\n", "episode", "return", "length", "end");
    double t0 = nn_now();
    while (done < episodes) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < A; j++)
                a[i * A + j] = !strcmp(policy, "random") ? 2.0 * nn_rng_uniform(&e->rng[i]) - 1.0 : 0.0;
        env_step(e, a, 0);
        for (int i = 0; i < n; i++) {
            if (!active[i] || !(e->term[i] || e->trunc[i])) continue;
            printf("%-8d %12.2f %8d %s\n", done, e->ret_final[i], e->len_final[i], e->term[i] ? "terminated" : "time-out");
            if (out) fprintf(out, "%d,%.6f,%d,%d\n", done, e->ret_final[i], e->len_final[i], e->term[i]);
            sum += e->ret_final[i], sum2 += e->ret_final[i] * e->ret_final[i], len_sum += e->len_final[i];
            done++;
            active[i] = started < episodes;
            started += active[i];
        }
        nn_progress("rollout", done, episodes, t0);
    }
    double mean = sum / episodes, var = sum2 / episodes - mean * mean;
    printf("%s, %s policy, %d episodes, seed %ld: return %.2f +- %.2f (std), mean length %.1f; %ld blow-ups\n", t->name,
           policy, episodes, seed, mean, var > 0 ? sqrt(var) : 0.0, len_sum / episodes, e->blowups);
    if (out) fclose(out);
    nn_free(a);
    nn_free(active);
    env_batch_free(e);
    return 0;
}
