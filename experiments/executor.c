#include "executor.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../nn/common.h"
#include "../nn/exitcode.h"

extern char **environ;

void ex_plan_add(ex_plan *p, int wave, const char *prefix, const char *name, const char *done, const char *started) {
    nn_check(p->n < EX_MAX_STAGES, "executor: more than %d stages", EX_MAX_STAGES);
    nn_check(wave >= 0 && wave < EX_MAX_WAVES, "executor: wave %d out of range", wave);
    ex_stage *s = &p->s[p->n++];
    s->wave = wave;
    snprintf(s->name, sizeof s->name, "%s%s", prefix ? prefix : "", name);
    snprintf(s->done, sizeof s->done, "%s", done);
    snprintf(s->started, sizeof s->started, "%s", started);
}

int ex_gate(const ex_ctl *x, int wave, const char *name, const char *done, const char *started, const char *prog) {
    if (x->plan) {
        ex_plan_add(x->plan, wave, x->prefix, name, done, started);
        return 0;
    }
    if (!x->stage) return 1;
    if (!strcmp(x->stage, "merge")) {
        if (nn_file_exists(done)) return 0;
        fprintf(stderr, "%s: stage %s%s is not finished (no %s); --status DIR shows every stage\n", prog,
                x->prefix ? x->prefix : "", name, done);
        return -1;
    }
    if (strcmp(x->stage, name)) return 0;
    if (x->found) *x->found = 1;
    return 1;
}

int ex_gate_run(const ex_ctl *x, int wave, const char *name, const char *run, const char *prog, rundir_state *st) {
    rundir_files f;
    rundir_files_of(&f, run);
    *st = rundir_state_of(run);
    return ex_gate(x, wave, name, f.eval, f.log, prog);
}

int ex_merging(const ex_ctl *x) { return !x->plan && (!x->stage || !strcmp(x->stage, "merge")); }

int ex_sub(const ex_ctl *x, const char *sub, ex_ctl *sub_ctl, char *prefix, size_t n) {
    snprintf(prefix, n, "%s%s/", x->prefix ? x->prefix : "", sub);
    *sub_ctl = *x;
    sub_ctl->prefix = prefix;
    if (!x->stage || !strcmp(x->stage, "merge")) return 1;
    size_t k = strlen(sub);
    if (strncmp(x->stage, sub, k) || x->stage[k] != '/') return 0;
    sub_ctl->stage = x->stage + k + 1;
    return 1;
}

int ex_wanted(const ex_options *o) {
    return (o->executor && !strcmp(o->executor, "slurm")) || o->jobs > 1;
}

// the options of ex_options (and --out), which the stage command leaves out; lists take words
static int dropped(const char *a, int *list) {
    static const char *const names[] = {"executor", "jobs", "slurm-signal", "status", "merge", "stage", "out"};
    *list = 0;
    if (strncmp(a, "--", 2)) return 0;
    size_t len = strcspn(a + 2, "=");
    if (len == strlen("slurm-arg") && !strncmp(a + 2, "slurm-arg", len)) return *list = 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (len == strlen(names[i]) && !strncmp(a + 2, names[i], len)) return 1;
    return 0;
}

int ex_stage_command(char **args, int max, const char *exe, const char *const *words, int argc, char **argv,
                     const char *out) {
    int n = 0;
    args[n++] = (char *)exe;
    for (; *words; words++) args[n++] = (char *)*words;
    for (int i = 1; i < argc; i++) {
        int list;
        if (dropped(argv[i], &list)) {
            // its value (unless inline), or a list's words up to the next option
            if (list)
                while (i + 1 < argc && strncmp(argv[i + 1], "--", 2)) i++;
            else if (!strchr(argv[i], '=') && i + 1 < argc)
                i++;
            continue;
        }
        if (n + 3 >= max) return -1;
        args[n++] = argv[i];
    }
    args[n++] = "--out", args[n++] = (char *)out, args[n] = NULL;
    return 0;
}

// dir/exec/<what>; a stage's name with '/' as '+'
static void exec_path(char *buf, size_t n, const char *dir, const char *stage, const char *suffix) {
    snprintf(buf, n, "%s/exec/%s%s", dir, stage, suffix);
    for (char *p = buf + strlen(dir) + 6; *p; p++)
        if (*p == '/') *p = '+';
}

void ex_record_rc(const char *dir, const char *stage, int rc) {
    char path[1400];
    exec_path(path, sizeof path, dir, stage, ".rc");
    FILE *f = fopen(path, "w");
    if (f) fprintf(f, "%d\n", rc), fclose(f);
}

static pid_t spawn(char *const *args, const char *log_path) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (log_path) {
        posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    }
    pid_t pid;
    fflush(stdout), fflush(stderr);
    int rc = posix_spawn(&pid, args[0], &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc ? -1 : pid;
}

// A child that a signal ended may have printed nothing: say which signal, in its log (when it has one)
// and on stderr, unless this process is being preempted (then the signal was ours).
static void say_signal(int sig, const char *log_path) {
    if (!sig || nn_preempted()) return;
    char line[512];
    snprintf(line, sizeof line, "pwm: the stage was killed by signal %d (%s)%s\n", sig, strsignal(sig),
             sig == SIGILL ? "; an illegal instruction: if OPENBLAS_CORETYPE is set, it must name a kernel this CPU "
                             "has (unset it and OpenBLAS chooses)" : "");
    fputs(line, stderr);
    FILE *f = log_path ? fopen(log_path, "a") : NULL;
    if (f) fputs(line, f), fclose(f);
}

// wait for any of the children pids[0..n) (-1 entries: none), passing a preemption on to all;
// the index of the one that ended, its exit code in *rc (128 + the signal when a signal ended it, which
// say_signal reports into log_paths[index] when log_paths is non-NULL)
static int wait_any(const pid_t *pids, int n, int *rc, const char *const *log_paths) {
    int forwarded = 0;
    struct timespec pause = {0, 50000000};
    for (;;) {
        for (int i = 0; i < n; i++) {
            int status;
            if (pids[i] > 0 && waitpid(pids[i], &status, WNOHANG) == pids[i]) {
                int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
                *rc = sig ? 128 + sig : WEXITSTATUS(status);
                say_signal(sig, log_paths ? log_paths[i] : NULL);
                return i;
            }
        }
        if (nn_preempted() && !forwarded) {
            for (int i = 0; i < n; i++)
                if (pids[i] > 0) kill(pids[i], nn_preempt_signal());
            forwarded = 1;
        }
        nanosleep(&pause, NULL);
    }
}

int ex_spawn_wait(char *const *args, const char *log_path) {
    nn_preempt_install();
    pid_t pid = spawn(args, log_path);
    if (pid < 0) return -1;
    int rc;
    wait_any(&pid, 1, &rc, &log_path);
    return rc && nn_preempted() ? PWM_EXIT_PREEMPTED : rc;
}

static int stage_done(const ex_stage *s) { return nn_file_exists(s->done); }

// exec/plan.txt and exec/command.txt
static int record(const ex_plan *p, char *const *command, const char *dir) {
    char path[1200];
    snprintf(path, sizeof path, "%s/exec", dir);
    if (nn_mkdirs(path)) return fprintf(stderr, "pwm: cannot create %s: %s\n", path, strerror(errno)), -1;
    snprintf(path, sizeof path, "%s/exec/plan.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f) return fprintf(stderr, "pwm: cannot write %s: %s\n", path, strerror(errno)), -1;
    fprintf(f, "# wave\tstage\tdone marker\tstarted marker\n");
    for (int i = 0; i < p->n; i++) fprintf(f, "%d\t%s\t%s\t%s\n", p->s[i].wave, p->s[i].name, p->s[i].done, p->s[i].started);
    fclose(f);
    snprintf(path, sizeof path, "%s/exec/command.txt", dir);
    if (!(f = fopen(path, "w"))) return fprintf(stderr, "pwm: cannot write %s: %s\n", path, strerror(errno)), -1;
    for (char *const *a = command; *a; a++) fprintf(f, "%s\n", *a);
    fclose(f);
    return 0;
}

// command + --stage name, into args
static void stage_args(char **args, int max, char *const *command, const char *name) {
    int n = 0;
    while (command[n] && n + 3 < max) args[n] = command[n], n++;
    args[n++] = "--stage", args[n++] = (char *)name, args[n] = NULL;
}

#define MAX_ARGS 128

static int run_local(const ex_plan *p, char *const *command, const char *dir, int jobs) {
    if (jobs < 1) jobs = 1;
    if (jobs > 64) jobs = 64;
    pid_t pids[64];
    int which[64], failed = 0, preempted = 0;
    char logs[64][1400];
    const char *log_of[64];
    for (int k = 0; k < 64; k++) log_of[k] = logs[k];
    double t0 = nn_now();
    for (int w = 0; w < EX_MAX_WAVES && !failed && !preempted; w++) {
        int next = 0, running = 0, total = 0, finished = 0;
        for (int i = 0; i < p->n; i++) total += p->s[i].wave == w && !stage_done(&p->s[i]);
        if (!total) continue;
        printf("wave %d: %d stage%s, up to %d at once\n", w, total, total > 1 ? "s" : "", jobs);
        fflush(stdout);
        for (int k = 0; k < jobs; k++) pids[k] = -1;
        for (;;) {
            // fill the free slots with this wave's unfinished stages, unless something went wrong
            for (int k = 0; k < jobs && !failed && !preempted && !nn_preempted(); k++) {
                while (pids[k] < 0 && next < p->n) {
                    const ex_stage *s = &p->s[next++];
                    if (s->wave != w || stage_done(s)) continue;
                    char *args[MAX_ARGS];
                    stage_args(args, MAX_ARGS, command, s->name);
                    exec_path(logs[k], sizeof logs[k], dir, s->name, ".log");
                    if ((pids[k] = spawn(args, logs[k])) < 0) {
                        fprintf(stderr, "pwm: cannot start stage %s\n", s->name);
                        failed = 1;
                        break;
                    }
                    which[k] = (int)(s - p->s), running++;
                }
            }
            if (!running) break;
            int rc, k = wait_any(pids, jobs, &rc, log_of);
            const ex_stage *s = &p->s[which[k]];
            pids[k] = -1, running--, finished++;
            if (rc == PWM_EXIT_PREEMPTED || (rc && nn_preempted())) {
                preempted = 1;
                fprintf(stderr, "pwm: stage %s preempted (checkpoint written); run the same command again to continue\n",
                        s->name);
            } else if (rc) {
                failed = 1;
                fprintf(stderr, "pwm: stage %s failed (exit %d); see %s. Run the same command again to continue\n",
                        s->name, rc, logs[k]);
            }
            nn_progress("stages", finished, total, t0);
        }
    }
    return preempted || nn_preempted() ? PWM_EXIT_PREEMPTED : failed ? PWM_EXIT_FAIL : 0;
}

// a shell word: '...' with ' as '\''
static void put_quoted(FILE *f, const char *s) {
    fputc('\'', f);
    for (; *s; s++) *s == '\'' ? fputs("'\\''", f) : fputc(*s, f);
    fputc('\'', f);
}

// one array job for wave w's unfinished stages; its job id into jobid (depends on dep when non-empty)
static int submit_wave(const ex_plan *p, int w, char *const *command, const char *dir, const ex_options *o,
                       const char *dep, char *jobid, size_t idn) {
    char path[1400], cwd[1024];
    if (!getcwd(cwd, sizeof cwd)) return fprintf(stderr, "pwm: cannot read the working directory\n"), -1;
    snprintf(path, sizeof path, "%s/exec/wave-%d.sbatch", dir, w);
    FILE *f = fopen(path, "w");
    if (!f) return fprintf(stderr, "pwm: cannot write %s: %s\n", path, strerror(errno)), -1;
    int n = 0;
    for (int i = 0; i < p->n; i++) n += p->s[i].wave == w && !stage_done(&p->s[i]);
    fprintf(f, "#!/bin/bash\n# wave %d of the experiment in %s: %d stage%s, one per array task (written by pwm)\n", w,
            dir, n, n > 1 ? "s" : "");
    fprintf(f, "#SBATCH --job-name=pwm-wave%d\n#SBATCH --array=0-%d\n#SBATCH --chdir=%s\n", w, n - 1, cwd);
    fprintf(f, "#SBATCH --output=%s/exec/wave-%d-%%a.out\n#SBATCH --open-mode=append\n", dir, w);
    // a warning signal to the batch shell before the time limit, which passes it on; requeue
    fprintf(f, "#SBATCH --signal=B:USR1@%d\n#SBATCH --requeue\n", o->signal_s > 0 ? o->signal_s : 300);
    if (dep && *dep) fprintf(f, "#SBATCH --dependency=afterok:%s\n#SBATCH --kill-on-invalid-dep=yes\n", dep);
    for (const char **a = o->slurm_args; a && *a; a++) fprintf(f, "#SBATCH %s%s\n", **a == '-' ? "" : "--", *a);
    fprintf(f, "stages=(");
    for (int i = 0; i < p->n; i++)
        if (p->s[i].wave == w && !stage_done(&p->s[i])) fputc(' ', f), put_quoted(f, p->s[i].name);
    fprintf(f, " )\nstage=${stages[$SLURM_ARRAY_TASK_ID]}\n"
               "echo \"== $(date -u '+%%F %%T') stage $stage (job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}, "
               "restart ${SLURM_RESTART_COUNT:-0})\"\n");
    // the stage in its own process group, so that the warning reaches its children too
    fprintf(f, "setsid");
    for (char *const *a = command; *a; a++) fputc(' ', f), put_quoted(f, *a);
    fprintf(f, " --stage \"$stage\" &\npid=$!\n"
               "trap 'echo \"signal: passing it on to stage $stage\"; kill -USR1 -- -$pid 2>/dev/null' USR1 TERM\n"
               "while :; do wait $pid; rc=$?; kill -0 $pid 2>/dev/null || break; done\n"
               "if [ $rc -eq %d ]; then\n"
               "    echo \"stage $stage preempted (checkpoint written): requeueing\"\n"
               "    scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\"\n"
               "fi\nexit $rc\n", PWM_EXIT_PREEMPTED);
    fclose(f);
    char cmd[1600], line[256];
    snprintf(cmd, sizeof cmd, "sbatch --parsable '%s'", path);
    FILE *pp = popen(cmd, "r");
    if (!pp) return fprintf(stderr, "pwm: cannot run sbatch (is Slurm's client installed?)\n"), -1;
    line[0] = 0;
    if (!fgets(line, sizeof line, pp)) line[0] = 0;
    int rc = pclose(pp);
    line[strcspn(line, ";\n")] = 0;
    if (rc || !line[0]) return fprintf(stderr, "pwm: sbatch %s failed (exit %d)\n", path, rc), -1;
    size_t len = strlen(line);
    if (len >= idn)
        return fprintf(stderr, "pwm: sbatch %s answered a job id longer than %zu characters: %s\n", path, idn - 1,
                       line), -1;
    memcpy(jobid, line, len + 1);
    printf("wave %d: %d stage%s submitted as job array %s (%s)\n", w, n, n > 1 ? "s" : "", jobid, path);
    return 0;
}

// the jobs a former submission recorded that Slurm still holds (squeue); 0 when none
static int still_queued(const char *dir) {
    char path[1200], line[256], ids[1024] = "";
    snprintf(path, sizeof path, "%s/exec/jobs.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int w;
    char id[64];
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "wave %d job %63s", &w, id) == 2 && strlen(ids) + strlen(id) + 2 < sizeof ids)
            snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%s", *ids ? "," : "", id);
    fclose(f);
    if (!*ids) return 0;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "squeue -h -o %%i -j %s 2>/dev/null", ids);
    FILE *pp = popen(cmd, "r");
    int n = 0;
    while (pp && fgets(line, sizeof line, pp)) n++;
    if (pp) pclose(pp);
    return n;
}

static int run_slurm(const ex_plan *p, char *const *command, const char *dir, const ex_options *o) {
    int queued = still_queued(dir);
    if (queued) {
        fprintf(stderr, "pwm: %d job(s) of the last submission in %s are still in Slurm's queue (exec/jobs.txt); wait "
                "for them or scancel them, then submit again (finished stages are skipped)\n", queued, dir);
        return PWM_EXIT_FAIL;
    }
    char path[1200], dep[64] = "", id[64];
    snprintf(path, sizeof path, "%s/exec/jobs.txt", dir);
    // appended: every submission's jobs stay on record
    FILE *jobs = fopen(path, "a");
    if (!jobs) return fprintf(stderr, "pwm: cannot write %s\n", path), PWM_EXIT_FAIL;
    time_t now = time(NULL);
    char stamp[64];
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
    fprintf(jobs, "# submitted %s\n", stamp);
    int submitted = 0;
    for (int w = 0; w < EX_MAX_WAVES; w++) {
        int n = 0;
        for (int i = 0; i < p->n; i++) n += p->s[i].wave == w && !stage_done(&p->s[i]);
        if (!n) continue;
        if (submit_wave(p, w, command, dir, o, dep, id, sizeof id)) {
            fclose(jobs);
            return PWM_EXIT_FAIL;
        }
        fprintf(jobs, "wave %d job %s stages %d\n", w, id, n);
        fflush(jobs);
        snprintf(dep, sizeof dep, "%s", id);
        submitted++;
    }
    fclose(jobs);
    if (!submitted) printf("every stage is finished; merge with --merge %s\n", dir);
    else printf("submitted %d wave%s; pwm ... --status %s shows the stages, --merge %s merges them\n", submitted,
                submitted > 1 ? "s" : "", dir, dir);
    return 0;
}

int ex_execute(const ex_plan *p, char *const *command, const char *dir, const ex_options *o) {
    if (record(p, command, dir)) return PWM_EXIT_FAIL;
    if (o->executor && !strcmp(o->executor, "slurm")) return run_slurm(p, command, dir, o);
    nn_preempt_install();
    return run_local(p, command, dir, o->jobs);
}

int ex_status(const char *dir) {
    char path[1200], line[4000];
    snprintf(path, sizeof path, "%s/exec/plan.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "pwm: %s: no plan; %s holds no experiment run with --executor (local --jobs K or slurm)\n",
                path, dir);
        return 1;
    }
    int all = 1, counts[5] = {0};
    static const char *const states[5] = {"done", "running/partial", "preempted", "failed", "not started"};
    printf("%-4s  %-36s  %s\n", "wave", "stage", "state");
    while (fgets(line, sizeof line, f)) {
        ex_stage s;
        if (line[0] == '#' || sscanf(line, "%d\t%95[^\t]\t%1199[^\t]\t%1199[^\t\n]", &s.wave, s.name, s.done,
                                     s.started) != 4)
            continue;
        char rcp[1400];
        exec_path(rcp, sizeof rcp, dir, s.name, ".rc");
        FILE *r = fopen(rcp, "r");
        int rc = 0, have_rc = r && fscanf(r, "%d", &rc) == 1;
        if (r) fclose(r);
        int k = nn_file_exists(s.done)                     ? 0
                : have_rc && rc == PWM_EXIT_PREEMPTED      ? 2
                : have_rc && rc != 0                        ? 3
                : nn_file_exists(s.started)                 ? 1
                                                            : 4;
        counts[k]++, all &= k == 0;
        printf("%-4d  %-36s  %s", s.wave, s.name, states[k]);
        if (k == 3) printf(" (exit %d)", rc);
        printf("\n");
    }
    fclose(f);
    printf("\n");
    for (int k = 0; k < 5; k++) printf("%s%d %s", k ? ", " : "", counts[k], states[k]);
    printf("\n");
    snprintf(path, sizeof path, "%s/exec/jobs.txt", dir);
    if ((f = fopen(path, "r"))) {
        printf("Slurm jobs (exec/jobs.txt):\n");
        while (fgets(line, sizeof line, f)) printf("  %s", line);
        fclose(f);
    }
    return all ? 0 : 1;
}

int ex_merge(const char *dir) {
    char path[1200], line[4096], *args[MAX_ARGS];
    static char words[MAX_ARGS][4096];
    snprintf(path, sizeof path, "%s/exec/command.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "pwm: %s: no recorded command; %s holds no experiment run with --executor\n", path, dir);
        return PWM_EXIT_FAIL;
    }
    int n = 0;
    while (n + 3 < MAX_ARGS && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        snprintf(words[n], sizeof words[n], "%s", line);
        args[n] = words[n], n++;
    }
    fclose(f);
    args[n] = NULL;
    if (!n) return fprintf(stderr, "pwm: %s is empty\n", path), PWM_EXIT_FAIL;
    stage_args(args, MAX_ARGS, args, "merge");
    int rc = ex_spawn_wait(args, NULL);
    return rc < 0 ? PWM_EXIT_FAIL : rc;
}

int ex_abs_dir(char *buf, size_t n, const char *dir) {
    char tmp[PATH_MAX];
    if (nn_mkdirs(dir) || !realpath(dir, tmp))
        return fprintf(stderr, "pwm: cannot create %s: %s\n", dir, strerror(errno)), -1;
    snprintf(buf, n, "%s", tmp);
    return 0;
}

// the experiment's first submission, seconds since the epoch (0: not under an executor)
static double started_at;

static double epoch_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// dir/exec/started.txt: read it, or (write) create it with the time now when it is missing
static void load_started(const char *dir, int write) {
    char path[1200];
    snprintf(path, sizeof path, "%s/exec", dir);
    if (write && nn_mkdirs(path)) return;
    snprintf(path, sizeof path, "%s/exec/started.txt", dir);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%lf", &started_at) != 1) started_at = 0;
        fclose(f);
        return;
    }
    if (!write || !(f = fopen(path, "w"))) return;
    started_at = epoch_now();
    fprintf(f, "%.3f\n", started_at);
    fclose(f);
}

double ex_wall(double own) { return started_at > 0 ? epoch_now() - started_at : own; }

int ex_main(const ex_options *o, const char *exe, const char *const *words, int argc, char **argv, const char *out,
            int (*run)(void *ctx, ex_plan *plan, const char *stage, int *found), void *ctx) {
    if (o->status) return ex_status(o->status) ? PWM_EXIT_FAIL : 0;
    if (o->merge) return ex_merge(o->merge);
    if (o->executor && strcmp(o->executor, "local") && strcmp(o->executor, "slurm"))
        return fprintf(stderr, "pwm: --executor %s: local or slurm\n", o->executor), PWM_EXIT_USAGE;
    if (o->stage) {
        // from here a preemption signal is passed on to the stage's runs, not fatal
        nn_preempt_install();
        if (!strcmp(o->stage, "merge")) load_started(out, 0);
        int found = 0, rc = run(ctx, NULL, o->stage, &found);
        if (!found && strcmp(o->stage, "merge")) {
            fprintf(stderr, "pwm: no stage '%s' in this experiment (%s/exec/plan.txt lists them)\n", o->stage, out);
            rc = PWM_EXIT_USAGE;
        }
        ex_record_rc(out, o->stage, rc);
        return rc;
    }
    if (!ex_wanted(o)) return run(ctx, NULL, NULL, NULL);
    load_started(out, 1);
    ex_plan *p = nn_malloc(sizeof *p);
    char *cmd[MAX_ARGS];
    int rc = run(ctx, p, NULL, NULL);
    if (!rc && ex_stage_command(cmd, MAX_ARGS, exe, words, argc, argv, out))
        fprintf(stderr, "pwm: the command line is too long for a stage command\n"), rc = PWM_EXIT_USAGE;
    if (!rc) rc = ex_execute(p, cmd, out, o);
    nn_free(p);
    // local: every stage finished; merge as a plain run would
    if (!rc && strcmp(o->executor ? o->executor : "local", "slurm")) {
        int found = 0;
        rc = run(ctx, NULL, "merge", &found);
    }
    return rc;
}
