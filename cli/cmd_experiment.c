// `pwm experiment NAME`: the paper's experiments, each one command writing
// results/<experiment>/<timestamp>/ (CSVs, gnuplot PNGs, summary.md).
#include <stdio.h>
#include <string.h>

#include "../experiments/ball_wall_exp.h"
#include "../experiments/results.h"
#include "../nn/common.h"
#include "args.h"
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
                      opts};
    int rc = args_parse_command(&spec, argc, argv, "pwm experiment ball-wall");
    if (rc >= 0) return rc;
    if (c.epochs < 1 || c.gd_steps < 0) return fprintf(stderr, "pwm experiment ball-wall: --epochs >= 1, --gd-steps >= 0\n"), 2;
    return bw_experiment(&c, preset, out, command);
}

static const struct {
    const char *name, *help;
    int (*run)(int argc, char **argv, const char *command);
} experiments[] = {
    {"ball-wall", "ball thrown at a wall: model error, optimality gap, landscape (Fig. 2, seconds)", exp_ball_wall},
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
