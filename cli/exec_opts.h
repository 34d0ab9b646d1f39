// The options of experiments made of stages (pwm compare, pwm experiment table|stiffness), bound
// to an ex_options (experiments/executor.h): put EXEC_OPTS(x) at the end of an option table.
#ifndef PWM_CLI_EXEC_OPTS_H
#define PWM_CLI_EXEC_OPTS_H

#include "../experiments/executor.h"

#define EXEC_OPTS(x)                                                                                                  \
    {"executor", ARG_CHOICE, &(x).executor,                                                                          \
     "local: run the stages on this machine (--jobs at once); slurm: submit one job array per wave of independent " \
     "stages (docs/experiments.md \"On a cluster\")", "local|slurm", NULL},                                          \
    {"jobs", ARG_INT, &(x).jobs, "local: stages at once (1: one after another in this process, as always)", NULL,   \
     "K"},                                                                                                            \
    {"slurm-arg", ARG_LIST, &(x).slurm_args,                                                                          \
     "slurm: sbatch options for every array, e.g. partition=gpu account=lab time=04:00:00 mem=8G", NULL, "OPT..."},  \
    {"slurm-signal", ARG_INT, &(x).signal_s,                                                                          \
     "slurm: seconds before the time limit at which a stage is told to checkpoint and requeue (0: 300)", NULL, "S"}, \
    {"status", ARG_STRING, &(x).status, "print the state of each stage of the experiment in DIR and stop", NULL,    \
     "DIR"},                                                                                                          \
    {"merge", ARG_STRING, &(x).merge,                                                                                 \
     "merge the finished stages of the experiment in DIR into its CSVs, tables and plots, and stop", NULL, "DIR"},   \
    {"stage", ARG_STRING, &(x).stage, "run one stage of the plan (what the executors run; merge: merge)", NULL,     \
     "NAME"}

#endif
