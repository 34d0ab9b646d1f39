// Experiments past one machine: an experiment's stages as a DAG of waves of independent
// `build/pwm ... --stage NAME` command lines, run here up to K at once (`--executor local --jobs K`)
// or submitted to Slurm as one job array per wave (`--executor slurm`), later waves depending on
// earlier ones. Every stage is a resumable run in its own directory, so a stage that is preempted
// (exit PWM_EXIT_PREEMPTED, nn/exitcode.h) is requeued and continues; finished stages are skipped.
//
// An experiment's directory gets exec/: plan.txt (wave, stage, done marker, started marker per
// line), command.txt (the stage command, one argument per line; a stage appends --stage NAME),
// NAME.log (a local stage's output), NAME.rc (each stage command's exit code), wave-W.sbatch,
// wave-W-TASK.out (Slurm's output) and jobs.txt (the Slurm job id of each wave, every submission).
// docs/experiments.md "On a cluster" tells the whole story.
#ifndef PWM_EXPERIMENTS_EXECUTOR_H
#define PWM_EXPERIMENTS_EXECUTOR_H

#include <stddef.h>

#include "../opts/rundir.h"

#define EX_MAX_STAGES 256
#define EX_MAX_WAVES 8

typedef struct {
    int wave;                   // 0, 1, ...: a stage needs every stage of the waves before its own
    char name[96];              // e.g. "pwm-seed0-train", "hopper/shac-seed1"
    char done[1200];            // the file that exists once it finished
    char started[1200];         // a file that exists once it began (a partial run)
} ex_stage;

typedef struct {
    int n;
    ex_stage s[EX_MAX_STAGES];
} ex_plan;

// Add a stage (prefix + name); nn_check on overflow.
void ex_plan_add(ex_plan *p, int wave, const char *prefix, const char *name, const char *done, const char *started);

// What one invocation of a staged experiment does with its stages (the experiment's config holds one).
typedef struct {
    const char *stage;   // run this stage only; "merge": none, merge the finished ones (NULL: all, here)
    const char *prefix;  // the prefix of the experiment's stage names in a bigger plan ("hopper/"; NULL: none)
    ex_plan *plan;       // non-NULL: record the stages into it and run nothing
    int *found;          // with stage: set to 1 when the experiment holds it
} ex_ctl;

// The one gate every stage of an experiment passes, where the experiment would run it (wave: its
// wave; done: the file a finished one leaves; started: a file of a partial one): a plain run runs
// every stage (each skips itself when finished); with a plan it records the stage and runs nothing;
// with stage NAME only that one runs; with "merge" none, and every stage must be finished (else a
// message from prog naming it). 1: run it, 0: not, -1: a stage is not finished.
int ex_gate(const ex_ctl *x, int wave, const char *name, const char *done, const char *started, const char *prog);
// ex_gate for a stage that is a learner's run directory (opts/rundir.h): done is its eval.csv, started
// its log.csv; *st gets the directory's state (whether to skip it, resume it or start it).
int ex_gate_run(const ex_ctl *x, int wave, const char *name, const char *run, const char *prog, rundir_state *st);
// Whether the invocation goes on to the results: a plain run or a merge (not a plan, not one stage).
int ex_merging(const ex_ctl *x);
// A part of a staged experiment (sub, e.g. "hopper", one comparison of a table) under the
// experiment's own ctl: into sub_ctl, with its prefix in prefix[n]. 0 when the invocation has
// nothing to do in that part (another part's stage).
int ex_sub(const ex_ctl *x, const char *sub, ex_ctl *sub_ctl, char *prefix, size_t n);

// The options every staged experiment takes (pwm compare, pwm experiment table|stiffness).
typedef struct {
    const char *executor;     // local | slurm (NULL: local)
    int jobs;                 // local: stages at once (< 1: 1)
    const char **slurm_args;  // sbatch options passed through, NULL-terminated ("partition=x" gets "--")
    int signal_s;             // slurm: USR1 this many seconds before the time limit (0: 300)
    const char *status;       // DIR: print each stage's state
    const char *merge;        // DIR: merge the finished stages (the recorded command with --stage merge)
    const char *stage;        // run one stage of the plan, or "merge" (set in the stage commands)
} ex_options;

// Whether the options ask for the executor (slurm, or local with more than one job) rather than
// today's sequential run in this process.
int ex_wanted(const ex_options *o);

// The stage command: exe, then words (e.g. {"experiment", "table", NULL}), then argv[1..argc)
// without the executor's own options and without --out, then "--out" out. Into args (room for
// max entries, NULL-terminated). 0, or -1 when it does not fit.
int ex_stage_command(char **args, int max, const char *exe, const char *const *words, int argc, char **argv,
                     const char *out);

// Run the plan from the experiment directory dir: record exec/plan.txt and exec/command.txt, then
// local (jobs at once, wave after wave; stages already finished skipped) or slurm (write and submit
// one array job per wave that has unfinished stages; afterok dependencies; job ids into
// exec/jobs.txt). Returns an exit code: 0 (local: every stage finished; slurm: submitted),
// PWM_EXIT_PREEMPTED (local: a signal stopped it; run again to continue) or PWM_EXIT_FAIL.
int ex_execute(const ex_plan *p, char *const *command, const char *dir, const ex_options *o);

// The state of every stage of dir's recorded plan on stdout (done, running or partial, preempted,
// failed, not started) and the recorded Slurm jobs. 0 when all are done, 1 otherwise (or on error).
int ex_status(const char *dir);

// Merge: run dir's recorded command with --stage merge, its output on this one's. Its exit code.
int ex_merge(const char *dir);

// A stage command's exit code, into dir/exec/NAME.rc.
void ex_record_rc(const char *dir, const char *stage, int rc);

// A staged command's main path after its options are parsed. run(ctx, plan, stage, found) is the
// experiment: with plan non-NULL it records its stages and runs nothing; with stage it runs only
// that one (or merges with "merge"), setting *found when it holds it; with both NULL it runs
// everything here, as without an executor. words: the command's words for the stage command
// (ex_stage_command); out: the experiment directory (absolute when an executor is wanted). --status
// and --merge answer first; --stage records its exit code (ex_record_rc); an executor runs the
// plan (ex_execute) and, local, merges. Returns the exit code.
int ex_main(const ex_options *o, const char *exe, const char *const *words, int argc, char **argv, const char *out,
            int (*run)(void *ctx, ex_plan *plan, const char *stage, int *found), void *ctx);

// The wall time a summary reports (res_summary_open): under an executor (its own process or a merge stage), seconds
// since the experiment's first submission (dir/exec/started.txt, written once by ex_main), since
// the stages ran in other processes; otherwise own, the merging process's own time.
double ex_wall(double own);

// The directory made absolute (created first), into buf: stage commands run elsewhere. 0 or -1.
int ex_abs_dir(char *buf, size_t n, const char *dir);

// Spawn args (args[0] the program) with stdout and stderr appended to log_path (NULL: this
// process's), and wait for it. A SIGTERM or SIGUSR1 to this process (nn_preempted) is passed on to
// the child, which checkpoints. Returns the child's exit code (128 + signal when a signal killed it;
// that signal is then named in the log and on stderr, with a hint for SIGILL), -1 when
// it could not start; PWM_EXIT_PREEMPTED when this process was asked to stop and the child did not
// finish cleanly.
int ex_spawn_wait(char *const *args, const char *log_path);

#endif
