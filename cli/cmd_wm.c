// `pwm wm train` and `pwm wm eval`: world models on offline datasets.
#include <stdio.h>
#include <string.h>

#include "../nn/common.h"
#include "../opts/args.h"
#include "../opts/device_opt.h"
#include "../worldmodel/train.h"
#include "commands.h"

static int wm_train_cmd(int argc, char **argv) {
    const char **data = NULL, *out = NULL, *device = "cpu";
    int resume = 0, threads = 0;
    wm_train_config c = {.size = "small", .activation = "simnorm", .reward = "mse", .steps = 5000, .batch = 256, .horizon = 16,
                         .lr = 3e-4, .clip = 20, .rho = 0.99, .holdout = 0.1, .seed = 0, .save_every = 0,
                         .log_every = 100, .task_dim = 96};
    const args_opt opts[] = {
        {"data", ARG_LIST, &data, "dataset directories (pwm collect)", NULL, "DIR..."},
        {"out", ARG_STRING, &out, "the model's checkpoint (log: OUT.log.csv)", NULL, "FILE"},
        {"env", ARG_STRING, &c.env, "check that the data is of this task", NULL, "NAME"},
        {"size", ARG_CHOICE, &c.size, "small: latent 128, [128], [128, 128] (2 cores); paper: 512, [256], [512, 512]",
         "small|paper", NULL},
        {"activation", ARG_CHOICE, &c.activation, "simnorm (default), mish (no SimNorm) or relu (no LayerNorm)",
         "simnorm|mish|relu", NULL},
        {"reward", ARG_CHOICE, &c.reward, "reward head: mse (a scalar, the single-task default) or twohot (101 bins)",
         "mse|twohot", NULL},
        {"steps", ARG_LONG, &c.steps, "training steps", NULL, "N"},
        {"termination", ARG_FLAG, &c.termination,
         "also train a termination head on the episodes' terminated flags (for pwm train --offline on tasks that end)",
         NULL, NULL},
        {"reproduce-original", ARG_FLAG, &c.reproduce_original,
         "normalise rewards as (r - mean)/std, the public code's (default r/std: staying alive never scores below a "
         "termination's 0)", NULL, NULL},
        {"task-dim", ARG_INT, &c.task_dim, "task-embedding width when the datasets hold several tasks", NULL, "N"},
        {"batch", ARG_INT, &c.batch, "sub-trajectories per step", NULL, "B"},
        {"horizon", ARG_INT, &c.horizon, "steps per sub-trajectory H", NULL, "H"},
        {"lr", ARG_DOUBLE, &c.lr, "Adam learning rate", NULL, "LR"},
        {"clip", ARG_DOUBLE, &c.clip, "gradient-norm clip", NULL, "X"},
        {"rho", ARG_DOUBLE, &c.rho, "temporal weight of the loss terms", NULL, "X"},
        {"holdout", ARG_DOUBLE, &c.holdout, "fraction of episodes held out (the last ones)", NULL, "X"},
        {"seed", ARG_LONG, &c.seed, "seed of the weights and the batches", NULL, "S"},
        {"save-every", ARG_INT, &c.save_every, "also keep OUT.step-N.safetensors every N steps (0: none)", NULL, "N"},
        {"log-every", ARG_INT, &c.log_every, "log (with a held-out loss) every N steps", NULL, "N"},
        {"resume", ARG_FLAG, &resume, "continue training OUT", NULL, NULL},
        {"threads", ARG_INT, &threads, "threads (0: all cores)", NULL, "T"},
        DEVICE_OPT(device),
        {0},
    };
    args_spec spec = {"pwm wm train --data DIR... --env NAME --out FILE [options]",
                      "Trains the world model (encoder, latent dynamics, reward) with PWM's loss on offline episodes; "
                      "rewards are divided by the training set's reward std (clamped to +-5; --reproduce-original: "
                      "mean subtracted first, as the public code).",
                      {opts}};
    int rc = args_parse_command(&spec, argc, argv, "pwm wm train");
    if (rc >= 0) return rc;
    if (!data || !data[0] || !out) return fprintf(stderr, "pwm wm train: --data DIR... and --out FILE are required\n"), 2;
    if (c.steps < 1 || c.batch < 1 || c.horizon < 1 || c.log_every < 1 || c.holdout < 0 || c.holdout >= 1)
        return fprintf(stderr, "pwm wm train: steps, batch, horizon, log-every >= 1 and holdout in [0, 1)\n"), 2;
    nn_set_threads(threads);
    if (device_opt_select(device, "pwm wm train")) return 1;
    c.data = data;
    return wm_train(&c, out, resume);
}

static int wm_eval_cmd(int argc, char **argv) {
    const char **data = NULL, *wm = NULL;
    int horizon = 16, threads = 0, batch = WM_EVAL_BATCH;
    double holdout = 0.1;
    const args_opt opts[] = {
        {"wm", ARG_STRING, &wm, "world-model checkpoint", NULL, "FILE"},
        {"data", ARG_LIST, &data, "dataset directories (as in training: the same hold-out split)", NULL, "DIR..."},
        {"horizon", ARG_INT, &horizon, "open-loop steps H", NULL, "H"},
        {"holdout", ARG_DOUBLE, &holdout,
         "fraction of episodes held out (as in training; 1: every episode, for data the model never saw, such as a "
         "policy's own episodes from pwm collect)", NULL, "X"},
        {"batch", ARG_INT, &batch, "windows per forward pass (speed only)", NULL, "B"},
        {"threads", ARG_INT, &threads, "threads (0: all cores)", NULL, "T"},
        {0},
    };
    args_spec spec = {"pwm wm eval --wm FILE --data DIR... [options]",
                      "On every window of the held-out episodes: latent consistency error after 1 and H open-loop "
                      "steps, the H-step open-loop reward MSE, and the same for a predictor of the training mean reward.",
                      {opts}};
    char err[1024];
    int rc = args_parse_command(&spec, argc, argv, "pwm wm eval");
    if (rc >= 0) return rc;
    if (!wm || !data || !data[0]) return fprintf(stderr, "pwm wm eval: --wm FILE and --data DIR... are required\n"), 2;
    if (!(holdout >= 0 && holdout <= 1)) return fprintf(stderr, "pwm wm eval: --holdout must be in [0, 1]\n"), 2;
    nn_set_threads(threads);
    wm_eval_result r;
    if (wm_evaluate(wm, data, holdout, horizon, batch, &r, err, sizeof err)) return fprintf(stderr, "pwm wm eval: %s\n", err), 1;
    printf("held-out windows %d, horizon %d\n", r.windows, r.horizon);
    printf("latent consistency MSE    1 step %.4g, %d steps %.4g\n", r.consistency_1, r.horizon, r.consistency_h);
    printf("open-loop reward MSE      %.4g   (mean-reward baseline %.4g; ratio %.3f)\n", r.reward_mse, r.baseline_mse,
           r.reward_mse / r.baseline_mse);
    return 0;
}

int cmd_wm(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "train")) return wm_train_cmd(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "eval")) return wm_eval_cmd(argc - 1, argv + 1);
    FILE *o = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? stdout : stderr;
    fprintf(o, "usage: pwm wm train|eval [options]\n\n  train   train a world model on datasets\n"
               "  eval    its held-out consistency and reward errors\n\nRun pwm wm train --help for options.\n");
    return o == stdout ? 0 : 2;
}
