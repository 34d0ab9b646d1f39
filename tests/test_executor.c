// The executor (experiments/executor.h): the stage command a plan's stages run, a comparison's
// plan (waves of the collect -> pretrain -> train chain), and a `--executor local --jobs 2` run of
// the program whose merged results equal the plain run's, with --status and --stage's checks.
// The Slurm path runs against a real Slurm in tests/slurm.sh (make test-slurm).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../experiments/compare.h"
#include "../experiments/executor.h"
#include "../experiments/table.h"
#include "../experiments/wm_sweep.h"
#include "../nn/common.h"
#include "../nn/exitcode.h"
#include "test.h"

TEST(stage_command_drops_the_executor_options) {
    char *argv[] = {"compare", "--env", "hopper", "--executor", "slurm", "--jobs=3", "--collect", "1024",
                    "--slurm-arg", "partition=x", "time=10", "--seeds", "2", "--out", "rel", "--slurm-signal=60",
                    "--status", "d", "--merge=d", "--stage", "s", "--threads", "1"};
    int argc = sizeof argv / sizeof argv[0];
    char *args[64];
    const char *words[] = {"compare", NULL};
    CHECK(ex_stage_command(args, 64, "/x/pwm", words, argc, argv, "/abs/out") == 0, "too long");
    char line[1024] = "";
    for (char **a = args; *a; a++) snprintf(line + strlen(line), sizeof line - strlen(line), "%s ", *a);
    // compare's own --collect N stays; the executor's options and --out go, the absolute --out comes last
    CHECK(!strcmp(line, "/x/pwm compare --env hopper --collect 1024 --seeds 2 --threads 1 --out /abs/out "),
          "stage command: %s", line);
    CHECK(ex_stage_command(args, 8, "/x/pwm", words, argc, argv, "/abs/out") == -1, "an overflow went unnoticed");
}

static const char *const tiny[] = {"--env", "hopper", "--methods", "shac,pwm", "--seeds", "1", "--threads", "1",
                                   "--budget", "2048", "--collect", "1024", "--wm-steps", "3", "--wm-size", "small",
                                   "--evals", "1", NULL};

// compare's plan (nothing run) for c in TMP/sub; out receives the directory
static ex_plan *compare_plan(compare_config *c, const char *sub, char *out, size_t n) {
    snprintf(out, n, "%s/%s", test_tmpdir(), sub);
    c->out = out;
    ex_plan *p = nn_malloc(sizeof *p);
    c->ex.plan = p;
    CHECK(compare_run(c, "build/pwm") == 0, "planning failed");
    return p;
}

// the plan's stages are want[] ("wave name")
static void check_stages(const ex_plan *p, const char *const *want, int n) {
    CHECK(p->n == n, "%d stages, not %d", p->n, n);
    for (int i = 0; i < n; i++) {
        char got[128];
        snprintf(got, sizeof got, "%d %s", p->s[i].wave, p->s[i].name);
        CHECK(!strcmp(got, want[i]), "stage %d: %s, not %s", i, got, want[i]);
    }
}

TEST(compare_plan_is_waves_of_stages) {
    compare_config c = {.env = "hopper", .preset = "quick", .methods = "shac,pwm", .seeds = 2, .threads = 1,
                        .budget = 2048, .collect = 1024, .wm_steps = 3, .wm_size = "small", .evals = 1,
                        .contact_stiffness = -1, .ex.prefix = "hopper/"};
    char out[512];
    ex_plan *p = compare_plan(&c, "plan", out, sizeof out);
    const char *want[] = {"0 hopper/shac-seed0", "0 hopper/pwm-seed0-collect", "1 hopper/pwm-seed0-wm",
                          "2 hopper/pwm-seed0-train", "0 hopper/shac-seed1", "0 hopper/pwm-seed1-collect",
                          "1 hopper/pwm-seed1-wm", "2 hopper/pwm-seed1-train"};
    check_stages(p, want, 8);
    CHECK(strstr(p->s[3].done, "/plan/pwm-seed0/run/eval.csv"), "done marker %s", p->s[3].done);
    // planning ran nothing
    char path[700];
    snprintf(path, sizeof path, "%s/shac-seed0", out);
    CHECK(!nn_file_exists(path), "planning started a stage");
    nn_free(p);
}

// the hybrid and true without PWM still make the seed's data and model (PWM's stages), then train on them
TEST(compare_plan_of_hybrid_and_true_uses_pwms_model) {
    compare_config c = {.env = "hopper", .preset = "quick", .methods = "hybrid,shac,true", .seeds = 1, .threads = 1,
                        .budget = 2048, .collect = 1024, .wm_steps = 3, .wm_size = "small", .evals = 1,
                        .contact_stiffness = -1};
    char out[512];
    ex_plan *p = compare_plan(&c, "plan-hybrid", out, sizeof out);
    const char *want[] = {"0 shac-seed0", "0 pwm-seed0-collect", "1 pwm-seed0-wm", "2 hybrid-seed0", "2 true-seed0"};
    check_stages(p, want, 5);
    CHECK(strstr(p->s[3].done, "/plan-hybrid/hybrid-seed0/eval.csv"), "done marker %s", p->s[3].done);
    // the pretrained protocol: the shared stages are given, so the runs come first
    c.protocol = "pretrained", c.pretrain_data = "given-data", c.pretrain_wm = "given.safetensors", p->n = 0;
    CHECK(compare_run(&c, "build/pwm") == 0, "planning failed");
    const char *want_pre[] = {"0 shac-seed0", "0 hybrid-seed0", "0 true-seed0"};
    check_stages(p, want_pre, 3);
    nn_free(p);
}

// the stiffness ablation runs the methods asked for, under both contact settings
TEST(stiffness_plan_takes_methods) {
    char out[512];
    snprintf(out, sizeof out, "%s/plan-stiff", test_tmpdir());
    stiffness_config c = {.preset = "quick", .seeds = 1, .threads = 1, .methods = "shac,hybrid", .out = out,
                          .stiffness = 12642, .damping = 126.4};
    ex_plan *p = nn_malloc(sizeof *p);
    c.ex.plan = p;
    CHECK(stiffness_run(&c, "build/pwm", "pwm experiment stiffness") == 0, "planning failed");
    const char *want[] = {"default/shac-seed0", "default/pwm-seed0-collect", "default/pwm-seed0-wm",
                          "default/hybrid-seed0", "stiff/shac-seed0", "stiff/pwm-seed0-collect",
                          "stiff/pwm-seed0-wm", "stiff/hybrid-seed0"};
    CHECK(p->n == 8, "%d stages", p->n);
    for (int i = 0; i < 8 && i < p->n; i++) CHECK(!strcmp(p->s[i].name, want[i]), "stage %d: %s, not %s", i, p->s[i].name, want[i]);
    c.methods = "shac,sac";
    CHECK(stiffness_run(&c, "build/pwm", "pwm experiment stiffness") == 1, "an unknown method was accepted");
    nn_free(p);
}

TEST(sweep_plans_are_waves_of_stages) {
    // smoothness: data, one model per activation, one PWM run per model; accuracy: one model
    char out[512];
    ex_plan *p = nn_malloc(sizeof *p);
    for (int k = 0; k < 2; k++) {
        snprintf(out, sizeof out, "%s/sweep%d", test_tmpdir(), k);
        wm_sweep_config c = {.preset = "quick", .seeds = 1, .threads = 1, .out = out, .ex.plan = p};
        p->n = 0;
        CHECK((k ? accuracy_run : smoothness_run)(&c, "build/pwm", "test") == 0, "planning failed");
        const char *smooth[] = {"0 seed0-collect", "1 seed0-wm-simnorm", "1 seed0-wm-mish", "1 seed0-wm-relu",
                                "2 seed0-pwm-simnorm", "2 seed0-pwm-mish", "2 seed0-pwm-relu"};
        const char *acc[] = {"0 seed0-collect", "1 seed0-wm", "2 seed0-pwm-250-steps", "2 seed0-pwm-750-steps",
                             "2 seed0-pwm-2000-steps"};
        const char **want = k ? acc : smooth;
        int n = k ? 5 : 7;
        CHECK(p->n == n, "%s: %d stages", k ? "accuracy" : "smoothness", p->n);
        for (int i = 0; i < n; i++) {
            char got[128];
            snprintf(got, sizeof got, "%d %s", p->s[i].wave, p->s[i].name);
            CHECK(!strcmp(got, want[i]), "stage %d: %s, not %s", i, got, want[i]);
        }
        // a merge before any stage finished refuses
        wm_sweep_config m = {.preset = "quick", .seeds = 1, .threads = 1, .out = out, .ex.stage = "merge"};
        CHECK((k ? accuracy_run : smoothness_run)(&m, "build/pwm", "test") == 1, "a merge of unfinished stages passed");
    }
    nn_free(p);
}

// whether the line of text that starts with start holds word
static int line_has(const char *text, const char *start, const char *word) {
    const char *p = strstr(text, start);
    if (!p) return 0;
    const char *eol = strchr(p, '\n'), *w = strstr(p, word);
    return w && (!eol || w < eol);
}

TEST(sweep_stages_pass_the_device) {
    // smoothness and accuracy --device X: every world-model and PWM stage's command ends with
    // --device X, the data stage's does not (a stand-in program records the commands)
    char exe[512], out[512], path[700];
    snprintf(exe, sizeof exe, "%s/echo-stage.sh", test_tmpdir());
    FILE *f = fopen(exe, "w");
    CHECK(f, "cannot write %s", exe);
    fputs("#!/bin/sh\necho \"stage: $*\"\n", f);
    fclose(f);
    CHECK(chmod(exe, 0755) == 0, "chmod %s", exe);
    const char *stages[2][3] = {{"seed0-collect", "seed0-wm-mish", "seed0-pwm-mish"},
                                {"seed0-collect", "seed0-wm", "seed0-pwm-750-steps"}};
    for (int k = 0; k < 2; k++) {
        snprintf(out, sizeof out, "%s/sweep_device%d", test_tmpdir(), k);
        for (int i = 0; i < 3; i++) {
            wm_sweep_config c = {.preset = "quick", .seeds = 1, .threads = 1, .out = out, .device = "cuda",
                                 .ex.stage = stages[k][i]};
            CHECK((k ? accuracy_run : smoothness_run)(&c, exe, "test") == 0, "stage %s failed", stages[k][i]);
        }
        static char log[16384];
        snprintf(path, sizeof path, "%s/seed0/stages.log", out);
        test_read_file(path, log, sizeof log);
        CHECK(line_has(log, "stage: collect ", "") && !line_has(log, "stage: collect ", " --device"),
              "the data stage got --device or did not run:\n%s", log);
        CHECK(line_has(log, "stage: wm train ", " --device cuda") && line_has(log, "stage: train ", " --device cuda"),
              "a model or PWM stage without --device cuda:\n%s", log);
    }
}

// build/pwm compare <tiny> ARGS..., output into log; its exit code
static int pwm(const char *log, const char *const *more) {
    if (!nn_file_exists("build/pwm")) test_skip("build/pwm not built (run from the repository root after make)");
    const char *argv[64];
    int n = 0;
    argv[n++] = "build/pwm", argv[n++] = "compare";
    for (const char *const *a = tiny; *a; a++) argv[n++] = *a;
    for (; *more; more++) argv[n++] = *more;
    argv[n] = NULL;
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        if (!freopen(log, "w", stdout) || dup2(fileno(stdout), 2) < 0) _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

TEST(local_jobs_equal_the_plain_run) {
    char a[500], b[500], log[600], x[700], y[700];
    snprintf(a, sizeof a, "%s/exec_plain", test_tmpdir());
    snprintf(b, sizeof b, "%s/exec_jobs", test_tmpdir());
    snprintf(log, sizeof log, "%s/exec.log", test_tmpdir());
    const char *plain[] = {"--out", a, NULL}, *jobs[] = {"--out", b, "--executor", "local", "--jobs", "2", NULL};
    CHECK(pwm(log, plain) == 0, "the plain run failed (see %s)", log);
    // before: no stage of the directory is finished, so a merge refuses, naming one
    const char *merge[] = {"--out", b, "--stage", "merge", NULL}, *bogus[] = {"--out", b, "--stage", "shac-seed7", NULL};
    CHECK(pwm(log, merge) == PWM_EXIT_FAIL, "a merge of unfinished stages did not fail");
    static char txt[65536];
    test_read_file(log, txt, sizeof txt);
    CHECK(strstr(txt, "stage shac-seed0 is not finished"), "merge message:\n%s", txt);
    CHECK(pwm(log, bogus) == PWM_EXIT_USAGE, "an unknown stage was accepted");
    // as if the experiment had first been submitted 1000 s ago: the summary's wall time counts from
    // then (exec/started.txt), not from the merging process's own start
    snprintf(x, sizeof x, "%s/exec", b);
    CHECK(nn_mkdirs(x) == 0, "cannot create %s", x);
    snprintf(x, sizeof x, "%s/exec/started.txt", b);
    FILE *sf = fopen(x, "w");
    CHECK(sf && fprintf(sf, "%.3f\n", (double)time(NULL) - 1000.0) > 0 && fclose(sf) == 0, "cannot write %s", x);
    CHECK(pwm(log, jobs) == 0, "the --jobs 2 run failed (see %s)", log);
    snprintf(x, sizeof x, "%s/summary.md", b);
    test_read_file(x, txt, sizeof txt);
    const char *w = strstr(txt, "Wall time: ");
    double wall = w ? atof(w + 11) : -1;
    CHECK(wall >= 1000 && wall < 1000 + 600, "summary.md's wall time %g s, not from the first submission", wall);
    const char *files[] = {"summary.csv", "peaks.csv", "compare.csv", "shac-seed0/log.csv", "pwm-seed0/run/log.csv",
                           "shac-seed0/eval.csv", "pwm-seed0/run/eval.csv"};
    static char p[65536], q[65536];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(x, sizeof x, "%s/%s", a, files[i]), snprintf(y, sizeof y, "%s/%s", b, files[i]);
        test_read_file(x, p, sizeof p), test_read_file(y, q, sizeof q);
        if (strstr(files[i], "log.csv")) test_strip_wall(p), test_strip_wall(q);
        // compare.csv's wall column: cut the fourth field of each row
        if (!strcmp(files[i], "compare.csv"))
            for (char *s = p; s; s = s == p ? q : NULL)
                for (char *r = s; (r = strchr(r, '\n')) && r[1];) {
                    char *c3 = r + 1;
                    for (int k = 0; k < 3 && c3; k++) c3 = strchr(c3 + 1, ',');
                    char *c4 = c3 ? strchr(c3 + 1, ',') : NULL;
                    if (c4) memmove(c3, c4, strlen(c4) + 1);
                    r++;
                }
        CHECK(!strcmp(p, q), "%s differs between the plain run and --jobs 2:\n%s\nvs\n%s", files[i], p, q);
    }
    // the status: every stage done
    snprintf(x, sizeof x, "%s/exec/plan.txt", b);
    CHECK(nn_file_exists(x), "no plan recorded");
    CHECK(ex_status(b) == 0, "--status says a stage is not done");
}

// A stage that a signal kills may print nothing (an illegal instruction from a wrong OPENBLAS_CORETYPE
// did exactly that): its log must name the signal, and the exit code is 128 + the signal.
TEST(a_stage_killed_by_a_signal_says_so_in_its_log) {
    char log[1024];
    snprintf(log, sizeof log, "%s/killed.log", test_tmpdir());
    char *args[] = {"/bin/sh", "-c", "echo started; kill -ILL $$", NULL};
    int rc = ex_spawn_wait(args, log);
    CHECK(rc == 128 + 4, "exit code %d, not 132", rc);
    FILE *f = fopen(log, "r");
    CHECK(f, "no log %s", log);
    char text[2048] = "";
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    CHECK(strstr(text, "started") && strstr(text, "killed by signal 4") && strstr(text, "OPENBLAS_CORETYPE"),
          "the log does not name the signal: %s", text);
    char *fine[] = {"/bin/sh", "-c", "exit 3", NULL};
    CHECK(ex_spawn_wait(fine, log) == 3, "a plain exit code was changed");
}

const test_case executor_tests[] = {
    {"stage_command_drops_the_executor_options", stage_command_drops_the_executor_options},
    {"compare_plan_is_waves_of_stages", compare_plan_is_waves_of_stages},
    {"compare_plan_of_hybrid_and_true_uses_pwms_model", compare_plan_of_hybrid_and_true_uses_pwms_model},
    {"stiffness_plan_takes_methods", stiffness_plan_takes_methods},
    {"sweep_plans_are_waves_of_stages", sweep_plans_are_waves_of_stages},
    {"sweep_stages_pass_the_device", sweep_stages_pass_the_device},
    {"local_jobs_equal_the_plain_run", local_jobs_equal_the_plain_run},
    {"a_stage_killed_by_a_signal_says_so_in_its_log", a_stage_killed_by_a_signal_says_so_in_its_log},
    {0},
};
