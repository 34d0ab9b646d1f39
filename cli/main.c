// build/pwm: one program, many subcommands. Each subcommand parses its own options (opts/args.h)
// and answers --help.
#include <cblas.h>
#include <mujoco/mujoco.h>
#include <stdio.h>
#include <string.h>

#include "../bench/bench.h"
#include "../nn/device.h"
#include "commands.h"
#include "version.h"

static int cmd_version(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: pwm version\n\nPrints the git commit this binary was built from, the library versions and whether\n"
               "the CUDA backend is built in.\n");
        return 0;
    }
    printf("pwm %s\nMuJoCo %d\n%s\n", PWM_GIT_COMMIT, mj_version(), openblas_get_config());
    if (nn_device_cuda_built())
        printf("CUDA backend: built with nvcc %s; NOT YET RUN ON A GPU (make test-cuda has never run on one)\n",
               PWM_NVCC_VERSION);
    else
        printf("CUDA backend: not built (nvcc was not found, or CUDA=0); CPU only\n");
    return 0;
}

static const struct {
    const char *name, *help;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"bench", "benchmarks that print figures (bench nn, bench physics)", bench_main},
    {"envs", "list the tasks", cmd_envs},
    {"rollout", "returns of a fixed policy (random, zero) on a task", cmd_rollout},
    {"shac", "train a policy with SHAC through the MuJoCo dynamics", cmd_shac},
    {"ppo", "train a policy with PPO (zeroth-order baseline, plain MuJoCo stepping)", cmd_ppo},
    {"train", "train a policy with PWM through a pretrained world model", cmd_train},
    {"diagnose", "why a PWM policy does or does not learn: model, gradients, critic, returns", cmd_diagnose},
    {"compare", "SHAC, PWM and PPO side by side (matched or pretrained protocol), CSV and plots", cmd_compare},
    {"experiment", "the paper's experiments (pwm experiment --help): CSVs, plots, summary", cmd_experiment},
    {"eval", "evaluate a policy checkpoint's deterministic policy", cmd_eval},
    {"collect", "episodes of a task under a policy, into a NumPy dataset", cmd_collect},
    {"wm", "world models: train on datasets, evaluate held-out errors", cmd_wm},
    {"snu-convert", "the SNU Humanoid's MuJoCo model from the MASS skeleton and muscles", cmd_snu_convert},
    {"gradcheck", "check physics gradients against whole-rollout finite differences", cmd_gradcheck},
    {"version", "the git commit and library versions", cmd_version},
};

static void usage(FILE *out) {
    fprintf(out,
            "usage: pwm COMMAND [options]\n\n"
            "PWM and SHAC on MuJoCo: a differentiable-physics research testbed.\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\nRun pwm COMMAND --help for a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) return cmd_version(1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "pwm: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
