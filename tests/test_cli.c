// Tests of the program as a whole (the pwm binary built beside this test binary) and of the source
// tree: every command and target answers --help (so every option spec is well formed: no name
// declared twice across its groups), a resumed run with a malformed config.txt is refused with a
// message naming the file, and scripts/check-layers.sh refuses an upward include.
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../nn/common.h"
#include "test.h"

extern char **environ;

// this test binary's folder (build/ or build/sanitize/)
static void exe_dir(char *buf, size_t n) {
    ssize_t k = readlink("/proc/self/exe", buf, n - 1);
    CHECK(k > 0, "cannot find this test binary");
    buf[k] = 0;
    *strrchr(buf, '/') = 0;
}

// run argv (argv[0] a path) with stdout and stderr into out (n bytes); its exit code
static int run_capture(const char *const *argv, char *out, size_t n) {
    char path[600];
    snprintf(path, sizeof path, "%s/cli_out.txt", test_tmpdir());
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int spawned = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    CHECK(spawned == 0, "cannot start %s", argv[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    test_read_file(path, out, n);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void pwm_path(char *buf, size_t n) {
    exe_dir(buf, n);
    size_t len = strlen(buf);
    snprintf(buf + len, n - len, "/pwm");
    if (!nn_file_exists(buf)) test_skip("%s not built (make builds it with the tests)", buf);
}

TEST(every_command_answers_help) {
    static const char *const commands[][3] = {
        {"envs"}, {"rollout"}, {"shac"}, {"ppo"}, {"train"}, {"diagnose"}, {"compare"}, {"eval"}, {"collect"},
        {"snu-convert"}, {"gradcheck"}, {"version"}, {"bench", "nn"}, {"bench", "physics"}, {"bench", "jacobians"},
        {"wm", "train"}, {"wm", "eval"}, {"experiment", "table"}, {"experiment", "stiffness"},
        {"experiment", "smoothness"}, {"experiment", "accuracy"}, {"experiment", "landscape"},
        {"experiment", "ball-wall"}, {"experiment", "pretrain-data"}, {"experiment", "esnr"},
    };
    char pwm[1100], out[16384];
    pwm_path(pwm, sizeof pwm);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const char *argv[5] = {pwm, commands[i][0], commands[i][1] ? commands[i][1] : "--help",
                               commands[i][1] ? "--help" : NULL, NULL};
        int rc = run_capture(argv, out, sizeof out);
        CHECK(rc == 0 && strstr(out, "usage: pwm "), "pwm %s %s--help: exit %d\n%s", commands[i][0],
              commands[i][1] ? commands[i][1] : "", rc, out);
    }
}

TEST(resume_with_malformed_config_refused) {
    // a resumed training run whose config.txt has a bad line: exit 2, the file and line named,
    // before anything is trained
    char pwm[1100], dir[600], cfg[700], out[4096];
    pwm_path(pwm, sizeof pwm);
    snprintf(dir, sizeof dir, "%s/cli_bad_config", test_tmpdir());
    CHECK(nn_mkdirs(dir) == 0, "mkdir %s", dir);
    snprintf(cfg, sizeof cfg, "%s/config.txt", dir);
    FILE *f = nn_fopen(cfg, "w");
    fputs("# pwm shac\nenv = hopper\nepochs = many\n", f);
    fclose(f);
    const char *argv[] = {pwm, "shac", "--resume", "--out", dir, "--threads", "1", NULL};
    int rc = run_capture(argv, out, sizeof out);
    CHECK(rc == 2, "exit %d:\n%s", rc, out);
    CHECK(strstr(out, cfg) && strstr(out, ":3: invalid value 'many' for epochs") && strstr(out, "mend that line"),
          "message:\n%s", out);
}

TEST(layers_check_refuses_an_upward_include) {
    // the script, found above this binary (build/ or build/sanitize/)
    char script[1200], tree[600], cmd[2000], out[4096];
    exe_dir(script, sizeof script);
    size_t len = strlen(script);
    int found = 0;
    for (int up = 0; up < 3 && !found; up++) {
        char *slash = strrchr(script, '/');
        if (!slash) break;
        *slash = 0;
        len = strlen(script);
        snprintf(script + len, sizeof script - len, "/scripts/check-layers.sh");
        found = nn_file_exists(script);
        script[len] = 0;
    }
    if (!found) test_skip("scripts/check-layers.sh not found above the test binary");
    snprintf(script + len, sizeof script - len, "/scripts/check-layers.sh");

    // a tree in which bench/ includes a cli/ header and nn/ one of its own folder
    snprintf(tree, sizeof tree, "%s/layers", test_tmpdir());
    const char *files[][2] = {
        {"cli/commands.h", "int cmd(void);\n"},
        {"bench/bench.c", "#include \"bench.h\"\n#include \"../nn/common.h\"\n#include \"../cli/commands.h\"\n"},
        {"bench/bench.h", "\n"},
        {"nn/common.h", "#include \"version.h\"\n"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[800];
        snprintf(path, sizeof path, "%s/%s", tree, files[i][0]);
        *strrchr(path, '/') = 0;
        CHECK(nn_mkdirs(path) == 0, "mkdir %s", path);
        snprintf(path, sizeof path, "%s/%s", tree, files[i][0]);
        FILE *f = nn_fopen(path, "w");
        fputs(files[i][1], f);
        fclose(f);
    }
    const char *argv[] = {"/bin/sh", script, tree, NULL};
    int rc = run_capture(argv, out, sizeof out);
    CHECK(rc == 1, "exit %d:\n%s", rc, out);
    CHECK(strstr(out, "bench/bench.c:3: bench (layer 6) includes cli/commands.h (cli, layer 7)"), "%s", out);
    CHECK(!strstr(out, "bench.c:1") && !strstr(out, "bench.c:2") && !strstr(out, "nn/common.h:"), "%s", out);

    // without the upward include it passes
    snprintf(cmd, sizeof cmd, "%s/bench/bench.c", tree);
    FILE *f = nn_fopen(cmd, "w");
    fputs("#include \"bench.h\"\n#include \"../nn/common.h\"\n", f);
    fclose(f);
    rc = run_capture(argv, out, sizeof out);
    CHECK(rc == 0, "exit %d:\n%s", rc, out);
}

const test_case cli_tests[] = {
    {"every_command_answers_help", every_command_answers_help},
    {"resume_with_malformed_config_refused", resume_with_malformed_config_refused},
    {"layers_check_refuses_an_upward_include", layers_check_refuses_an_upward_include},
    {0},
};
