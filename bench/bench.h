// Benchmark subcommands: commands that print figures (never timed tests).
#ifndef PWM_BENCH_BENCH_H
#define PWM_BENCH_BENCH_H

// `pwm bench TARGET ...`; argv[0] is "bench". Returns the process exit code.
int bench_main(int argc, char **argv);
// `pwm bench nn ...`; argv[0] is "nn".
int bench_nn(int argc, char **argv);

// `pwm bench physics ...`; argv[0] is "physics".
int bench_physics(int argc, char **argv);
// `pwm bench jacobians ...`; argv[0] is "jacobians".
int bench_jacobians(int argc, char **argv);

#endif
