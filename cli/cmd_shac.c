// `pwm shac` (train) and `pwm eval` (a checkpoint's deterministic policy).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../nn/common.h"
#include "../opts/rundir.h"
#include "../physics/physics_opts.h"
#include "../policy/learner.h"
#include "../policy/policy.h"
#include "../policy/shac.h"
#include "commands.h"
#include "version.h"

int cmd_shac(int argc, char **argv) {
    rundir_task t;
    int rc = rundir_peek_task(&t, argc, argv, "pwm shac");
    if (rc) return rc;
    shac_config c;
    char err[1024];
    if (shac_preset(&c, t.env ? t.env : "hopper", t.preset ? t.preset : "quick", err, sizeof err))
        return fprintf(stderr, "pwm shac: %s\n", err), 2;
    int threads = 0;
    physics_opts po;
    rundir_opts ro;
    rundir_opts_init(&ro, "shac");
    const args_opt head[] = {
        {"env", ARG_STRING, &c.env, "task (see pwm envs)", NULL, "NAME"},
        {"preset", ARG_CHOICE, &c.preset, "defaults: quick (2 cores) or paper (the paper's config)", "quick|paper", NULL},
        {0},
    };
    const args_opt opts[] = {
        {"seed", ARG_LONG, &c.seed, "seed of the start states, exploration noise and initial weights", NULL, "S"},
        {"threads", ARG_INT, &threads, "threads (0: all cores)", NULL, "T"},
        {"epochs", ARG_INT, &c.epochs, "training epochs (windows)", NULL, "N"},
        {"envs", ARG_INT, &c.envs, "parallel environments N", NULL, "N"},
        {"horizon", ARG_INT, &c.horizon, "window length h (steps backpropagated)", NULL, "H"},
        {"gamma", ARG_DOUBLE, &c.gamma, "discount", NULL, "X"},
        {"lambda", ARG_DOUBLE, &c.lambda, "TD(lambda) of the critic targets", NULL, "X"},
        {"actor-units", ARG_STRING, &c.actor_units, "actor hidden widths (Linear -> ELU -> LayerNorm)", NULL, "W,W,..."},
        {"critic-units", ARG_STRING, &c.critic_units, "critic hidden widths", NULL, "W,W,..."},
        {"actor-lr", ARG_DOUBLE, &c.actor_lr, "actor learning rate (linear decay to --lr-end)", NULL, "LR"},
        {"critic-lr", ARG_DOUBLE, &c.critic_lr, "critic learning rate (linear decay to --lr-end)", NULL, "LR"},
        {"lr-end", ARG_DOUBLE, &c.lr_end, "learning rate at the end of the decay", NULL, "LR"},
        {"lr-decay-epochs", ARG_INT, &c.lr_decay_epochs,
         "epochs over which the learning rates decay linearly to --lr-end, then stay (0: --epochs, SHAC's own)", NULL, "N"},
        {"actor-average", ARG_INT, &c.actor_average,
         "evaluate and save the actor's moving average: uniform over the first N epochs, then exponential with a "
         "time constant of N epochs; the actor itself trains and collects as before, and is evaluated too (log.csv "
         "eval_actor) (not in SHAC; 0: the actor)",
         NULL, "N"},
        {"target-alpha", ARG_DOUBLE, &c.target_alpha, "target critic <- alpha target + (1 - alpha) critic, each epoch", NULL, "X"},
        {"actor-clip", ARG_DOUBLE, &c.actor_clip, "actor gradient-norm clip", NULL, "X"},
        {"critic-clip", ARG_DOUBLE, &c.critic_clip, "critic gradient-norm clip", NULL, "X"},
        {"beta1", ARG_DOUBLE, &c.beta1, "Adam beta1", NULL, "X"},
        {"beta2", ARG_DOUBLE, &c.beta2, "Adam beta2", NULL, "X"},
        {"logstd-init", ARG_DOUBLE, &c.logstd_init, "initial log standard deviation of the actor", NULL, "X"},
        {"critic-iters", ARG_INT, &c.critic_iters, "critic passes over each window", NULL, "N"},
        {"critic-minibatches", ARG_INT, &c.critic_minibatches, "unshuffled minibatches per pass", NULL, "N"},
        {"eval-episodes", ARG_INT, &c.eval_episodes, "deterministic evaluation episodes", NULL, "N"},
        {"eval-every", ARG_INT, &c.eval_every, "evaluate every N epochs", NULL, "N"},
        {"save-every", ARG_INT, &c.save_every, "checkpoint every N epochs", NULL, "N"},
        {"max-bad-updates", ARG_INT, &c.max_bad_updates, "stop after this many skipped (exploding) updates in a row", NULL, "N"},
        {"stop-after", ARG_INT, &c.stop_after, "checkpoint and stop after this epoch (0: run to the end); --resume continues", NULL, "N"},
        {"save-data", ARG_STRING, &c.save_data, "also save every transition the run sees into this dataset directory", NULL, "DIR"},
        {0},
    };
    physics_opts_init(&po);
    po.cfg = c.physics;
    args_spec spec = {"pwm shac --env NAME [--preset quick|paper] [options]",
                      "Trains a policy with SHAC through the MuJoCo dynamics (finite-difference Jacobians). Writes DIR/\n"
                      "config.txt (resolved options and git commit), log.csv (epoch, env steps, wall time, returns, actor\n"
                      "gradient norm, critic loss), timing.csv (epoch time: physics, Jacobians, backward, actor,\n"
                      "critic), ckpt.safetensors (every --save-every epochs), final.safetensors and eval.csv.",
                      {head, ro.opts, opts, po.opts}};
    rc = rundir_parse(&spec, &ro, argc, argv, "pwm shac");
    if (rc >= 0) return rc;
    physics_opts_resolve(&po);
    c.physics = po.cfg;
    const char *out = rundir_dir(&ro, c.env, c.seed);
    if (rundir_record(&spec, &ro, out, "pwm shac")) return 1;
    return shac_train(&c, out, ro.resume, threads);
}

int cmd_eval(int argc, char **argv) {
    const char *env = NULL, *policy = NULL;
    int episodes = 10, threads = 0;
    long seed = 1;
    physics_opts po;
    const args_opt opts[] = {
        {"env", ARG_STRING, &env, "task (default: the checkpoint's)", NULL, "NAME"},
        {"policy", ARG_STRING, &policy, "policy checkpoint (ckpt.safetensors or final.safetensors of a run)", NULL, "CKPT"},
        {"episodes", ARG_INT, &episodes, "deterministic episodes", NULL, "N"},
        {"seed", ARG_LONG, &seed, "seed of the start states; a run's final evaluation (eval.csv) is its seed + "
         NN_STR(LRN_FINAL_SEED) " with " NN_STR(LRN_FINAL_EPISODES) " episodes (or its --eval-episodes if more), its "
         "evaluations in log.csv its seed + " NN_STR(LRN_EVAL_SEED) " with --eval-episodes", NULL, "S"},
        {"threads", ARG_INT, &threads, "threads (0: all cores)", NULL, "T"},
        {0},
    };
    physics_opts_init(&po);
    args_spec spec = {"pwm eval --policy CKPT [--env NAME] [--episodes N]",
                      "Runs a checkpoint's deterministic policy (tanh of the actor's mean) and prints each episode's "
                      "return, then the mean and standard deviation.",
                      {opts, po.opts}};
    char err[1024];
    int rc = args_parse_command(&spec, argc, argv, "pwm eval");
    if (rc >= 0) return rc;
    if (!policy) return fprintf(stderr, "pwm eval: --policy CKPT is required\n"), 2;
    if (episodes < 1) return fprintf(stderr, "pwm eval: --episodes must be >= 1\n"), 2;
    physics_opts_resolve(&po);
    nn_set_threads(threads);
    double mean, std;
    if (policy_evaluate(env, policy, episodes, seed, &po.cfg, &mean, &std, err, sizeof err))
        return fprintf(stderr, "pwm eval: %s\n", err), 1;
    printf("%d episodes, seed %ld: return %.2f +- %.2f (std)\n", episodes, seed, mean, std);
    return 0;
}
