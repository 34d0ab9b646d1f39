// Reference runs: a few epochs of `pwm shac` and of `pwm train` (online and offline, through a small
// world model made here) on the Hopper, compared bit for bit with files recorded by an earlier
// commit and kept in tests/data/reference/: log.csv (the wall-time column dropped), eval.csv, and
// a fingerprint of final.safetensors (an FNV-1a hash of every tensor's bytes and of the run state
// in its metadata). They guard refactorings of the learners: code that moves must not change a
// single number. Each run is checked with --threads 1 and --threads 2 (the learners are bitwise
// the same for any thread count, docs/architecture.md "Threads and determinism").
//
// The numbers hold for one build: the compiler's code generation, OpenBLAS's version and kernel
// and MuJoCo's version change the rounding (build.txt records them; another build, e.g. `make test
// SANITIZE=1` at -O1, skips the comparison and says so). The runs pin OpenBLAS's kernel
// (OPENBLAS_CORETYPE=Haswell, which every machine that runs this AVX2 build can use), so the
// machine's CPU does not matter.
//
// Re-recording: `PWM_RECORD_REFERENCE=1 build/tests reference` (from the repository root) writes
// the files from the current code instead of comparing. Do it only for a change that is meant to
// change the learners' numbers, in a commit of its own that says why; never to make a refactoring
// pass. The files were recorded by a build of commit 8439e54 (issue 16's branch point, before any
// learner code moved) with the pinned kernel, and the refactored code matches them.
#include <cblas.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mujoco/mujoco.h>

#include "../envs/env.h"
#include "../nn/common.h"
#include "../nn/safetensors.h"
#include "../worldmodel/wm.h"
#include "files.h"
#include "test.h"

#define REFERENCE_DIR "tests/data/reference/"
#define PINNED_KERNEL "Haswell"

// `pwm ARGS... --threads T --out dir`, its output into dir.out.txt; fails the test unless it exits 0
static void run(const char *const *args, const char *dir, const char *threads) {
    const char *argv[64];
    int n = 0;
    argv[n++] = files_pwm_binary();
    for (; *args; args++) argv[n++] = *args;
    argv[n++] = "--threads", argv[n++] = threads, argv[n++] = "--out", argv[n++] = dir;
    argv[n] = NULL;
    char out[600];
    snprintf(out, sizeof out, "%s.out.txt", dir);
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        if (!freopen(out, "w", stdout) || dup2(fileno(stdout), 2) < 0) _exit(127);
        // idle OpenMP threads sleep rather than spin: the same numbers, and far faster on a busy machine
        setenv("OMP_WAIT_POLICY", "passive", 1);
        // one OpenBLAS kernel on every machine that runs this x86-64-v3 build: the numbers then do
        // not depend on which CPU OpenBLAS detects (it picks SkylakeX, Haswell or a generic kernel)
        setenv("OPENBLAS_CORETYPE", PINNED_KERNEL, 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s failed (see %s)", args[0], out);
}

static uint64_t fnv1a(const void *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ull;
    return h;
}

// a checkpoint's fingerprint: one line per tensor (name, shape, hash of its bytes), then the hash
// of its run state (the exact counters, random streams and environments; not its wall time) and
// its epoch; the git commit and the paths it names are left out
static void fingerprint(const char *ckpt, char *buf, size_t n) {
    st_file f;
    char err[512];
    CHECK(st_read(ckpt, &f, err, sizeof err) == 0, "%s", err);
    size_t o = 0;
    for (int i = 0; i < f.n && o < n; i++) {
        const st_entry *e = &f.entries[i];
        o += (size_t)snprintf(buf + o, n - o, "%s,", e->name);
        for (int d = 0; d < e->ndim && o < n; d++) o += (size_t)snprintf(buf + o, n - o, "%s%" PRId64, d ? "x" : "", e->shape[d]);
        if (o < n) o += (size_t)snprintf(buf + o, n - o, ",%016" PRIx64 "\n", fnv1a(f.data + e->offset, e->nbytes));
    }
    // the state's second token is the run's wall time (lrn_progress_write): hashed without it
    const char *state = st_meta(&f, "state"), *epoch = st_meta(&f, "epoch");
    uint64_t hs = 0;
    if (state) {
        const char *a = strchr(state, ' '), *b = a ? strchr(a + 1, ' ') : NULL;
        CHECK(b, "%s: a run state without its wall time", ckpt);
        hs = fnv1a(state, (size_t)(a - state)) ^ fnv1a(b, strlen(b));
    }
    if (o < n) snprintf(buf + o, n - o, "state,%016" PRIx64 "\nepoch,%s\n", hs, epoch ? epoch : "none");
    st_free(&f);
}

static void write_text(const char *path, const char *s) {
    FILE *f = fopen(path, "w");
    CHECK(f && fputs(s, f) >= 0 && fclose(f) == 0, "cannot write %s", path);
}

// What the numbers depend on besides the code: the compiler and its code generation (vector
// width, sanitizers, which build at -O1), OpenBLAS's version and (pinned) kernel and MuJoCo's version. The references
// hold for the build they were recorded with (tests/data/reference/build.txt); another build skips.
static void build_id(char *buf, size_t n) {
    const char *flags = ""
#ifdef __AVX2__
                        " avx2"
#endif
#ifdef __FMA__
                        " fma"
#endif
#ifdef __SANITIZE_ADDRESS__
                        " asan"
#endif
        ;
    // OpenBLAS's version: the first two words of its configuration (the rest names the detected
    // core, which the runs override with PINNED_KERNEL)
    const char *cfg = openblas_get_config(), *sp = strchr(cfg, ' ');
    int len = sp && strchr(sp + 1, ' ') ? (int)(strchr(sp + 1, ' ') - cfg) : (int)strlen(cfg);
    snprintf(buf, n, "cc %s%s; %.*s, kernel %s (pinned); MuJoCo %d\n", __VERSION__, flags, len, cfg, PINNED_KERNEL,
             mj_version());
}

static int recording(void) {
    const char *record = getenv("PWM_RECORD_REFERENCE");
    return record && !strcmp(record, "1");
}

static void check_build(void) {
    char id[1024], want[1024], path[] = REFERENCE_DIR "build.txt";
    build_id(id, sizeof id);
    if (recording()) {
        write_text(path, id);
        return;
    }
    if (!nn_file_exists(path)) test_skip("%s not found: run the tests from the repository root", path);
    test_read_file(path, want, sizeof want);
    if (strcmp(id, want))
        test_skip("the references were recorded by another build (%s); to check a refactoring on this one (%.*s), "
                  "record them here at the commit before it", path, (int)strcspn(id, "\n"), id);
}

// the run's files against tests/data/reference/NAME.*, or, with PWM_RECORD_REFERENCE=1, recorded there
static void check_against_reference(const char *name, const char *dir, const char *threads) {
    static char got[3][65536], want[65536];
    char path[700];
    test_read_log(dir, got[0], sizeof got[0]);
    snprintf(path, sizeof path, "%s/eval.csv", dir);
    test_read_file(path, got[1], sizeof got[1]);
    snprintf(path, sizeof path, "%s/final.safetensors", dir);
    fingerprint(path, got[2], sizeof got[2]);
    const char *kind[3] = {"log.csv", "eval.csv", "final.txt"};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, REFERENCE_DIR "%s.%s", name, kind[k]);
        if (recording()) {
            write_text(path, got[k]);
            continue;
        }
        if (!nn_file_exists(path)) test_skip("%s not found: run the tests from the repository root", path);
        test_read_file(path, want, sizeof want);
        CHECK(!strcmp(got[k], want), "%s (--threads %s): %s differs from %s:\n%s\nvs the reference\n%s", name, threads,
              kind[k], path, got[k], want);
    }
}

static void run_and_check(const char *name, const char *const *args) {
    check_build();
    const char *threads[] = {"1", "2"};
    for (int i = 0; i < 2; i++) {
        char dir[500];
        snprintf(dir, sizeof dir, "%s/reference_%s_t%s", test_tmpdir(), name, threads[i]);
        run(args, dir, threads[i]);
        check_against_reference(name, dir, threads[i]);
        if (recording()) break;  // recorded from one thread; the test compares both
    }
}

// SHAC: 8 Hopper environments, 16-step windows, 6 epochs (the hoppers fall, so windows hold
// terminations and resets)
TEST(shac_matches_reference) {
    const char *args[] = {"shac", "--env", "hopper", "--envs", "8", "--horizon", "16", "--epochs", "6",
                          "--actor-units", "32,32", "--critic-units", "32", "--save-every", "3", "--eval-every", "3",
                          "--eval-episodes", "1", "--seed", "3", NULL};
    run_and_check("shac", args);
}

// a small Hopper world model with every weight perturbed (so the reward head is not zero) and a
// random-policy dataset, made once per test run from fixed seeds
static void pwm_fixture(char *wm_path, char *data, size_t n) {
    snprintf(wm_path, n, "%s/reference_wm.safetensors", test_tmpdir());
    snprintf(data, n, "%s/reference_data", test_tmpdir());
    if (nn_file_exists(wm_path)) return;
    char err[512];
    const env_task *t = env_find("hopper");
    nn_rng r;
    nn_rng_init(&r, 11, 0);
    files_random_dataset(data, 7, 60, &r);
    world_model w;
    wm_config c = {.obs_dim = t->obs_dim, .act_dim = t->act_dim, .latent = 16, .enc_dim = 16, .enc_layers = 1,
                   .mlp_dim = 16, .activation = WM_SIMNORM, .termination = 0};
    wm_init(&w, &c, 2);
    snprintf(w.tasks, sizeof w.tasks, "hopper");
    for (size_t i = 0; i < w.p.count; i++) w.p.values[i] += 0.3f * nn_rng_normal(&r);
    nn_rms rms;
    nn_rms_init(&rms, 1, 1e-5f, 5.0f);
    CHECK(wm_save(&w, NULL, &rms, 0, wm_path, err, sizeof err) == 0, "%s", err);
    nn_rms_free(&rms);
    wm_free(&w);
}

// PWM online: 8 lock-step environments, 8-step imagined rollouts, fine-tuning on the replay buffer
TEST(pwm_online_matches_reference) {
    char wm[500], data[500];
    pwm_fixture(wm, data, sizeof wm);
    const char *args[] = {"train", "--env", "hopper", "--wm", wm, "--data", data, "--envs", "8", "--horizon", "8",
                          "--epochs", "6", "--actor-units", "32,32", "--critic-units", "32", "--critics", "2",
                          "--wm-batch", "8", "--save-every", "3", "--eval-every", "3", "--eval-episodes", "1",
                          "--seed", "4", NULL};
    run_and_check("pwm_online", args);
}

// PWM offline: start states from the dataset, the model frozen
TEST(pwm_offline_matches_reference) {
    char wm[500], data[500];
    pwm_fixture(wm, data, sizeof wm);
    const char *args[] = {"train", "--env", "hopper", "--wm", wm, "--data", data, "--offline", "--envs", "8",
                          "--horizon", "8", "--epochs", "6", "--actor-units", "32,32", "--critic-units", "32",
                          "--save-every", "3", "--eval-every", "3", "--eval-episodes", "1", "--seed", "5", NULL};
    run_and_check("pwm_offline", args);
}

const test_case reference_tests[] = {
    {"shac_matches_reference", shac_matches_reference},
    {"pwm_online_matches_reference", pwm_online_matches_reference},
    {"pwm_offline_matches_reference", pwm_offline_matches_reference},
    {0},
};
