#include "bench.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name, *help;
    int (*run)(int argc, char **argv);
} targets[] = {
    {"nn", "world-model training step on the numeric core (GEMM share, GFLOP/s)", bench_nn},
    {"physics", "MuJoCo stepping, plain and with recorded Jacobians (cost vs the lower bound)", bench_physics},
    {"jacobians", "size of a task's recorded Jacobians and gradient growth through SHAC windows", bench_jacobians},
};

static void usage(FILE *out) {
    fprintf(out, "usage: pwm bench TARGET [options]\n\nBenchmarks and diagnostics that print figures. Targets:\n");
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
        fprintf(out, "  %-10s %s\n", targets[i].name, targets[i].help);
    fprintf(out, "\nRun pwm bench TARGET --help for a target's options.\n");
}

int bench_main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
        if (!strcmp(argv[1], targets[i].name)) return targets[i].run(argc - 1, argv + 1);
    fprintf(stderr, "pwm bench: unknown target '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
