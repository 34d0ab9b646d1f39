// A run directory: what a training command (pwm shac, pwm train, pwm ppo) writes into --out DIR,
// and the rule for continuing it. The one place that knows its files:
//   config.txt        the resolved options, the git commit and the BLAS kernel, then a note per
//                     resume (args_note_resume); --resume loads it before the command line
//   log.csv           one row per epoch: RUNDIR_LOG_COLUMNS, then the learner's own columns
//   timing.csv        one row per epoch: where the time went
//   ckpt.safetensors  the last checkpoint with the exact run state (what --resume continues from)
//   best.safetensors  the best evaluation's policy; final.safetensors the last epoch's
//   eval.csv          the final deterministic evaluation; its presence marks a finished run
// The resume rule: a fresh start refuses a directory that holds a run (log.csv); --resume needs
// the checkpoint, cuts the logs back to its epoch and continues with the same numbers as an
// uninterrupted run. A stage runner (pwm compare, pwm experiment) asks rundir_state_of what to do:
// skip a finished run, add --resume to one that has started, start a fresh one.
#ifndef PWM_OPTS_RUNDIR_H
#define PWM_OPTS_RUNDIR_H

#include <stddef.h>

#include "args.h"

#define RUNDIR_PATH_MAX 1100
// log.csv's first columns, which every learner writes and result tables read
#define RUNDIR_LOG_COLUMNS "epoch,env_steps,wall_s,train_return,eval_return"

// The paths of a run directory's files
typedef struct {
    char config[RUNDIR_PATH_MAX], log[RUNDIR_PATH_MAX], timing[RUNDIR_PATH_MAX], ckpt[RUNDIR_PATH_MAX],
        best[RUNDIR_PATH_MAX], final[RUNDIR_PATH_MAX], eval[RUNDIR_PATH_MAX];
} rundir_files;
void rundir_files_of(rundir_files *f, const char *dir);

// Where a run directory stands:
//   RUNDIR_FRESH        nothing recorded (no log.csv, no checkpoint): start it
//   RUNDIR_INTERRUPTED  log.csv but no checkpoint: it stopped before its first checkpoint, so it can
//                       neither resume nor start afresh over its log; remove the directory first
//   RUNDIR_RESUMABLE    a checkpoint and no final evaluation: continue it with --resume
//   RUNDIR_FINISHED     eval.csv holds the final return: nothing to do
typedef enum { RUNDIR_FRESH, RUNDIR_INTERRUPTED, RUNDIR_RESUMABLE, RUNDIR_FINISHED } rundir_state;
rundir_state rundir_state_of(const char *dir);
const char *rundir_state_name(rundir_state s);  // "fresh", "interrupted", "resumable", "finished"

// A learner's start: the paths of dir's files, and the resume rule's preconditions (a fresh start
// refuses a directory that holds a run; --resume needs its checkpoint). 0, or -1 with a message in
// err saying what to do.
int rundir_start(rundir_files *f, const char *dir, int resume, char *err, size_t errlen);

// eval.csv: the final evaluation (episodes, mean and std of the return, env steps) written at the
// end of a run, with actor = {mean, std} of a second policy's evaluation as two more columns
// (actor_mean_return, actor_std_return; NULL: none); the mean read back (NAN when the file is
// missing or malformed).
int rundir_write_eval(const rundir_files *f, int episodes, double mean, double std, long env_steps,
                      const double *actor);
double rundir_final_return(const char *dir);
// The git commits that wrote run dir (config.txt's header and one per resume), appended to the
// space-separated list in buf (n bytes, NUL-terminated) unless already there.
void rundir_add_commits(const char *dir, char *buf, size_t n);
// The evaluated rows of dir/log.csv (those with a finite eval_return), at most max: env steps,
// wall seconds and return into the arrays. The count, or -1 when log.csv cannot be read.
int rundir_read_evals(const char *dir, int max, double *steps, double *wall, double *ret);

// The option group of a training command's run directory: --config FILE, --out DIR, --resume. The
// group in r->opts is bound to r (so a copy of the struct is not bound to itself).
typedef struct {
    const char *config, *out;  // NULL until given
    int resume;
    char method[32], out_help[96], out_default[RUNDIR_PATH_MAX];
    args_opt opts[4];
} rundir_opts;
// method names the default directory runs/METHOD-ENV-seedS (e.g. "shac").
void rundir_opts_init(rundir_opts *r, const char *method);
// The run directory: --out, else runs/METHOD-ENV-seedS.
const char *rundir_dir(rundir_opts *r, const char *env, long seed);

// A training command's task and preset, which its option table's defaults come from, before the
// table is built: --env and --preset on the command line, else what a resumed run's DIR/config.txt
// records (--resume --out DIR). env is NULL only with --help, preset NULL when neither gives one.
// 0, or the exit code 2 after a message from prog (no --env; a config.txt that cannot be read).
typedef struct {
    const char *env, *preset;
    char env_buf[128], preset_buf[32];
} rundir_task;
int rundir_peek_task(rundir_task *t, int argc, char **argv, const char *prog);

// Parse a training command's argv into spec (which holds r's group): a resumed run (--resume
// --out DIR) first loads DIR/config.txt, so the command line overrides the run's own options.
// Returns as args_parse_command: -1 to go on, else the exit code (0 after --help, 2 after an error).
int rundir_parse(const args_spec *spec, const rundir_opts *r, int argc, char **argv, const char *prog);
// Create dir and record spec's resolved options with the git commit and the BLAS kernel
// (nn_blas_kernel) in dir/config.txt; a resumed run appends args_note_resume's lines and the
// kernel instead, and a fresh start over a directory that holds a run
// writes nothing (the learner refuses it). 0, or 1 after a message from prog.
int rundir_record(const args_spec *spec, const rundir_opts *r, const char *dir, const char *prog);

#endif
