// `pwm train`: PWM, policy learning through a pretrained world model; `pwm compare`: SHAC and PWM
// side by side.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../experiments/compare.h"
#include "../nn/common.h"
#include "../opts/args.h"
#include "../opts/device_opt.h"
#include "../opts/rundir.h"
#include "../physics/physics_opts.h"
#include "../policy/pwm.h"
#include "exec_opts.h"
#include "commands.h"
#include "version.h"

// What a pwm train command line resolves to (a resumed run's config.txt first), handed to the
// command's next step
typedef struct {
    const pwm_config *c;
    const args_spec *spec;
    const rundir_opts *ro;
    const char *out, *device;
    int threads;
} train_args;

// Parse pwm train's argv (messages from prog), then call then: the parse's exit code when it stops
// (2 after an error, 0 after --help), else then's.
static int train_parse(int argc, char **argv, const char *prog, int (*then)(const train_args *a, void *ctx), void *ctx) {
    rundir_task t;
    int rc = rundir_peek_task(&t, argc, argv, prog);
    if (rc) return rc;
    pwm_config c;
    char err[1024];
    if (pwm_preset(&c, t.env ? t.env : "hopper", t.preset ? t.preset : "quick", err, sizeof err))
        return fprintf(stderr, "%s: %s\n", prog, err), 2;
    const char **data = NULL, *critic_data = "model", *gradient = "model", *device = "cpu";
    int threads = 0;
    physics_opts po;
    rundir_opts ro;
    rundir_opts_init(&ro, "pwm");
    const args_opt head[] = {
        {"env", ARG_STRING, &c.env, "task (see pwm envs)", NULL, "NAME"},
        {"preset", ARG_CHOICE, &c.preset, "defaults: quick (2 cores) or paper (the paper's config)", "quick|paper", NULL},
        {"wm", ARG_STRING, &c.wm, "the pretrained world model (pwm wm train), or a PWM run's checkpoint (its fine-tuned model)",
         NULL, "FILE"},
        {"data", ARG_LIST, &data, "datasets: the replay buffer's first episodes (online) or the start states (offline)",
         NULL, "DIR..."},
        {"offline", ARG_FLAG, &c.offline, "extract a policy from the frozen model and dataset start states, no environment",
         NULL, NULL},
        {"reproduce-original", ARG_FLAG, &c.reproduce_original,
         "the public code's quirks: gamma^(H+1) bootstrap, last-step edge case, one-step offline targets", NULL, NULL},
        {"gradient", ARG_CHOICE, &gradient,
         "the actor gradient's source: model (the paper's imagined rollout), hybrid (online: the real environments' "
         "rollout, rewards and ends, backpropagated through the world model's Jacobians at the encoded real states "
         "and the task's exact reward-action derivative; DMO-style, not in the paper) or true (online: the real "
         "rollout backpropagated through the recorded MuJoCo Jacobians and the encoder, SHAC's loss on PWM's "
         "networks); with hybrid and true the critics learn from the real trajectory", "model|hybrid|true", NULL},
        {"bc-weight", ARG_DOUBLE, &c.bc_weight,
         "offline: add W x the mean squared distance of the deterministic action from the data's at the start states "
         "(TD3+BC-style; not in the paper; 0: plain PWM)", NULL, "W"},
        {0},
    };
    const args_opt opts[] = {
        {"seed", ARG_LONG, &c.seed, "seed of the start states, exploration noise, batches and initial weights", NULL, "S"},
        {"threads", ARG_INT, &threads, "threads (0: all cores)", NULL, "T"},
        DEVICE_OPT(device),
        {"epochs", ARG_INT, &c.epochs, "training epochs (actor updates)", NULL, "N"},
        {"envs", ARG_INT, &c.envs, "the actor's batch: real environments (online) or start states (offline)", NULL, "N"},
        {"horizon", ARG_INT, &c.horizon, "imagined rollout length H", NULL, "H"},
        {"gamma", ARG_DOUBLE, &c.gamma, "discount", NULL, "X"},
        {"lambda", ARG_DOUBLE, &c.lambda, "TD(lambda) of the critic targets", NULL, "X"},
        {"actor-units", ARG_STRING, &c.actor_units, "actor hidden widths (Linear -> Mish -> LayerNorm)", NULL, "W,W,..."},
        {"critic-units", ARG_STRING, &c.critic_units, "critic hidden widths", NULL, "W,W,..."},
        {"critics", ARG_INT, &c.critics, "critics (the bootstrap takes their minimum)", NULL, "K"},
        {"actor-lr", ARG_DOUBLE, &c.actor_lr, "actor learning rate (linear decay to --lr-end)", NULL, "LR"},
        {"critic-lr", ARG_DOUBLE, &c.critic_lr, "critic learning rate (linear decay to --lr-end)", NULL, "LR"},
        {"lr-end", ARG_DOUBLE, &c.lr_end, "learning rates at the end of the decay", NULL, "LR"},
        {"lr-decay-epochs", ARG_INT, &c.lr_decay_epochs,
         "epochs over which the learning rates decay linearly to --lr-end, then stay (0: --epochs; presets: the "
         "paper's 15000)", NULL, "N"},
        {"target-alpha", ARG_DOUBLE, &c.target_alpha,
         "target critics for every bootstrap, target <- alpha target + (1 - alpha) critic each epoch (not in the "
         "paper; 0: none)", NULL, "X"},
        {"closed-loop", ARG_FLAG, &c.closed_loop,
         "online: the actor acts on the encoded observations of the lock-step environments, not on the predicted "
         "latents (not in the paper)", NULL, NULL},
        {"critic-data", ARG_CHOICE, &critic_data,
         "what the critics learn from: model (the imagined rollout, the paper's), real (the lock-step environments' "
         "encoded states, real rewards and ends, bootstraps at the encoded real next states) or real-targets (the "
         "imagined latents as inputs, real's targets); real and real-targets are not in the paper",
         "model|real|real-targets", NULL},
        {"actor-average", ARG_INT, &c.actor_average,
         "evaluate and save the actor's moving average: uniform over the first N epochs, then exponential with a "
         "time constant of N epochs; the actor itself trains and collects as before, and is evaluated too (log.csv "
         "eval_actor) (not in the paper; 0: the actor)",
         NULL, "N"},
        {"diagnose-every", ARG_INT, &c.diagnose_every,
         "every N epochs append the core pwm diagnose figures to DIR/diagnose.csv (0: never)", NULL, "N"},
        {"actor-clip", ARG_DOUBLE, &c.actor_clip, "actor gradient-norm clip", NULL, "X"},
        {"critic-clip", ARG_DOUBLE, &c.critic_clip, "critic gradient-norm clip", NULL, "X"},
        {"beta1", ARG_DOUBLE, &c.beta1, "Adam beta1 (actor, critics)", NULL, "X"},
        {"beta2", ARG_DOUBLE, &c.beta2, "Adam beta2 (actor, critics)", NULL, "X"},
        {"logstd-init", ARG_DOUBLE, &c.logstd_init, "initial log standard deviation of the actor", NULL, "X"},
        {"logstd-min", ARG_DOUBLE, &c.logstd_min, "the log standard deviation is clamped to at least this", NULL, "X"},
        {"critic-iters", ARG_INT, &c.critic_iters, "critic passes over each epoch's latents", NULL, "N"},
        {"critic-minibatches", ARG_INT, &c.critic_minibatches, "unshuffled minibatches per pass", NULL, "N"},
        {"wm-iters", ARG_INT, &c.wm_iters, "world-model fine-tuning steps per epoch (online; 0: frozen)", NULL, "N"},
        {"wm-batch", ARG_INT, &c.wm_batch, "fine-tuning batch (sub-trajectories of H+1 steps)", NULL, "B"},
        {"wm-lr", ARG_DOUBLE, &c.wm_lr, "fine-tuning learning rate (linear decay to --lr-end)", NULL, "LR"},
        {"wm-clip", ARG_DOUBLE, &c.wm_clip, "fine-tuning gradient-norm clip", NULL, "X"},
        {"buffer", ARG_LONG, &c.buffer, "replay capacity in transitions", NULL, "N"},
        {"eval-episodes", ARG_INT, &c.eval_episodes, "deterministic evaluation episodes (real environment)", NULL, "N"},
        {"eval-every", ARG_INT, &c.eval_every, "evaluate every N epochs", NULL, "N"},
        {"save-every", ARG_INT, &c.save_every, "checkpoint every N epochs", NULL, "N"},
        {"max-bad-updates", ARG_INT, &c.max_bad_updates, "stop after this many skipped (exploding) updates in a row", NULL, "N"},
        {"stop-after", ARG_INT, &c.stop_after, "checkpoint and stop after this epoch (0: run to the end); --resume continues", NULL, "N"},
        {0},
    };
    physics_opts_init(&po);
    po.cfg = c.physics;
    args_spec spec = {"pwm train --env NAME --wm FILE [--data DIR...] [--offline] [--preset quick|paper] [options]",
                      "Trains a policy with PWM through a pretrained world model (pwm wm train). Online (default): the\n"
                      "start latents are the encoded observations of real environments stepped in lock-step with the\n"
                      "policy, and the model is fine-tuned on the replay buffer (--data, then the run's own episodes,\n"
                      "kept in DIR/online as a dataset). --offline: start states from --data, no environment, the\n"
                      "model frozen. Writes DIR/config.txt (with the git commit), log.csv, timing.csv,\n"
                      "ckpt/best/final.safetensors and eval.csv (deterministic episodes in the real environment).",
                      {head, ro.opts, opts, po.opts}};
    rc = rundir_parse(&spec, &ro, argc, argv, prog);
    if (rc >= 0) return rc;
    physics_opts_resolve(&po);
    c.physics = po.cfg;
    c.data = data;
    c.critic_data = !strcmp(critic_data, "real")           ? PWM_CRITIC_REAL
                    : !strcmp(critic_data, "real-targets") ? PWM_CRITIC_REAL_TARGETS
                                                           : PWM_CRITIC_MODEL;
    c.gradient = !strcmp(gradient, "hybrid") ? PWM_GRADIENT_HYBRID
                 : !strcmp(gradient, "true") ? PWM_GRADIENT_TRUE
                                             : PWM_GRADIENT_MODEL;
    if (pwm_check_gradient(&c, err, sizeof err)) return fprintf(stderr, "%s: %s\n", prog, err), 2;
    if (!c.wm) return fprintf(stderr, "%s: --wm FILE is required (pretrain one with pwm wm train)\n", prog), 2;
    train_args a = {&c, &spec, &ro, rundir_dir(&ro, c.env, c.seed), device, threads};
    return then(&a, ctx);
}

static int train_start(const train_args *a, void *ctx) {
    // before the run directory is made or noted in, and before anything allocates a network
    if (device_opt_select(a->device, "pwm train")) return 1;
    if (rundir_record(a->spec, a->ro, a->out, "pwm train")) return 1;
    return pwm_train(a->c, a->out, a->ro->resume, a->threads);
}

int cmd_train(int argc, char **argv) { return train_parse(argc, argv, "pwm train", train_start, NULL); }

typedef struct {
    int (*then)(const pwm_config *c, void *ctx);
    void *ctx;
} run_config_ctx;

static int run_config_then(const train_args *a, void *ctx) {
    run_config_ctx *x = ctx;
    return x->then(a->c, x->ctx);
}

int train_run_config(const char *dir, const char *prog, int (*then)(const pwm_config *c, void *ctx), void *ctx) {
    char *argv[] = {"pwm train", "--resume", "--out", (char *)dir, NULL};
    run_config_ctx x = {then, ctx};
    return train_parse(4, argv, prog, run_config_then, &x);
}

typedef struct {
    compare_config c;
    const char *exe;
} compare_ctx;

static int compare_stages(void *ctx, ex_plan *plan, const char *stage, int *found) {
    compare_ctx *x = ctx;
    x->c.ex = (ex_ctl){.stage = stage, .plan = plan, .found = found};
    return compare_run(&x->c, x->exe);
}

int cmd_compare(int argc, char **argv) {
    compare_config c = {.preset = "quick", .protocol = "matched", .seeds = 3, .contact_stiffness = -1, .contact_damping = -1};
    ex_options xo = {.executor = "local", .jobs = 1};
    const args_opt opts[] = {
        {"env", ARG_STRING, &c.env, "task (see pwm envs)", NULL, "NAME"},
        {"preset", ARG_CHOICE, &c.preset, "quick (about 0.3M steps per run, 2 cores) or paper (10.24M, big machines)",
         "quick|paper", NULL},
        {"protocol", ARG_CHOICE, &c.protocol,
         "matched: PWM's random data and pretraining count against its budget; pretrained (the paper's): one world "
         "model per task pretrained on a SHAC run's whole history plus random episodes, not counted, then the same "
         "online budget for both", "matched|pretrained", NULL},
        {"data-seed", ARG_LONG, &c.data_seed, "pretrained: seed of the pretraining data and model (not an evaluation "
         "seed; 0: 100)", NULL, "S"},
        {"pretrain-data", ARG_STRING, &c.pretrain_data, "pretrained: use this dataset instead of building one", NULL,
         "DIR"},
        {"data-epochs", ARG_LONG, &c.data_epochs, "pretrained: epochs of the SHAC run whose whole history is the "
         "data (0: the preset's)", NULL, "N"},
        {"pretrain-wm", ARG_STRING, &c.pretrain_wm, "pretrained: use this world model instead of training one", NULL,
         "FILE"},
        {"reproduce-original", ARG_FLAG, &c.reproduce_original,
         "the public code's quirks for the world model and PWM ((r - mean)/std rewards among them)", NULL, NULL},
        {"pwm-extra", ARG_STRING, &c.pwm_extra,
         "more pwm train options for every PWM, hybrid and true run, in one quoted string (e.g. '--closed-loop --target-alpha 0.95')",
         NULL, "'OPTS'"},
        {"device", ARG_CHOICE, &c.device,
         "where PWM's world-model pretraining and training compute (pwm wm train and pwm train --device; SHAC and PPO "
         "stay on the CPU; none: theirs, the CPU; the CUDA path has not yet run on a GPU)", "auto|cpu|cuda", NULL},
        {"seeds", ARG_INT, &c.seeds, "seeds 0..K-1 per method", NULL, "K"},
        {"methods", ARG_STRING, &c.methods, "comma-separated methods among shac, pwm, ppo, hybrid and true (pwm train --gradient hybrid / true on "
         "PWM's networks and world model; default: shac,pwm,ppo)", NULL,
         "M,M"},
        {"out", ARG_STRING, &c.out, "output directory (default results/compare/ENV-PRESET); a re-run continues it", NULL,
         "DIR"},
        {"budget", ARG_LONG, &c.budget, "environment steps per run, PWM's collection included (0: the preset's)", NULL, "N"},
        {"collect", ARG_LONG, &c.collect, "random-policy steps in PWM's pretraining data (0: the preset's)", NULL, "N"},
        {"wm-steps", ARG_LONG, &c.wm_steps, "world-model pretraining steps (0: the preset's)", NULL, "N"},
        {"wm-size", ARG_STRING, &c.wm_size, "world-model size small|paper (default: the preset's)", NULL, "SIZE"},
        {"evals", ARG_INT, &c.evals, "evaluations along each run (0: the preset's)", NULL, "N"},
        {"threads", ARG_INT, &c.threads, "threads per run (0: all cores)", NULL, "T"},
        {"contact-stiffness", ARG_DOUBLE, &c.contact_stiffness,
         "contact stiffness for every stage, MuJoCo's direct solref (-k, -d) (-1: the task's; docs/tasks.md)", NULL, "K"},
        {"contact-damping", ARG_DOUBLE, &c.contact_damping, "contact damping with --contact-stiffness", NULL, "D"},
        EXEC_OPTS(xo),
        {0},
    };
    args_spec spec = {"pwm compare --env NAME [--preset quick|paper] [--seeds K] [--methods shac,pwm,ppo] [--protocol matched|pretrained] [--out DIR]",
                      "SHAC, PWM and PPO side by side. --protocol matched (default): per seed, PWM collects\n"
                      "random-policy data, pretrains its world model and trains online, all within its budget; SHAC\n"
                      "and PPO train from scratch. --protocol pretrained: one world model per task, pretrained on a\n"
                      "SHAC run's whole learning history plus random episodes (seed --data-seed) and not counted;\n"
                      "then every learner gets the same online budget. Writes DIR/compare.csv, summary.csv,\n"
                      "peaks.csv (peak IQM over seeds), summary.md, return_vs_steps.png and return_vs_time.png, and\n"
                      "each run's own directory (config, logs, checkpoints). Stages already finished are skipped.\n"
                      "--methods ...,hybrid,true add pwm train --gradient hybrid (real rollouts, gradients through\n"
                      "the world model) and --gradient true (real rollouts, gradients through MuJoCo) on PWM's\n"
                      "networks, data and world model of each seed.\n"
                      "--executor local --jobs K or --executor slurm run the stages as a DAG of waves (docs/experiments.md).",
                      {opts}};
    int rc = args_parse_command(&spec, argc, argv, "pwm compare");
    if (rc >= 0) return rc;
    if (!c.env && !xo.status && !xo.merge) return fprintf(stderr, "pwm compare: --env NAME is required\n"), 2;
    char out[1024], exe[1024];
    if (!c.out) {
        snprintf(out, sizeof out, "results/compare/%s-%s", c.env, c.preset);
        c.out = out;
    }
    if (ex_wanted(&xo) && !xo.status && !xo.merge) {
        if (ex_abs_dir(out, sizeof out, c.out)) return 1;
        c.out = out;
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return fprintf(stderr, "pwm compare: cannot find this program's path\n"), 1;
    exe[n] = 0;
    compare_ctx x = {c, exe};
    const char *words[] = {"compare", NULL};
    return ex_main(&xo, exe, words, argc, argv, c.out, compare_stages, &x);
}
