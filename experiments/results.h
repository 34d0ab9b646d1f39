// What every experiment writes alongside its CSVs: a result directory, the header of summary.md
// (command, commit, machine, seeds, wall time) and gnuplot runs of the scripts in plots/.
#ifndef PWM_EXPERIMENTS_RESULTS_H
#define PWM_EXPERIMENTS_RESULTS_H

#include <stddef.h>
#include <stdio.h>

// The result directory: out when given, else results/<experiment>/<YYYYmmdd-HHMMSS> (local time);
// created with its parents. 0, or -1 with a message in err.
int res_dir(char *dir, size_t n, const char *experiment, const char *out, char *err, size_t errlen);

// The machine: "hostname, N cores".
void res_machine(char *buf, size_t n);

// The command line as one string, each argument shell-quoted when it needs it.
void res_command(char *buf, size_t n, int argc, char **argv);

// Open DIR/summary.md and write its header: "# title", the command, the git commit, the machine,
// the seeds (free text) and the wall time: wall_s, the run's own, or under an executor the time
// since the experiment's first submission (ex_wall). NULL (with a message on stderr) if it cannot
// be written.
FILE *res_summary_open(const char *dir, const char *title, const char *command, const char *seeds, double wall_s);

// The mean and the sample standard deviation (n − 1; 0 for one value) of n values.
void res_mean_std(const double *x, int n, double *mean, double *sd);

// The path of the gnuplot script <name>: $PWM_PLOTS/<name> where PWM_PLOTS is set, else plots/<name>
// of the source tree holding the binary, else plots/<name> relative to the working directory
// (nn_tree_file).
void res_plot_script(char *buf, size_t n, const char *name);

// gnuplot -e "<vars>" <script's path>; vars are gnuplot statements (e.g. "dir='x'; title='y'").
// 0, or -1 with a message on stderr saying that the CSVs are still there (and, when the script is
// not found, how to point at it).
int res_gnuplot(const char *script, const char *vars);

// Experiments made of stages, each a run of this program run by executor.h's ex_spawn_wait (its
// output to a log): add the non-NULL values of a NULL-terminated list to a stage's args (which has
// room for them), and the markers of finished stages, which hold their wall time (res_stage_done: -1
// when not finished).
void res_add_args(char **args, char *const *more);
double res_stage_done(const char *marker);
void res_mark_done(const char *marker, double wall);

// Remove a flat directory's files and the directory (an interrupted stage's partial output, which
// would otherwise be appended to). 0 (also when it does not exist), or -1.
int res_clear_dir(const char *dir);

#endif
