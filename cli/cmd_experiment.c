// `pwm experiment NAME`: the paper's experiments, each one command writing
// results/<experiment>/<timestamp>/ (CSVs, gnuplot PNGs, summary.md).
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../experiments/ball_wall_exp.h"
#include "../experiments/esnr.h"
#include "../experiments/landscape.h"
#include "../experiments/pretrain.h"
#include "../experiments/results.h"
#include "../experiments/table.h"
#include "../experiments/wm_sweep.h"
#include "../nn/common.h"
#include "../nn/device.h"
#include "../nn/exitcode.h"
#include "../opts/args.h"
#include "../opts/device_opt.h"
#include "exec_opts.h"
#include "commands.h"

static int exp_ball_wall(int argc, char **argv, const char *command) {
    bw_config c = bw_config_paper();
    const char *preset = "quick", *out = NULL;
    const args_opt opts[] = {
        {"preset", ARG_CHOICE, &preset, "quick: one seed (seconds); paper: the same fit repeated over 10 seeds",
         "quick|paper", NULL},
        {"seed", ARG_LONG, &c.seed, "seed of the initial weights and the batches (the first of the paper preset's 10)",
         NULL, "S"},
        {"out", ARG_STRING, &out, "output directory (default results/ball-wall/TIMESTAMP)", NULL, "DIR"},
        {"reproduce-original", ARG_FLAG, &c.reproduce_original,
         "as the paper's script: the SimNorm decoder's gradients accumulate (its zero_grad misses them)", NULL, NULL},
        {"epochs", ARG_INT, &c.epochs, "training epochs (the paper: 100)", NULL, "N"},
        {"gd-steps", ARG_INT, &c.gd_steps, "gradient-descent steps on each model", NULL, "N"},
        {"gd-lr", ARG_DOUBLE, &c.gd_lr, "gradient-descent step size", NULL, "X"},
        {0},
    };
    args_spec spec = {"pwm experiment ball-wall [--preset quick|paper] [--seed S] [--out DIR]",
                      "The PWM paper's ball thrown at a wall (its Fig. 2 and smoothness table): J(theta) on 1000 points\n"
                      "over [-pi, pi]; a plain Linear+ReLU MLP, the paper script's \"ReLU\" MLP (LayerNorm+Mish) and\n"
                      "the SimNorm model fitted by MSE (Adam 2e-3, batch 56, 100 x 17 steps); their error, the paper's\n"
                      "optimality gap, and where gradient descent on each ends. Writes landscape.csv, table.csv,\n"
                      "losses.csv, markers.csv, landscape.png, losses.png and summary.md.",
                      {opts}};
    int rc = args_parse_command(&spec, argc, argv, "pwm experiment ball-wall");
    if (rc >= 0) return rc;
    if (c.epochs < 1 || c.gd_steps < 0) return fprintf(stderr, "pwm experiment ball-wall: --epochs >= 1, --gd-steps >= 0\n"), 2;
    return bw_experiment(&c, preset, out, command);
}

static int exp_esnr(int argc, char **argv, const char *command) {
    const char *preset = args_peek(argc, argv, "preset");
    esnr_config c;
    char err[512];
    if (esnr_preset(&c, preset ? preset : "quick", err, sizeof err))
        return fprintf(stderr, "pwm experiment esnr: %s\n", err), 2;
    const char *out = NULL, *device = "cpu";
    int threads = 0;
    const args_opt opts[] = {
        {"preset", ARG_CHOICE, &c.preset, "quick: small world models, 2 cores, minutes; paper: the reference's settings",
         "quick|paper", NULL},
        {"seed", ARG_LONG, &c.seed, "seed of the data, the world models, the policy's weights and its noise", NULL, "S"},
        {"out", ARG_STRING, &out, "output directory (default results/esnr/TIMESTAMP)", NULL, "DIR"},
        {"reproduce-original", ARG_FLAG, &c.reproduce_original,
         "the paper script's quirks: pre-step reward (zero true gradient at H = 1), samples that start where the\n"
         "last one ended, its reward scales",
         NULL, NULL},
        {"max-horizon", ARG_INT, &c.max_h, "horizons H = 1..N", NULL, "N"},
        {"samples", ARG_INT, &c.samples, "gradient samples per horizon", NULL, "N"},
        {"collect", ARG_LONG, &c.collect, "random-policy transitions the world models train on", NULL, "N"},
        {"wm-size", ARG_CHOICE, &c.wm_size, "world-model size", "small|paper", NULL},
        {"wm-steps", ARG_LONG, &c.wm_steps, "world-model training steps", NULL, "N"},
        {"wm-batch", ARG_INT, &c.wm_batch, "world-model batch (sub-trajectories)", NULL, "B"},
        {"actor-units", ARG_STRING, &c.actor_units, "the policy's hidden widths", NULL, "W,W,..."},
        {"threads", ARG_INT, &threads, "threads (0: all cores)", NULL, "T"},
        DEVICE_OPT(device),
        {0},
    };
    args_spec spec = {"pwm experiment esnr [--preset quick|paper] [--seed S] [--out DIR] [--reproduce-original]",
                      "The PWM paper's double-pendulum gradient study (its Fig. 4): the variance and ESNR of the policy\n"
                      "gradient of -sum(r) over H = 1..50 steps, through the true dynamics (MuJoCo with recorded\n"
                      "Jacobians) and through world models trained with H = 3 and H = 16 on random-policy data the\n"
                      "command collects. Writes esnr.csv, variance.png, esnr.png, the data, the models and summary.md.\n"
                      "--device: where the two world models train; the gradient samples run on the CPU.",
                      {opts}};
    int rc = args_parse_command(&spec, argc, argv, "pwm experiment esnr");
    if (rc >= 0) return rc;
    if (c.max_h < 1 || c.samples < 2 || c.collect < 1 || c.wm_steps < 1 || c.wm_batch < 1)
        return fprintf(stderr, "pwm experiment esnr: --max-horizon >= 1, --samples >= 2, --collect, --wm-steps, "
                               "--wm-batch >= 1\n"), 2;
    nn_set_threads(threads);
    // checked (and CUDA started) before anything is written; esnr_experiment selects it for the
    // world models' training only
    if (device_opt_select(device, "pwm experiment esnr")) return 1;
    c.device = device;
    nn_device_select("cpu", err, sizeof err);
    return esnr_experiment(&c, out, command);
}

static int exe_path(char *exe, size_t n) {
    ssize_t k = readlink("/proc/self/exe", exe, n - 1);
    if (k <= 0) return fprintf(stderr, "pwm experiment: cannot find this program's path\n"), -1;
    exe[k] = 0;
    return 0;
}

// the staged experiments: table and stiffness, run through ex_main
typedef struct {
    void *c;
    const char *exe, *command;
    int (*sweep)(const wm_sweep_config *, const char *, const char *);  // smoothness_run or accuracy_run
} staged_ctx;

static int table_stages(void *ctx, ex_plan *plan, const char *stage, int *found) {
    staged_ctx *x = ctx;
    table_config *c = x->c;
    c->ex = (ex_ctl){.stage = stage, .plan = plan, .found = found};
    return table_run(c, x->exe, x->command);
}

static int stiffness_stages(void *ctx, ex_plan *plan, const char *stage, int *found) {
    staged_ctx *x = ctx;
    stiffness_config *c = x->c;
    c->ex = (ex_ctl){.stage = stage, .plan = plan, .found = found};
    return stiffness_run(c, x->exe, x->command);
}

static int sweep_stages(void *ctx, ex_plan *plan, const char *stage, int *found) {
    staged_ctx *x = ctx;
    wm_sweep_config *c = x->c;
    c->ex = (ex_ctl){.stage = stage, .plan = plan, .found = found};
    return x->sweep(c, x->exe, x->command);
}

// an experiment's directory (--out, else results/NAME/TIMESTAMP), absolute when an executor runs
// its stages elsewhere; then ex_main
static int run_staged(const ex_options *xo, const char **out, const char *name, int argc, char **argv,
                      int (*run)(void *, ex_plan *, const char *, int *), void *c, const char *command,
                      int (*sweep)(const wm_sweep_config *, const char *, const char *)) {
    char exe[1024], dir[1024], err[1024];
    if (exe_path(exe, sizeof exe)) return 1;
    if (ex_wanted(xo) && !xo->status && !xo->merge) {
        if (res_dir(dir, sizeof dir, name, *out, err, sizeof err) || ex_abs_dir(dir, sizeof dir, dir))
            return fprintf(stderr, "pwm experiment %s: %s\n", name, err), 1;
        *out = dir;
    }
    staged_ctx x = {c, exe, command, sweep};
    const char *words[] = {"experiment", name, NULL};
    return ex_main(xo, exe, words, argc, argv, *out ? *out : ".", run, &x);
}

static int exp_table(int argc, char **argv, const char *command) {
    table_config c = {.preset = "quick", .seeds = 2, .normalise = "ppo"};
    ex_options xo = {.executor = "local", .jobs = 1};
    const args_opt opts[] = {
        {"preset", ARG_CHOICE, &c.preset,
         "quick: smoke-scale budgets, 2 seeds, about 30-40 minutes on 2 cores; paper: pwm compare's paper budget",
         "quick|paper", NULL},
        {"tasks", ARG_STRING, &c.tasks, "comma-separated tasks (default hopper,ant,humanoid,snu-humanoid)", NULL, "T,T"},
        {"seeds", ARG_INT, &c.seeds, "seeds 0..K-1 per task and method (the paper: 5 for PWM, 10 for SHAC)", NULL, "K"},
        {"out", ARG_STRING, &c.out, "output directory (default results/table/TIMESTAMP); a re-run continues it", NULL,
         "DIR"},
        {"threads", ARG_INT, &c.threads, "threads per run (0: all cores)", NULL, "T"},
        {"normalise", ARG_CHOICE, &c.normalise, "pooled row divided per task by PPO's peak IQM (the paper's) or SHAC's IQM",
         "ppo|shac", NULL},
        {"budget", ARG_LONG, &c.budget, "environment steps per run on every task (0: the preset's per task)", NULL, "N"},
        {"collect", ARG_LONG, &c.collect, "PWM's random-policy steps on every task (0: the preset's)", NULL, "N"},
        {"wm-steps", ARG_LONG, &c.wm_steps, "world-model pretraining steps on every task (0: the preset's)", NULL, "N"},
        {"evals", ARG_INT, &c.evals, "evaluations along each run (0: the preset's)", NULL, "N"},
        EXEC_OPTS(xo),
        {0},
    };
    args_spec spec = {"pwm experiment table [--preset quick|paper] [--tasks T,T] [--seeds K] [--normalise ppo|shac] [--out DIR]",
                      "The paper's single-task table: a pwm compare per task (SHAC, PWM and PPO, matched environment-\n"
                      "step budgets, PWM pretraining on random data it collects), then the IQM of the final deterministic\n"
                      "returns over seeds with bootstrap 95% CIs, per task and pooled (stratified) after dividing by\n"
                      "PPO's peak IQM per task. Writes table.csv, table.md, summary.md and one comparison directory\n"
                      "per task (curves, runs).",
                      {opts}};
    int rc = args_parse_command(&spec, argc, argv, "pwm experiment table");
    if (rc >= 0) return rc;
    return run_staged(&xo, &c.out, "table", argc, argv, table_stages, &c, command, NULL);
}

static int exp_stiffness(int argc, char **argv, const char *command) {
    stiffness_config c = {.preset = "quick", .seeds = 2, .stiffness = 12642, .damping = 126.4};
    ex_options xo = {.executor = "local", .jobs = 1};
    const args_opt opts[] = {
        {"preset", ARG_CHOICE, &c.preset, "quick: 0.1M steps per run, 2 seeds (2 cores); paper: pwm compare's paper budget",
         "quick|paper", NULL},
        {"seeds", ARG_INT, &c.seeds, "seeds 0..K-1 per method and contact setting", NULL, "K"},
        {"methods", ARG_STRING, &c.methods,
         "comma-separated methods among shac, pwm, ppo and hybrid (pwm compare --methods; default: shac,pwm)", NULL,
         "M,M"},
        {"stiffness", ARG_DOUBLE, &c.stiffness, "the stiff contacts' direct-solref stiffness (the paper's ke 1e5)", NULL, "K"},
        {"damping", ARG_DOUBLE, &c.damping, "their damping (the paper's kd 1e4)", NULL, "D"},
        {"out", ARG_STRING, &c.out, "output directory (default results/stiffness/TIMESTAMP); a re-run continues it",
         NULL, "DIR"},
        {"threads", ARG_INT, &c.threads, "threads per run (0: all cores)", NULL, "T"},
        EXEC_OPTS(xo),
        {0},
    };
    args_spec spec = {"pwm experiment stiffness [--preset quick|paper] [--seeds K] [--methods M,M] [--out DIR]",
                      "The paper's contact-stiffness ablation on the Hopper: pwm compare with the task's contacts and\n"
                      "with contacts 5x stiffer (ke/kd 2e4/2e3 -> 1e5/1e4 in this project's MuJoCo mapping,\n"
                      "docs/tasks.md); IQM of the final returns with bootstrap CIs. Writes stiffness.csv, summary.md and\n"
                      "both comparisons (curves, runs).",
                      {opts}};
    int rc = args_parse_command(&spec, argc, argv, "pwm experiment stiffness");
    if (rc >= 0) return rc;
    return run_staged(&xo, &c.out, "stiffness", argc, argv, stiffness_stages, &c, command, NULL);
}

// the world-model sweeps share their options; run is smoothness_run or accuracy_run
static int exp_wm_sweep(int argc, char **argv, const char *command, const char *name, const char *summary,
                        int (*run)(const wm_sweep_config *, const char *, const char *)) {
    wm_sweep_config c = {.preset = "quick", .seeds = 2};
    ex_options xo = {.executor = "local", .jobs = 1};
    char prog[64], usage[128];
    snprintf(prog, sizeof prog, "pwm experiment %s", name);
    snprintf(usage, sizeof usage, "%s [--preset quick|paper] [--seeds K] [--out DIR]", prog);
    const args_opt opts[] = {
        {"preset", ARG_CHOICE, &c.preset,
         "quick: 20k random steps, small models, 60 PWM epochs (2 cores); paper: 200k steps, paper-size models, 2000 "
         "epochs", "quick|paper", NULL},
        {"seeds", ARG_INT, &c.seeds, "seeds 0..K-1 (data, models and policies per seed)", NULL, "K"},
        {"out", ARG_STRING, &c.out, "output directory (default results/NAME/TIMESTAMP); a re-run continues it", NULL,
         "DIR"},
        {"threads", ARG_INT, &c.threads, "threads per stage (0: all cores)", NULL, "T"},
        {"device", ARG_CHOICE, &c.device,
         "where the world-model and PWM stages compute (pwm wm train and pwm train --device; none: theirs, the CPU; "
         "the CUDA path has not yet run on a GPU)", "auto|cpu|cuda", NULL},
        EXEC_OPTS(xo),
        {0},
    };
    args_spec spec = {usage, summary, {opts}};
    int rc = args_parse_command(&spec, argc, argv, prog);
    if (rc >= 0) return rc;
    return run_staged(&xo, &c.out, name, argc, argv, sweep_stages, &c, command, run);
}

static int exp_smoothness(int argc, char **argv, const char *command) {
    return exp_wm_sweep(argc, argv, command, "smoothness",
                        "The paper's activation ablation on the Hopper: world models with SimNorm, Mish only and ReLU\n"
                        "trained on the same random-policy data; each one's held-out error and the return of the PWM\n"
                        "policy learned through it (online). Writes sweep.csv, error_vs_return.png and summary.md.",
                        smoothness_run);
}

static int exp_accuracy(int argc, char **argv, const char *command) {
    return exp_wm_sweep(argc, argv, command, "accuracy",
                        "The paper's world-model accuracy ablation on the Hopper: one model saved at three training\n"
                        "lengths; each one's held-out error and the return of the PWM policy learned through it\n"
                        "(online). Writes sweep.csv, error_vs_return.png and summary.md.",
                        accuracy_run);
}

static int exp_landscape(int argc, char **argv, const char *command) {
    landscape_config c = {.preset = "quick", .seed = 0};
    int threads = 1;
    const args_opt opts[] = {
        {"policy", ARG_STRING, &c.policy, "a PWM Hopper checkpoint (e.g. a pwm compare run's final.safetensors)", NULL,
         "CKPT"},
        {"preset", ARG_CHOICE, &c.preset,
         "quick: 41-point line, 15 x 15 plane, H 4/16/64, 8 start states; paper: 101, 41 x 41, H 4..64, 32",
         "quick|paper", NULL},
        {"seed", ARG_LONG, &c.seed, "seed of the directions and the start states", NULL, "S"},
        {"out", ARG_STRING, &c.out, "output directory (default results/landscape/TIMESTAMP)", NULL, "DIR"},
        {"threads", ARG_INT, &threads, "threads (default 1: small networks)", NULL, "T"},
        {0},
    };
    args_spec spec = {"pwm experiment landscape --policy CKPT [--preset quick|paper] [--seed S] [--out DIR]",
                      "Loss landscapes of a trained PWM Hopper policy: the H-step return along random filter-normalised\n"
                      "directions of the actor's weights (a line and a plane), in MuJoCo and in the policy's world\n"
                      "model, at several horizons. Writes landscape_1d.csv, landscape_2d.csv, PNGs per horizon and\n"
                      "summary.md.",
                      {opts}};
    int rc = args_parse_command(&spec, argc, argv, "pwm experiment landscape");
    if (rc >= 0) return rc;
    nn_set_threads(threads);
    return landscape_run(&c, command);
}

static int exp_pretrain_data(int argc, char **argv, const char *command) {
    pretrain_data_config c = {.env = "hopper", .preset = "quick", .seed = 100, .random_steps = 20000};
    const char *out = NULL;
    const args_opt opts[] = {
        {"env", ARG_STRING, &c.env, "task (see pwm envs)", NULL, "NAME"},
        {"preset", ARG_CHOICE, &c.preset, "the SHAC run's preset (its budget: quick 0.3M steps on the Hopper)",
         "quick|paper", NULL},
        {"seed", ARG_LONG, &c.seed, "seed of the SHAC run and the random episodes (keep it off the evaluation seeds)",
         NULL, "S"},
        {"epochs", ARG_LONG, &c.shac_epochs, "the SHAC run's epochs (0: the preset's)", NULL, "N"},
        {"random-steps", ARG_LONG, &c.random_steps, "random-policy transitions added", NULL, "N"},
        {"threads", ARG_INT, &c.threads, "threads (0: all cores)", NULL, "T"},
        {"out", ARG_STRING, &out, "output directory: DIR/data is the dataset, DIR/shac the SHAC run", NULL, "DIR"},
        {0},
    };
    args_spec spec = {"pwm experiment pretrain-data --env NAME [--seed S] --out DIR",
                      "World-model pretraining data like the paper's: every transition of a SHAC run's whole learning\n"
                      "history (from its first epochs to its final policy) plus random-policy episodes, nothing\n"
                      "picked by return. The recipe (commands, seeds, commit, counts) goes into DIR/data/dataset.txt\n"
                      "as source lines. pwm compare --protocol pretrained builds the same itself.",
                      {opts}};
    int rc = args_parse_command(&spec, argc, argv, "pwm experiment pretrain-data");
    if (rc >= 0) return rc;
    if (!out) return fprintf(stderr, "pwm experiment pretrain-data: --out DIR is required\n"), 2;
    if (c.random_steps < 0 || c.shac_epochs < 0)
        return fprintf(stderr, "pwm experiment pretrain-data: --random-steps and --epochs must be >= 0\n"), 2;
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return fprintf(stderr, "pwm experiment pretrain-data: cannot find this program's path\n"), 1;
    exe[n] = 0;
    (void)command;
    if ((rc = pretrain_data(&c, out, exe))) return rc == PWM_EXIT_PREEMPTED ? rc : 1;
    printf("dataset: %s/data (recipe in %s/data/dataset.txt)\n", out, out);
    return 0;
}

static const struct {
    const char *name, *help;
    int (*run)(int argc, char **argv, const char *command);
} experiments[] = {
    {"table", "single-task table: SHAC vs PWM per task, IQM with bootstrap CIs", exp_table},
    {"stiffness", "Hopper with 5x stiffer contacts, SHAC vs PWM (--methods: also PPO, the hybrid)", exp_stiffness},
    {"smoothness", "Hopper world models with SimNorm / Mish / ReLU: held-out error vs PWM return", exp_smoothness},
    {"accuracy", "one Hopper world model at three training lengths: held-out error vs PWM return", exp_accuracy},
    {"landscape", "a PWM Hopper policy's return along random weight directions, MuJoCo vs its model", exp_landscape},
    {"ball-wall", "ball thrown at a wall: model error, optimality gap, landscape (Fig. 2, seconds)", exp_ball_wall},
    {"pretrain-data", "a SHAC run's whole history plus random episodes: world-model pretraining data", exp_pretrain_data},
    {"esnr", "double pendulum: policy-gradient variance and ESNR vs H, true vs world models (Fig. 4)", exp_esnr},
};

static void usage(FILE *out) {
    fprintf(out, "usage: pwm experiment NAME [options]\n\n"
                 "The paper's experiments. Each writes results/NAME/TIMESTAMP/ (or --out DIR): CSVs, PNG plots and\n"
                 "summary.md (command, commit, machine, seeds, wall time).\n\nExperiments:\n");
    for (size_t i = 0; i < sizeof experiments / sizeof experiments[0]; i++)
        fprintf(out, "  %-10s %s\n", experiments[i].name, experiments[i].help);
    fprintf(out, "\nRun pwm experiment NAME --help for an experiment's options.\n");
}

int cmd_experiment(int argc, char **argv) {
    if (argc < 2) return usage(stderr), 2;
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return usage(stdout), 0;
    char command[4096];
    res_command(command, sizeof command, argc + 1, argv - 1);
    for (size_t i = 0; i < sizeof experiments / sizeof experiments[0]; i++)
        if (!strcmp(argv[1], experiments[i].name)) return experiments[i].run(argc - 1, argv + 1, command);
    fprintf(stderr, "pwm experiment: unknown experiment '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
