// Tests of the program as a whole (the pwm binary built beside this test binary) and of the source
// tree: every command and target answers --help (so every option spec is well formed: no name
// declared twice across its groups), a resumed run with a malformed config.txt is refused with a
// message naming the file, scripts/check-layers.sh refuses an upward include, and pwm train's
// --device (cpu the same numbers, cuda refused cleanly without a GPU, auto falling back), and pwm
// diagnose --sources reading a run directory.
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../nn/common.h"
#include "files.h"
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

// `pwm train ... --threads 1 --out dir [more...]`, small enough to take a fraction of a second;
// its exit code, with its output in out
static int pwm_train_run(const char *pwm, const char *wm, const char *dir, const char *const *more, char *out,
                         size_t n) {
    const char *argv[48] = {pwm, "train", "--env", "hopper", "--wm", wm, "--envs", "3", "--horizon", "4", "--epochs",
                            "3", "--actor-units", "16", "--critic-units", "16", "--wm-batch", "4", "--eval-every", "3",
                            "--eval-episodes", "1", "--threads", "1", "--out", dir};
    int k = 26;
    for (; more && *more; more++) argv[k++] = *more;
    argv[k] = NULL;
    return run_capture(argv, out, n);
}

TEST(pwm_train_device_option) {
    // --device cpu logs bitwise what no --device logs, and config.txt records the device. Without a
    // GPU: --device cuda stops before the run directory exists, with a message saying what to do;
    // auto falls back with its one-line note and the same numbers; a run recorded with device = cuda
    // does not resume (its config.txt untouched) until the command line says --device cpu or auto,
    // and then continues to the same log, the override noted in its config.txt
    char pwm[1100], wm[600], dir[4][600], cfg[2600], out[16384];
    static char log[4][16384], txt[2][8192];
    pwm_path(pwm, sizeof pwm);
    snprintf(wm, sizeof wm, "%s/cli_device_wm.safetensors", test_tmpdir());
    files_save_wm(wm, 16, 0, 4);
    const char *names[4] = {"plain", "cpu", "cuda", "resumed"};
    for (int i = 0; i < 4; i++) snprintf(dir[i], sizeof dir[i], "%s/cli_device_%s", test_tmpdir(), names[i]);
    const char *cpu[] = {"--device", "cpu", NULL}, *cuda[] = {"--device", "cuda", NULL},
               *autod[] = {"--device", "auto", NULL}, *stop[] = {"--stop-after", "1", NULL};
    int rc = pwm_train_run(pwm, wm, dir[0], NULL, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "device cpu"), "pwm train: exit %d\n%s", rc, out);
    rc = pwm_train_run(pwm, wm, dir[1], cpu, out, sizeof out);
    CHECK(rc == 0, "pwm train --device cpu: exit %d\n%s", rc, out);
    test_read_log(dir[0], log[0], sizeof log[0]), test_read_log(dir[1], log[1], sizeof log[1]);
    CHECK(!strcmp(log[0], log[1]), "--device cpu logged other numbers:\n%s\nvs\n%s", log[0], log[1]);
    for (int i = 0; i < 2; i++) {
        snprintf(cfg, sizeof cfg, "%s/config.txt", dir[i]);
        test_read_file(cfg, txt[0], sizeof txt[0]);
        CHECK(strstr(txt[0], "\ndevice = cpu\n"), "%s does not record the device:\n%s", cfg, txt[0]);
    }

    rc = pwm_train_run(pwm, wm, dir[2], cuda, out, sizeof out);
    if (rc == 0 && strstr(out, "device cuda ("))
        test_skip("a GPU answered --device cuda: the no-GPU behaviour is not checked here (make test-cuda compares "
                  "the devices)");
    CHECK(rc == 1 && strstr(out, "pwm train: --device cuda: ") && strstr(out, "use --device cpu or auto"),
          "--device cuda without a GPU: exit %d\n%s", rc, out);
    CHECK(!nn_file_exists(dir[2]), "a refused --device cuda left %s behind", dir[2]);

    // auto: the note, then the CPU's numbers (into dir[2], which the refusal left free)
    rc = pwm_train_run(pwm, wm, dir[2], autod, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "pwm: note: --device auto: using the CPU (") && strstr(out, "device cpu"),
          "--device auto without a GPU: exit %d\n%s", rc, out);
    test_read_log(dir[2], log[2], sizeof log[2]);
    CHECK(!strcmp(log[0], log[2]), "--device auto logged other numbers:\n%s\nvs\n%s", log[0], log[2]);

    // a run recorded as a CUDA run (its config.txt edited so), stopped after epoch 1
    rc = pwm_train_run(pwm, wm, dir[3], stop, out, sizeof out);
    CHECK(rc == 0, "pwm train --stop-after 1: exit %d\n%s", rc, out);
    snprintf(cfg, sizeof cfg, "%s/config.txt", dir[3]);
    test_read_file(cfg, txt[0], sizeof txt[0]);
    char *line = strstr(txt[0], "\ndevice = cpu\n");
    CHECK(line, "%s does not record the device:\n%s", cfg, txt[0]);
    FILE *f = nn_fopen(cfg, "w");
    fprintf(f, "%.*s\ndevice = cuda\n%s", (int)(line - txt[0]), txt[0], line + strlen("\ndevice = cpu\n"));
    fclose(f);
    test_read_file(cfg, txt[0], sizeof txt[0]);
    const char *argv[] = {pwm, "train", "--resume", "--out", dir[3], NULL};
    rc = run_capture(argv, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "pwm train: --device cuda: ") && strstr(out, "use --device cpu or auto"),
          "resuming a CUDA run without a GPU: exit %d\n%s", rc, out);
    test_read_file(cfg, txt[1], sizeof txt[1]);
    CHECK(!strcmp(txt[0], txt[1]), "the refused resume changed %s:\n%s", cfg, txt[1]);
    const char *argv2[] = {pwm, "train", "--resume", "--out", dir[3], "--device", "auto", NULL};
    rc = run_capture(argv2, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "using the CPU"), "resuming with --device auto: exit %d\n%s", rc, out);
    test_read_log(dir[3], log[3], sizeof log[3]);
    CHECK(!strcmp(log[0], log[3]), "the resumed run logged other numbers:\n%s\nvs\n%s", log[0], log[3]);
    test_read_file(cfg, txt[1], sizeof txt[1]);
    CHECK(strstr(txt[1], "\ndevice = cuda\n") && strstr(txt[1], "\n#   with device = auto\n"),
          "%s does not note the resumed run's device:\n%s", cfg, txt[1]);
}

TEST(esnr_device_checked_first) {
    // pwm experiment esnr --device cuda without a GPU: the error, before anything is written
    char pwm[1100], dir[600], out[16384];
    pwm_path(pwm, sizeof pwm);
    snprintf(dir, sizeof dir, "%s/cli_esnr_cuda", test_tmpdir());
    const char *argv[] = {pwm, "experiment", "esnr", "--device", "cuda", "--out", dir, "--collect", "200",
                          "--wm-steps", "2", "--wm-batch", "4", "--samples", "2", "--max-horizon", "1", "--threads", "1",
                          NULL};
    int rc = run_capture(argv, out, sizeof out);
    if (rc == 0) test_skip("a GPU answered --device cuda: the no-GPU behaviour is not checked here");
    CHECK(rc == 1 && strstr(out, "pwm experiment esnr: --device cuda: ") && strstr(out, "use --device cpu or auto"),
          "--device cuda without a GPU: exit %d\n%s", rc, out);
    CHECK(!nn_file_exists(dir), "a refused --device cuda left %s behind", dir);
}

TEST(diagnose_sources_of_a_run) {
    // pwm diagnose --sources RUNDIR on a model run stopped after epoch 2: the run's options from its
    // config.txt (as --resume reads them), a row per source and the cosines printed, the CSV's 21
    // figures; --policy with it, a directory without a run, one noise seed: refused
    char pwm[1100], wm[600], dir[600], csv[700], out[16384];
    static char txt[16384];
    pwm_path(pwm, sizeof pwm);
    snprintf(wm, sizeof wm, "%s/cli_sources_wm.safetensors", test_tmpdir());
    files_save_wm(wm, 16, 0, 4);
    snprintf(dir, sizeof dir, "%s/cli_sources", test_tmpdir());
    snprintf(csv, sizeof csv, "%s/cli_sources.csv", test_tmpdir());
    const char *stop[] = {"--stop-after", "2", NULL};
    int rc = pwm_train_run(pwm, wm, dir, stop, out, sizeof out);
    CHECK(rc == 0, "pwm train: exit %d\n%s", rc, out);
    const char *argv[] = {pwm, "diagnose", "--sources", dir, "--noise-seeds", "2", "--out", csv, "--threads", "1", NULL};
    rc = run_capture(argv, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "at epoch 2, 2 noise streams") && strstr(out, "\ntrue ") && strstr(out, "\nmodel ") &&
          strstr(out, "\nhybrid ") && strstr(out, "cosines"), "pwm diagnose --sources: exit %d\n%s", rc, out);
    test_read_file(csv, txt, sizeof txt);
    int lines = 0;
    for (const char *p = txt; *p; p++) lines += *p == '\n';
    CHECK(lines == 22 && !strncmp(txt, "figure,source,other,value,count\n", 32) && strstr(txt, "\nesnr,hybrid,,") &&
          strstr(txt, "\ncos_seed,true,model,"), "%s:\n%s", csv, txt);
    const char *both[] = {pwm, "diagnose", "--sources", dir, "--policy", csv, NULL};
    rc = run_capture(both, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "not both"), "--sources with --policy: exit %d\n%s", rc, out);
    const char *none[] = {pwm, "diagnose", "--sources", test_tmpdir(), NULL};
    rc = run_capture(none, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "not a pwm train run directory"), "--sources without a run: exit %d\n%s", rc, out);
    const char *one[] = {pwm, "diagnose", "--sources", dir, "--noise-seeds", "1", "--threads", "1", NULL};
    rc = run_capture(one, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "2 or more"), "one noise seed: exit %d\n%s", rc, out);
}

const test_case cli_tests[] = {
    {"every_command_answers_help", every_command_answers_help},
    {"resume_with_malformed_config_refused", resume_with_malformed_config_refused},
    {"layers_check_refuses_an_upward_include", layers_check_refuses_an_upward_include},
    {"pwm_train_device_option", pwm_train_device_option},
    {"esnr_device_checked_first", esnr_device_checked_first},
    {"diagnose_sources_of_a_run", diagnose_sources_of_a_run},
    {0},
};
