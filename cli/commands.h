// The subcommands of build/pwm. Each takes (argc, argv) with argv[0] its own name and returns the
// process exit code.
#ifndef PWM_CLI_COMMANDS_H
#define PWM_CLI_COMMANDS_H

#include "../policy/pwm.h"

int cmd_gradcheck(int argc, char **argv);
int cmd_envs(int argc, char **argv);
int cmd_rollout(int argc, char **argv);
int cmd_shac(int argc, char **argv);
int cmd_ppo(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_collect(int argc, char **argv);
int cmd_wm(int argc, char **argv);
int cmd_snu_convert(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_diagnose(int argc, char **argv);
int cmd_experiment(int argc, char **argv);

// The config of the pwm train run in dir, read from its config.txt as --resume reads it (messages
// from prog); then(c, ctx)'s return, or the exit code 2 when it cannot be read.
int train_run_config(const char *dir, const char *prog, int (*then)(const pwm_config *c, void *ctx), void *ctx);

#endif
