// The exit codes of build/pwm, in one place (docs/architecture.md "Exit codes"), and the
// preemption request that SIGTERM and SIGUSR1 raise.
//
// A batch system (Slurm) tells a job it is about to be stopped with a signal; every learner then
// writes its checkpoint at its next safe point (the end of the current epoch or step) and exits
// with PWM_EXIT_PREEMPTED, so that a job script can tell "requeue me" from "I failed".
#ifndef PWM_NN_EXITCODE_H
#define PWM_NN_EXITCODE_H

#define PWM_EXIT_OK 0         // finished (or --help, or stopped by --stop-after as asked)
#define PWM_EXIT_FAIL 1       // bad input (a file, a config, a dataset) or an error while running
#define PWM_EXIT_USAGE 2      // bad options on the command line
#define PWM_EXIT_DIVERGED 3   // training stopped by its explosion guard (non-finite gradients)
#define PWM_EXIT_PREEMPTED 75 // stopped by SIGTERM/SIGUSR1 after its checkpoint: resume with --resume
                              // (75 is sysexits' EX_TEMPFAIL, "try again later")

// Install the handler for SIGTERM and SIGUSR1 that sets the preemption request (idempotent).
// The handler only sets a flag; the loops poll it with nn_preempted().
void nn_preempt_install(void);
// Whether a preemption signal has arrived since the program started (or since nn_preempt_reset).
int nn_preempted(void);
// The signal that asked (0: none), for messages.
int nn_preempt_signal(void);
// Forget a request (for tests that run several learners in one process).
void nn_preempt_reset(void);

#endif
