// Kill and resume: a SHAC run and a PWM run of the program (the pwm binary built beside this test
// binary) are killed with SIGKILL in the middle of an epoch, then continued with --resume. They
// lose at most one checkpoint interval and log the same numbers (wall time aside) and the same
// final evaluation as runs that were never interrupted.
// Preempt and resume: SHAC, PWM, PPO and world-model training get SIGUSR1 (a batch system's
// warning) mid-run; each checkpoints the epoch (step) it is in, exits with PWM_EXIT_PREEMPTED, and
// the requeued run (--resume) logs the same numbers as the uninterrupted one.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../nn/common.h"
#include "../nn/exitcode.h"
#include "../nn/safetensors.h"
#include "files.h"
#include "test.h"

// start `pwm ARGS... --out dir [--resume]` with stdout and stderr into dir/out.txt
static pid_t start(const char *const *args, const char *dir, int resume) {
    const char *argv[64];
    int n = 0;
    argv[n++] = files_pwm_binary();
    for (; *args; args++) argv[n++] = *args;
    argv[n++] = "--out", argv[n++] = dir;
    if (resume) argv[n++] = "--resume";
    argv[n] = NULL;
    char out[600];
    // a run directory's output goes into it; a file's (wm train --out FILE) or a new directory's beside it
    struct stat st;
    int is_dir = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    snprintf(out, sizeof out, "%s%sout%d.txt", dir, is_dir ? "/" : ".", resume);
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

// the last logged step of a world model's OUT.log.csv (its first column)
static long last_logged(const char *path) {
    FILE *f = fopen(path, "r");
    char line[512];
    long v = -1;
    while (f && fgets(line, sizeof line, f)) {
        char *end;
        long x = strtol(line, &end, 10);
        if (end != line) v = x;
    }
    if (f) fclose(f);
    return v;
}

// both runs' files, equal (log.csv files with their wall-time column cut)
static void same_files(const char *name, const char *a, const char *b, const char *const *files, int cut_wall,
                       const char *how) {
    static char x[65536], y[65536];
    char path[700];
    for (int i = 0; files[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", a, files[i]);
        test_read_file(path, x, sizeof x);
        snprintf(path, sizeof path, "%s/%s", b, files[i]);
        test_read_file(path, y, sizeof y);
        if (cut_wall && i == 0) test_strip_wall(x), test_strip_wall(y);
        CHECK(!strcmp(x, y), "%s: %s and resumed, %s differs:\n%s\nvs\n%s", name, how, files[i], x, y);
    }
}

// run `args` straight through in dir_a; in dir_b, send it `sig` once its log has `at` rows
// (inside the next epoch), resume it and compare. SIGKILL loses at most one checkpoint interval;
// SIGUSR1 (a preemption) checkpoints the epoch it arrives in and exits with PWM_EXIT_PREEMPTED.
static void interrupt_and_resume(const char *name, const char *const *args, int at, int sig) {
    char a[500], b[500], path[700], how[128];
    snprintf(a, sizeof a, "%s/kill_%s_a", test_tmpdir(), name);
    snprintf(b, sizeof b, "%s/kill_%s_b", test_tmpdir(), name);
    CHECK(nn_mkdirs(a) == 0 && nn_mkdirs(b) == 0, "mkdir");
    CHECK(finish(start(args, a, 0)) == 0, "%s: the uninterrupted run failed (see %s/out0.txt)", name, a);
    pid_t pid = start(args, b, 0);
    snprintf(path, sizeof path, "%s/log.csv", b);
    struct timespec pause = {0, 2000000};
    while (rows(path) < at && waitpid(pid, NULL, WNOHANG) == 0) nanosleep(&pause, NULL);
    CHECK(kill(pid, sig) == 0, "%s: the run ended before it could be signalled", name);
    int rc = finish(pid), logged = rows(path);
    long saved = ckpt_epoch(b);
    if (sig == SIGKILL) {
        CHECK(rc == 128 + SIGKILL, "%s: not killed", name);
        // checkpoints every epoch: at most one interval lost
        CHECK(saved >= logged - 1 && saved >= 1, "%s: killed after %d logged epochs, its checkpoint holds epoch %ld",
              name, logged, saved);
    } else {
        CHECK(rc == PWM_EXIT_PREEMPTED, "%s: signal %d gave exit code %d, not %d (see %s/out0.txt)", name, sig, rc,
              PWM_EXIT_PREEMPTED, b);
        // the epoch it was in is finished, logged and checkpointed: nothing lost
        CHECK(saved == logged && saved >= at, "%s: preempted after %d logged epochs, its checkpoint holds epoch %ld",
              name, logged, saved);
    }
    CHECK(finish(start(args, b, 1)) == 0, "%s: the resumed run failed (see %s/out1.txt)", name, b);
    snprintf(how, sizeof how, "signal %d at epoch %d (checkpoint %ld)", sig, logged + (sig == SIGKILL), saved);
    const char *files[] = {"log.csv", "eval.csv", NULL};
    same_files(name, a, b, files, 1, how);
}

// a SHAC run saving every save_every epochs, interrupted by sig at epoch at, then resumed
static void shac_interrupted(const char *name, const char *save_every, int at, int sig) {
    const char *args[] = {"shac", "--env", "hopper", "--envs", "8", "--horizon", "16", "--epochs", "24",
                          "--actor-units", "32,32", "--critic-units", "32", "--save-every", save_every, "--eval-every",
                          "8", "--eval-episodes", "2", "--threads", "1", NULL};
    interrupt_and_resume(name, args, at, sig);
}

// the same for an online PWM run: real environments in lock-step, its own episodes recorded and
// fine-tuned on
static void pwm_interrupted(const char *name, const char *save_every, int at, int sig) {
    char wm[500];
    snprintf(wm, sizeof wm, "%s/%s_wm.safetensors", test_tmpdir(), name);
    files_save_wm(wm, 16, 0, 4);
    const char *args[] = {"train", "--env", "hopper", "--wm", wm, "--envs", "8", "--horizon", "8", "--epochs", "24",
                          "--actor-units", "32,32", "--critic-units", "32", "--wm-batch", "8", "--save-every",
                          save_every, "--eval-every", "8", "--eval-episodes", "2", "--threads", "1", NULL};
    interrupt_and_resume(name, args, at, sig);
}

TEST(shac_killed_mid_epoch_resumes_exactly) { shac_interrupted("shac", "1", 6, SIGKILL); }

TEST(pwm_killed_mid_epoch_resumes_exactly) { pwm_interrupted("pwm", "1", 6, SIGKILL); }

// learners that save every 4 epochs: a preemption still loses nothing
TEST(shac_preempted_resumes_exactly) { shac_interrupted("shac_usr1", "4", 5, SIGUSR1); }

TEST(pwm_preempted_resumes_exactly) { pwm_interrupted("pwm_usr1", "4", 5, SIGUSR1); }

TEST(ppo_preempted_resumes_exactly) {
    const char *args[] = {"ppo", "--env", "hopper", "--envs", "4", "--horizon", "32", "--epochs", "24",
                          "--minibatches", "4", "--units", "32,32", "--save-every", "4", "--eval-every", "8",
                          "--eval-episodes", "2", "--threads", "1", NULL};
    interrupt_and_resume("ppo_usr1", args, 5, SIGUSR1);
}

TEST(wm_train_preempted_resumes_exactly) {
    // random-policy data, then a small model trained straight through and with a SIGTERM mid-run
    char data[500], a[500], b[500], path[700];
    snprintf(data, sizeof data, "%s/preempt_data", test_tmpdir());
    const char *collect[] = {"collect", "--env", "hopper", "--policy", "random", "--steps", "1500", "--seed", "3",
                             "--threads", "1", NULL};
    if (!nn_file_exists(data)) CHECK(finish(start(collect, data, 0)) == 0, "pwm collect failed (see %s/out0.txt)", data);
    const char *args[] = {"wm", "train", "--data", data, "--env", "hopper", "--steps", "400", "--batch", "16",
                          "--horizon", "4", "--log-every", "1", "--seed", "5", "--threads", "1", NULL};
    snprintf(a, sizeof a, "%s/preempt_wm_a", test_tmpdir());
    snprintf(b, sizeof b, "%s/preempt_wm_b", test_tmpdir());
    CHECK(nn_mkdirs(a) == 0 && nn_mkdirs(b) == 0, "mkdir");
    char oa[600], ob[600];
    snprintf(oa, sizeof oa, "%s/wm.safetensors", a), snprintf(ob, sizeof ob, "%s/wm.safetensors", b);
    CHECK(finish(start(args, oa, 0)) == 0, "the uninterrupted wm train failed");
    pid_t pid = start(args, ob, 0);
    snprintf(path, sizeof path, "%s.log.csv", ob);
    struct timespec pause = {0, 2000000};
    while (last_logged(path) < 50 && waitpid(pid, NULL, WNOHANG) == 0) nanosleep(&pause, NULL);
    CHECK(kill(pid, SIGTERM) == 0, "wm train ended before it could be signalled");
    int rc = finish(pid);
    long at = last_logged(path);
    CHECK(rc == PWM_EXIT_PREEMPTED, "wm train: SIGTERM gave exit code %d, not %d", rc, PWM_EXIT_PREEMPTED);
    CHECK(at >= 50 && at < 400, "wm train: preempted at step %ld", at);
    CHECK(finish(start(args, ob, 1)) == 0, "the resumed wm train failed");
    const char *files[] = {"wm.safetensors.log.csv", NULL};
    char how[64];
    snprintf(how, sizeof how, "SIGTERM at step %ld", at);
    same_files("wm_train_sigterm", a, b, files, 0, how);
    // the model itself: the same bytes
    files_buf x = files_load(oa), y = files_load(ob);
    CHECK(x.n == y.n && !memcmp(x.p, y.p, x.n), "wm train: preempted at step %ld and resumed, the model differs", at);
    files_free(x), files_free(y);
}

const test_case kill_tests[] = {
    {"shac_killed_mid_epoch_resumes_exactly", shac_killed_mid_epoch_resumes_exactly},
    {"pwm_killed_mid_epoch_resumes_exactly", pwm_killed_mid_epoch_resumes_exactly},
    {"shac_preempted_resumes_exactly", shac_preempted_resumes_exactly},
    {"pwm_preempted_resumes_exactly", pwm_preempted_resumes_exactly},
    {"ppo_preempted_resumes_exactly", ppo_preempted_resumes_exactly},
    {"wm_train_preempted_resumes_exactly", wm_train_preempted_resumes_exactly},
    {0},
};
