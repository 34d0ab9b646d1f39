// `pwm ppo`: the zeroth-order baseline (policy/ppo.h), in the run directory format of the other learners.
#include <stdio.h>

#include "../opts/rundir.h"
#include "../physics/physics_opts.h"
#include "../policy/ppo.h"
#include "commands.h"

int cmd_ppo(int argc, char **argv) {
    rundir_task t;
    int rc = rundir_peek_task(&t, argc, argv, "pwm ppo");
    if (rc) return rc;
    ppo_config c;
    char err[1024];
    if (ppo_preset(&c, t.env ? t.env : "gym-hopper", t.preset ? t.preset : "quick", err, sizeof err))
        return fprintf(stderr, "pwm ppo: %s\n", err), 2;
    int threads = 0;
    physics_opts po;
    rundir_opts ro;
    rundir_opts_init(&ro, "ppo");
    const args_opt head[] = {
        {"env", ARG_STRING, &c.env, "task (see pwm envs)", NULL, "NAME"},
        {"preset", ARG_CHOICE, &c.preset, "defaults: quick (CleanRL's PPO) or paper (SHAC's rl_games PPO)", "quick|paper", NULL},
        {0},
    };
    const args_opt opts[] = {
        {"seed", ARG_LONG, &c.seed, "seed of the start states, exploration noise, shuffling and initial weights", NULL, "S"},
        {"threads", ARG_INT, &threads, "threads (0: all cores)", NULL, "T"},
        {"epochs", ARG_INT, &c.epochs, "training epochs (rollout + update)", NULL, "N"},
        {"envs", ARG_INT, &c.envs, "parallel environments N", NULL, "N"},
        {"horizon", ARG_INT, &c.horizon, "rollout steps per environment and epoch", NULL, "H"},
        {"update-epochs", ARG_INT, &c.update_epochs, "passes over each rollout", NULL, "N"},
        {"minibatches", ARG_INT, &c.minibatches, "shuffled minibatches per pass (envs x horizon divisible by it)", NULL, "N"},
        {"gamma", ARG_DOUBLE, &c.gamma, "discount", NULL, "X"},
        {"lambda", ARG_DOUBLE, &c.lambda, "GAE lambda", NULL, "X"},
        {"clip", ARG_DOUBLE, &c.clip, "surrogate (and value) clip range epsilon", NULL, "X"},
        {"vf-coef", ARG_DOUBLE, &c.vf_coef, "value loss weight", NULL, "X"},
        {"ent-coef", ARG_DOUBLE, &c.ent_coef, "entropy bonus weight", NULL, "X"},
        {"max-grad-norm", ARG_DOUBLE, &c.max_grad_norm, "global gradient-norm clip", NULL, "X"},
        {"clip-vloss", ARG_FLAG, &c.clip_vloss, "clip the value loss around the rollout's values", NULL, NULL},
        {"norm-adv", ARG_FLAG, &c.norm_adv, "normalise advantages per minibatch", NULL, NULL},
        {"lr", ARG_DOUBLE, &c.lr, "learning rate (start of the linear decay, or of the adaptive schedule)", NULL, "LR"},
        {"lr-end", ARG_DOUBLE, &c.lr_end, "learning rate at the last epoch (linear decay)", NULL, "LR"},
        {"kl-target", ARG_DOUBLE, &c.kl_target, "> 0: adaptive learning rate on the minibatch KL (rl_games) instead of the decay", NULL, "X"},
        {"units", ARG_STRING, &c.units, "hidden widths of the actor and of the critic", NULL, "W,W,..."},
        {"activation", ARG_STRING, &c.activation, "hidden activation: tanh, elu, relu or mish", NULL, "NAME"},
        {"torch-init", ARG_FLAG, &c.torch_init, "PyTorch's Linear init (else orthogonal, CleanRL's gains)", NULL, NULL},
        {"logstd-init", ARG_DOUBLE, &c.logstd_init, "initial log standard deviation", NULL, "X"},
        {"adam-eps", ARG_DOUBLE, &c.adam_eps, "Adam epsilon", NULL, "X"},
        {"obs-clip", ARG_DOUBLE, &c.obs_clip, "normalised observations clamped to +-X (0: none)", NULL, "X"},
        {"reward-norm", ARG_FLAG, &c.reward_norm, "divide rewards by the running std of the discounted return", NULL, NULL},
        {"reward-scale", ARG_DOUBLE, &c.reward_scale, "then multiply rewards by this", NULL, "X"},
        {"reward-clip", ARG_DOUBLE, &c.reward_clip, "then clamp rewards to +-X (0: none)", NULL, "X"},
        {"eval-episodes", ARG_INT, &c.eval_episodes, "deterministic evaluation episodes", NULL, "N"},
        {"eval-every", ARG_INT, &c.eval_every, "evaluate every N epochs", NULL, "N"},
        {"save-every", ARG_INT, &c.save_every, "checkpoint every N epochs", NULL, "N"},
        {"max-bad-updates", ARG_INT, &c.max_bad_updates, "stop after this many skipped (non-finite) updates in a row", NULL, "N"},
        {"stop-after", ARG_INT, &c.stop_after, "checkpoint and stop after this epoch (0: run to the end); --resume continues", NULL, "N"},
        {0},
    };
    physics_opts_init(&po);
    po.cfg = c.physics;
    args_spec spec = {"pwm ppo --env NAME [--preset quick|paper] [options]",
                      "Trains a policy with PPO (no simulator gradients: plain MuJoCo stepping). Writes DIR/config.txt\n"
                      "(resolved options and git commit), log.csv (epoch, env steps, wall time, returns, losses, KL,\n"
                      "clip fraction, gradient norm, learning rate), timing.csv (epoch time: physics, policy, update),\n"
                      "ckpt.safetensors (every --save-every epochs), best.safetensors, final.safetensors and eval.csv.\n"
                      "pwm eval, rollout and collect read its checkpoints. See docs/ppo.md.",
                      {head, ro.opts, opts, po.opts}};
    rc = rundir_parse(&spec, &ro, argc, argv, "pwm ppo");
    if (rc >= 0) return rc;
    physics_opts_resolve(&po);
    c.physics = po.cfg;
    const char *out = rundir_dir(&ro, c.env, c.seed);
    if (rundir_record(&spec, &ro, out, "pwm ppo")) return 1;
    return ppo_train(&c, out, ro.resume, threads);
}
