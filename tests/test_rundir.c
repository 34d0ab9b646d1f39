// Tests for opts/rundir: a run directory's states and start rule, eval.csv and log.csv, and
// config.txt through a run's option groups: recorded, loaded back on --resume under the command
// line, and refused with a message naming the file when malformed.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../nn/common.h"
#include "../opts/rundir.h"
#include "test.h"

// a fresh directory under the scratch directory
static const char *fresh_dir(const char *name) {
    static char dir[600];
    snprintf(dir, sizeof dir, "%s/rundir_%s", test_tmpdir(), name);
    CHECK(nn_mkdirs(dir) == 0, "cannot create %s", dir);
    return dir;
}

static void write_text(const char *path, const char *text) {
    FILE *f = nn_fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

// fn(ctx)'s return value, with what it printed on stderr in buf
static int capture_stderr(int (*fn)(void *), void *ctx, char *buf, size_t n) {
    char path[600];
    snprintf(path, sizeof path, "%s/rundir_stderr.txt", test_tmpdir());
    fflush(stderr);
    int saved = dup(2);
    FILE *f = nn_fopen(path, "w");
    CHECK(saved >= 0 && dup2(fileno(f), 2) >= 0, "cannot redirect stderr");
    int rc = fn(ctx);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(f);
    test_read_file(path, buf, n);
    return rc;
}

TEST(states_and_the_start_rule) {
    const char *dir = fresh_dir("states");
    rundir_files f;
    rundir_files_of(&f, dir);
    char err[1200];
    CHECK(rundir_state_of(dir) == RUNDIR_FRESH, "an empty directory: %s", rundir_state_name(rundir_state_of(dir)));
    CHECK(rundir_state_of("/nonexistent/run") == RUNDIR_FRESH, "a missing directory");
    CHECK(rundir_start(&f, dir, 0, err, sizeof err) == 0, "%s", err);
    CHECK(rundir_start(&f, dir, 1, err, sizeof err) == -1 && strstr(err, "no checkpoint") && strstr(err, f.ckpt),
          "--resume of a fresh directory: %s", err);

    // a log and no checkpoint: stopped before its first one
    write_text(f.log, RUNDIR_LOG_COLUMNS ",loss\n1,100,0.5,nan,nan,1\n");
    CHECK(rundir_state_of(dir) == RUNDIR_INTERRUPTED, "%s", rundir_state_name(rundir_state_of(dir)));
    CHECK(rundir_start(&f, dir, 0, err, sizeof err) == -1 && strstr(err, "already holds a run (log.csv)"), "%s", err);
    CHECK(rundir_start(&f, dir, 1, err, sizeof err) == -1 && strstr(err, "remove") && strstr(err, dir), "%s", err);

    // a checkpoint: resumable, and only with --resume
    write_text(f.ckpt, "not read here");
    CHECK(rundir_state_of(dir) == RUNDIR_RESUMABLE, "%s", rundir_state_name(rundir_state_of(dir)));
    CHECK(rundir_start(&f, dir, 1, err, sizeof err) == 0, "%s", err);
    CHECK(rundir_start(&f, dir, 0, err, sizeof err) == -1 && strstr(err, "use --resume"), "%s", err);

    // eval.csv with a return: finished; a malformed one is not
    write_text(f.eval, "episodes,mean_return\n");
    CHECK(rundir_state_of(dir) == RUNDIR_RESUMABLE, "a malformed eval.csv counted as finished");
    CHECK(rundir_write_eval(&f, 10, 1234.5, 6.5, 4000, NULL) == 0, "eval.csv not written");
    CHECK(rundir_state_of(dir) == RUNDIR_FINISHED, "%s", rundir_state_name(rundir_state_of(dir)));
    CHECK(rundir_final_return(dir) == 1234.5, "final return %g", rundir_final_return(dir));
    CHECK(!strcmp(rundir_state_name(RUNDIR_INTERRUPTED), "interrupted"), "state name");
}

TEST(log_evaluations) {
    const char *dir = fresh_dir("log");
    rundir_files f;
    rundir_files_of(&f, dir);
    double steps[4], wall[4], ret[4];
    CHECK(rundir_read_evals(dir, 4, steps, wall, ret) == -1, "a missing log.csv read");
    write_text(f.log, RUNDIR_LOG_COLUMNS ",x\n1,100,0.5,nan,nan,1\n2,200,1.5,3,42.5,1\n3,300,2.5,4,nan,1\n"
                      "4,400,3.5,5,-7,1\n5,500,4.5,6,8,1\n");
    int n = rundir_read_evals(dir, 2, steps, wall, ret);
    CHECK(n == 2, "%d rows, want the first 2 evaluated ones", n);
    CHECK(steps[0] == 200 && wall[0] == 1.5 && ret[0] == 42.5 && steps[1] == 400 && ret[1] == -7, "rows");
    CHECK(rundir_read_evals(dir, 4, steps, wall, ret) == 3, "all evaluated rows");
}

// a training command's groups: the task, the run directory's, its own
static const char *t_env, *t_preset;
static int t_seed, t_epochs;
static double t_lr;
static rundir_opts ro;
static const args_opt head[] = {
    {"env", ARG_STRING, &t_env, "task", NULL, "NAME"},
    {"preset", ARG_CHOICE, &t_preset, "defaults", "quick|paper", NULL},
    {0},
};
static const args_opt own[] = {
    {"seed", ARG_INT, &t_seed, "seed", NULL, NULL},
    {"epochs", ARG_INT, &t_epochs, "epochs", NULL, NULL},
    {"lr", ARG_DOUBLE, &t_lr, "learning rate", NULL, NULL},
    {0},
};
static args_spec run_spec;

static void run_defaults(void) {
    t_env = "hopper", t_preset = "quick", t_seed = 0, t_epochs = 100, t_lr = 1e-3;
    rundir_opts_init(&ro, "test");
    run_spec = (args_spec){"pwm test --env NAME [options]", NULL, {head, ro.opts, own}};
}

typedef struct {
    int argc;
    char **argv;
    int rc;
} parse_call;

static int call_parse(void *ctx) {
    parse_call *p = ctx;
    return p->rc = rundir_parse(&run_spec, &ro, p->argc, p->argv, "pwm test");
}

static int call_peek(void *ctx) {
    parse_call *p = ctx;
    rundir_task t;
    return p->rc = rundir_peek_task(&t, p->argc, p->argv, "pwm test");
}

TEST(config_round_trip_through_resume) {
    const char *d = fresh_dir("resume");
    char dir[600], out[4096];
    snprintf(dir, sizeof dir, "%s", d);
    // a fresh run: its options recorded
    run_defaults();
    char *first[] = {"test", "--env", "ant", "--preset", "paper", "--seed", "7", "--lr", "0.1", "--out", dir};
    parse_call p = {11, first, 0};
    CHECK(capture_stderr(call_parse, &p, out, sizeof out) == -1, "rc %d: %s", p.rc, out);
    CHECK(!strcmp(rundir_dir(&ro, t_env, t_seed), dir), "the run directory");
    CHECK(rundir_record(&run_spec, &ro, dir, "pwm test") == 0, "config.txt not recorded");
    rundir_files f;
    rundir_files_of(&f, dir);
    test_read_file(f.config, out, sizeof out);
    CHECK(strstr(out, "# pwm test, git commit ") && strstr(out, "\nenv = ant\n") && strstr(out, "\nseed = 7\n") &&
              strstr(out, "\nout = ") && strstr(out, "\nresume = false\n") && !strstr(out, "config ="),
          "config.txt:\n%s", out);

    // a resumed run without --env: the task and preset come from config.txt, then every option;
    // what the command line gives wins and is noted
    run_defaults();
    char *again[] = {"test", "--resume", "--out", dir, "--epochs", "200"};
    rundir_task t;
    CHECK(rundir_peek_task(&t, 6, again, "pwm test") == 0, "peek");
    CHECK(t.env && !strcmp(t.env, "ant") && t.preset && !strcmp(t.preset, "paper"), "task %s preset %s",
          t.env ? t.env : "(null)", t.preset ? t.preset : "(null)");
    p = (parse_call){6, again, 0};
    CHECK(capture_stderr(call_parse, &p, out, sizeof out) == -1, "rc %d: %s", p.rc, out);
    CHECK(!strcmp(t_env, "ant") && !strcmp(t_preset, "paper") && t_seed == 7 && t_lr == 0.1, "the run's own options");
    CHECK(t_epochs == 200 && ro.resume == 1, "the command line's: epochs %d resume %d", t_epochs, ro.resume);
    CHECK(rundir_record(&run_spec, &ro, dir, "pwm test") == 0, "resume note not written");
    test_read_file(f.config, out, sizeof out);
    CHECK(strstr(out, "# resumed with git commit ") && strstr(out, "#   with epochs = 200\n"), "config.txt:\n%s", out);
    // the BLAS kernels, which change the floats, at the start and at each resume
    char blas[160], line[200];
    nn_blas_kernel(blas, sizeof blas);
    snprintf(line, sizeof line, "\n# %s\n", blas);
    const char *at = strstr(out, line);
    snprintf(line, sizeof line, "#   under %s\n", blas);
    CHECK(at && strstr(at + 1, line) && strstr(blas, openblas_get_corename()), "config.txt, %s:\n%s", blas, out);

    // --env on the command line wins over the recorded one; without --resume nothing is read
    char *given[] = {"test", "--resume", "--out", dir, "--env", "hopper"};
    CHECK(rundir_peek_task(&t, 6, given, "pwm test") == 0 && !strcmp(t.env, "hopper"), "env %s", t.env);
    char *fresh[] = {"test", "--out", dir};
    p = (parse_call){3, fresh, 0};
    CHECK(capture_stderr(call_peek, &p, out, sizeof out) == 2 && strstr(out, "pwm test: --env NAME is required"),
          "without --resume: %s", out);
}

TEST(malformed_config_names_the_file) {
    const char *d = fresh_dir("malformed");
    char dir[600], out[4096];
    snprintf(dir, sizeof dir, "%s", d);
    rundir_files f;
    rundir_files_of(&f, dir);
    write_text(f.config, "# pwm test, git commit x\nenv = ant\nseed 7\n");
    char *argv[] = {"test", "--resume", "--out", dir};
    // before the table is built (the task and preset) and when loading it, the same message
    for (int k = 0; k < 2; k++) {
        run_defaults();
        parse_call p = {4, argv, 0};
        int rc = capture_stderr(k ? call_parse : call_peek, &p, out, sizeof out);
        CHECK(rc == 2, "%s: rc %d", k ? "rundir_parse" : "rundir_peek_task", rc);
        CHECK(strstr(out, "pwm test: ") && strstr(out, f.config) && strstr(out, ":3: expected 'key = value'"),
              "message: %s", out);
        CHECK(strstr(out, "mend that line, or start afresh in another --out"), "no advice: %s", out);
    }
    // an unknown key is found when the table loads it
    write_text(f.config, "env = ant\nsed = 7\n");
    run_defaults();
    parse_call p = {4, argv, 0};
    CHECK(capture_stderr(call_parse, &p, out, sizeof out) == 2 && strstr(out, ":2: unknown key 'sed'; did you mean 'seed'?"),
          "%s", out);
}

const test_case rundir_tests[] = {
    {"states_and_the_start_rule", states_and_the_start_rule},
    {"log_evaluations", log_evaluations},
    {"config_round_trip_through_resume", config_round_trip_through_resume},
    {"malformed_config_names_the_file", malformed_config_names_the_file},
    {0},
};
