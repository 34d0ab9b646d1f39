// Kill and resume: a SHAC run and a PWM run of the program (the pwm binary built beside this test
// binary) are killed with SIGKILL in the middle of an epoch, then continued with --resume. They
// lose at most one checkpoint interval and log the same numbers (wall time aside) and the same
// final evaluation as runs that were never interrupted.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../nn/common.h"
#include "../nn/safetensors.h"
#include "files.h"
#include "test.h"

// the pwm binary next to this one (build/pwm, or build/sanitize/pwm under SANITIZE=1)
static const char *pwm_binary(void) {
    static char path[1100];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 8);
    CHECK(n > 0, "cannot find this test binary");
    path[n] = 0;
    strcpy(strrchr(path, '/') + 1, "pwm");
    if (!nn_file_exists(path)) test_skip("%s not built (make builds it with the tests)", path);
    return path;
}

// start `pwm ARGS... --out dir [--resume]` with stdout and stderr into dir/out.txt
static pid_t start(const char *const *args, const char *dir, int resume) {
    const char *argv[64];
    int n = 0;
    argv[n++] = pwm_binary();
    for (; *args; args++) argv[n++] = *args;
    argv[n++] = "--out", argv[n++] = dir;
    if (resume) argv[n++] = "--resume";
    argv[n] = NULL;
    char out[600];
    snprintf(out, sizeof out, "%s/out%d.txt", dir, resume);
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        if (!freopen(out, "w", stdout) || dup2(fileno(stdout), 2) < 0) _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int finish(pid_t pid) {
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int rows(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int n = 0;
    for (int c; (c = fgetc(f)) != EOF;) n += c == '\n';
    fclose(f);
    return n - 1;  // the header
}

static long ckpt_epoch(const char *dir) {
    char path[600], err[512];
    snprintf(path, sizeof path, "%s/ckpt.safetensors", dir);
    st_file f;
    if (st_read(path, &f, err, sizeof err)) return -1;
    const char *e = st_meta(&f, "epoch");
    long v = e ? strtol(e, NULL, 10) : -1;
    st_free(&f);
    return v;
}

// run `args` straight through in dir_a; in dir_b, SIGKILL it once its log has `kill_at` rows
// (inside the next epoch), resume it and compare
static void kill_and_resume(const char *name, const char *const *args, int kill_at) {
    char a[500], b[500], path[700];
    snprintf(a, sizeof a, "%s/kill_%s_a", test_tmpdir(), name);
    snprintf(b, sizeof b, "%s/kill_%s_b", test_tmpdir(), name);
    CHECK(nn_mkdirs(a) == 0 && nn_mkdirs(b) == 0, "mkdir");
    CHECK(finish(start(args, a, 0)) == 0, "%s: the uninterrupted run failed (see %s/out0.txt)", name, a);
    pid_t pid = start(args, b, 0);
    snprintf(path, sizeof path, "%s/log.csv", b);
    struct timespec pause = {0, 2000000};
    while (rows(path) < kill_at && waitpid(pid, NULL, WNOHANG) == 0) nanosleep(&pause, NULL);
    CHECK(kill(pid, SIGKILL) == 0, "%s: the run ended before it could be killed", name);
    CHECK(finish(pid) == 128 + SIGKILL, "%s: not killed", name);
    int logged = rows(path);
    long saved = ckpt_epoch(b);
    // checkpoints every epoch: at most one interval lost
    CHECK(saved >= logged - 1 && saved >= 1, "%s: killed after %d logged epochs, its checkpoint holds epoch %ld", name,
          logged, saved);
    CHECK(finish(start(args, b, 1)) == 0, "%s: the resumed run failed (see %s/out1.txt)", name, b);
    const char *files[] = {"log.csv", "eval.csv"};
    static char x[65536], y[65536];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", a, files[i]);
        test_read_file(path, x, sizeof x);
        snprintf(path, sizeof path, "%s/%s", b, files[i]);
        test_read_file(path, y, sizeof y);
        if (i == 0) test_strip_wall(x), test_strip_wall(y);
        CHECK(!strcmp(x, y), "%s: killed at epoch %d (checkpoint %ld) and resumed, %s differs:\n%s\nvs\n%s", name,
              logged + 1, saved, files[i], x, y);
    }
}

TEST(shac_killed_mid_epoch_resumes_exactly) {
    const char *args[] = {"shac", "--env", "hopper", "--envs", "8", "--horizon", "16", "--epochs", "24",
                          "--actor-units", "32,32", "--critic-units", "32", "--save-every", "1", "--eval-every", "8",
                          "--eval-episodes", "2", "--threads", "1", NULL};
    kill_and_resume("shac", args, 6);
}

TEST(pwm_killed_mid_epoch_resumes_exactly) {
    // an online run: real environments in lock-step, its own episodes recorded and fine-tuned on
    char wm[500];
    snprintf(wm, sizeof wm, "%s/kill_wm.safetensors", test_tmpdir());
    files_save_wm(wm, 16, 0, 4);
    const char *args[] = {"train", "--env", "hopper", "--wm", wm, "--envs", "8", "--horizon", "8", "--epochs", "24",
                          "--actor-units", "32,32", "--critic-units", "32", "--wm-batch", "8", "--save-every", "1",
                          "--eval-every", "8", "--eval-episodes", "2", "--threads", "1", NULL};
    kill_and_resume("pwm", args, 6);
}

const test_case kill_tests[] = {
    {"shac_killed_mid_epoch_resumes_exactly", shac_killed_mid_epoch_resumes_exactly},
    {"pwm_killed_mid_epoch_resumes_exactly", pwm_killed_mid_epoch_resumes_exactly},
    {0},
};
