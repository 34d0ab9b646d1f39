#include "rundir.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../nn/common.h"
#include "version.h"

// ---------------------------------------------------------------------------------------------
// the files and where a run stands

void rundir_files_of(rundir_files *f, const char *dir) {
    snprintf(f->config, sizeof f->config, "%s/config.txt", dir);
    snprintf(f->log, sizeof f->log, "%s/log.csv", dir);
    snprintf(f->timing, sizeof f->timing, "%s/timing.csv", dir);
    snprintf(f->ckpt, sizeof f->ckpt, "%s/ckpt.safetensors", dir);
    snprintf(f->best, sizeof f->best, "%s/best.safetensors", dir);
    snprintf(f->final, sizeof f->final, "%s/final.safetensors", dir);
    snprintf(f->eval, sizeof f->eval, "%s/eval.csv", dir);
}

rundir_state rundir_state_of(const char *dir) {
    rundir_files f;
    rundir_files_of(&f, dir);
    if (!isnan(rundir_final_return(dir))) return RUNDIR_FINISHED;
    if (nn_file_exists(f.ckpt)) return RUNDIR_RESUMABLE;
    if (nn_file_exists(f.log)) return RUNDIR_INTERRUPTED;
    return RUNDIR_FRESH;
}

const char *rundir_state_name(rundir_state s) {
    static const char *const names[] = {"fresh", "interrupted", "resumable", "finished"};
    return s >= RUNDIR_FRESH && s <= RUNDIR_FINISHED ? names[s] : "?";
}

int rundir_start(rundir_files *f, const char *dir, int resume, char *err, size_t errlen) {
    rundir_files_of(f, dir);
    if (!resume && nn_file_exists(f->log))
        return nn_err(err, errlen, "%s already holds a run (log.csv); use --resume to continue it or another --out", dir);
    if (resume && !nn_file_exists(f->ckpt)) {
        if (nn_file_exists(f->log))
            return nn_err(err, errlen, "--resume: no checkpoint %s yet: the run stopped before its first one; remove %s "
                          "and start it again without --resume", f->ckpt, dir);
        return nn_err(err, errlen, "--resume: no checkpoint %s yet; start the run without --resume", f->ckpt);
    }
    return 0;
}

// ---------------------------------------------------------------------------------------------
// eval.csv and log.csv

int rundir_write_eval(const rundir_files *f, int episodes, double mean, double std, long env_steps,
                      const double *actor) {
    FILE *e = fopen(f->eval, "w");
    if (!e) return -1;
    fprintf(e, "episodes,mean_return,std_return,env_steps%s\n%d,%.6g,%.6g,%ld",
            actor ? ",actor_mean_return,actor_std_return" : "", episodes, mean, std, env_steps);
    if (actor) fprintf(e, ",%.6g,%.6g", actor[0], actor[1]);
    fputc('\n', e);
    return fclose(e) ? -1 : 0;
}

double rundir_final_return(const char *dir) {
    rundir_files rf;
    rundir_files_of(&rf, dir);
    char line[256];
    FILE *f = fopen(rf.eval, "r");
    double v = NAN;
    int n;
    if (f && (!fgets(line, sizeof line, f) || fscanf(f, "%d,%lf", &n, &v) != 2)) v = NAN;
    if (f) fclose(f);
    return v;
}

void rundir_add_commits(const char *dir, char *buf, size_t n) {
    rundir_files rf;
    rundir_files_of(&rf, dir);
    char line[1024];
    FILE *f = fopen(rf.config, "r");
    while (f && fgets(line, sizeof line, f)) {
        // the header "# PROG, git commit C" and each "# resumed with git commit C"
        const char *at = line[0] == '#' ? strstr(line, ARGS_COMMIT_TAG) : NULL;
        char c[64];
        if (!at || sscanf(at + strlen(ARGS_COMMIT_TAG), "%63s", c) != 1) continue;
        // skip a commit already listed (whole words of the space-separated list)
        int seen = 0;
        for (const char *p = strstr(buf, c); p && !seen; p = strstr(p + 1, c))
            seen = (p == buf || p[-1] == ' ') && (p[strlen(c)] == 0 || p[strlen(c)] == ' ');
        size_t len = strlen(buf);
        if (!seen && len + strlen(c) + 2 < n) snprintf(buf + len, n - len, "%s%s", len ? " " : "", c);
    }
    if (f) fclose(f);
}

int rundir_read_evals(const char *dir, int max, double *steps, double *wall, double *ret) {
    rundir_files rf;
    rundir_files_of(&rf, dir);
    char line[1024];
    FILE *f = fopen(rf.log, "r");
    if (!f) return -1;
    int n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        double v[5];
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2], &v[3], &v[4]) == 5 && isfinite(v[4])) {
            steps[n] = v[1], wall[n] = v[2], ret[n] = v[4];
            n++;
        }
    }
    fclose(f);
    return n;
}

// ---------------------------------------------------------------------------------------------
// the options of a run directory

void rundir_opts_init(rundir_opts *r, const char *method) {
    r->config = r->out = NULL;
    r->resume = 0;
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->out_help, sizeof r->out_help, "run directory (default runs/%s-ENV-seedS)", method);
    r->out_default[0] = 0;
    const args_opt o[] = {
        {"config", ARG_STRING, &r->config, "read options from a key = value file (later options win)", NULL, "FILE"},
        {"out", ARG_STRING, &r->out, r->out_help, NULL, "DIR"},
        {"resume", ARG_FLAG, &r->resume,
         "continue the run in --out from its last checkpoint (its config.txt is loaded first)", NULL, NULL},
        {0},
    };
    _Static_assert(sizeof o <= sizeof r->opts, "rundir_opts.opts is too small for the group");
    memcpy(r->opts, o, sizeof o);
}

const char *rundir_dir(rundir_opts *r, const char *env, long seed) {
    if (r->out) return r->out;
    snprintf(r->out_default, sizeof r->out_default, "runs/%s-%s-seed%ld", r->method, env, seed);
    return r->out_default;
}

// what to do about a recorded config.txt that cannot be read
#define CONFIG_HINT "; config.txt records the run's options: mend that line, or start afresh in another --out"

// the value of --name, else for a resumed run the one its config.txt records (*val NULL when
// neither has it). 0, or -1 with a message in err
static int peek(int argc, char **argv, const char *name, const char **val, char *buf, size_t n, char *err,
                size_t errlen) {
    const char *out = args_peek(argc, argv, "out");
    *val = args_peek(argc, argv, name);
    if (*val || !out || !args_has_flag(argc, argv, "--resume")) return 0;
    rundir_files f;
    rundir_files_of(&f, out);
    if (!nn_file_exists(f.config)) return 0;
    int rc = args_config_value(f.config, name, buf, n, err, errlen);
    if (rc < 0) {
        size_t len = strlen(err);
        snprintf(err + len, errlen - len, CONFIG_HINT);
        return -1;
    }
    if (rc == 1) *val = buf;
    return 0;
}

int rundir_peek_task(rundir_task *t, int argc, char **argv, const char *prog) {
    char err[1200];
    int help = args_has_flag(argc, argv, "--help") || args_has_flag(argc, argv, "-h");
    if (peek(argc, argv, "env", &t->env, t->env_buf, sizeof t->env_buf, err, sizeof err) ||
        peek(argc, argv, "preset", &t->preset, t->preset_buf, sizeof t->preset_buf, err, sizeof err))
        return fprintf(stderr, "%s: %s\n", prog, err), 2;
    if (!t->env && !help)
        return fprintf(stderr, "%s: --env NAME is required (see pwm envs, %s --help)\n", prog, prog), 2;
    return 0;
}

int rundir_parse(const args_spec *spec, const rundir_opts *r, int argc, char **argv, const char *prog) {
    int held = 0;
    for (int g = 0; g < ARGS_MAX_GROUPS && spec->groups[g]; g++) held |= spec->groups[g] == r->opts;
    nn_check(held, "rundir_parse: %s: the spec lacks the run directory's option group", prog);
    const char *out = args_peek(argc, argv, "out");
    char err[1200];
    int help = args_has_flag(argc, argv, "--help") || args_has_flag(argc, argv, "-h");
    if (!help && args_has_flag(argc, argv, "--resume") && out) {
        rundir_files f;
        rundir_files_of(&f, out);
        if (nn_file_exists(f.config) && args_load_config(spec, f.config, err, sizeof err))
            return fprintf(stderr, "%s: %s" CONFIG_HINT "\n", prog, err), 2;
    }
    return args_parse_command(spec, argc, argv, prog);
}

int rundir_record(const args_spec *spec, const rundir_opts *r, const char *dir, const char *prog) {
    char header[512], err[1200], blas[160], note[200];
    rundir_files f;
    rundir_files_of(&f, dir);
    nn_blas_kernel(blas, sizeof blas);
    if (nn_mkdirs(dir)) return fprintf(stderr, "%s: cannot create %s: %s\n", prog, dir, strerror(errno)), 1;
    if (r->resume) {
        snprintf(note, sizeof note, "under %s", blas);
        if (nn_file_exists(f.config) && args_note_resume(spec, f.config, PWM_GIT_COMMIT, note, err, sizeof err))
            return fprintf(stderr, "%s: %s\n", prog, err), 1;
        return 0;
    }
    if (nn_file_exists(f.log)) return 0;
    snprintf(header, sizeof header, "# %s, " ARGS_COMMIT_TAG "%s\n# %s", prog, PWM_GIT_COMMIT, blas);
    if (args_write_config(spec, f.config, header, err, sizeof err)) return fprintf(stderr, "%s: %s\n", prog, err), 1;
    return 0;
}
